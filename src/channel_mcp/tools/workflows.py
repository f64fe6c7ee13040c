"""Toolset `imbrace_workflows`: channel workflows, assignable teams and their observers."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from channel_mcp.deps import Deps
from channel_mcp.imbrace.models import ChannelWorkflow, Team, TeamObserver
from channel_mcp.models import ActionResult, Items
from channel_mcp.tools._args import ChannelId, Config, Confirm, Id
from channel_mcp.tools.declare import DESTRUCTIVE, RO, WRITE_IDEM, ToolInput, ToolSpec

TOOLSET = "imbrace_workflows"
WorkflowId = Field(description="Workflow id.")


class UpdateWorkflowIn(ToolInput):
    workflow_id: Id = WorkflowId
    channel_id: ChannelId
    config: Config


class DeleteWorkflowIn(ToolInput):
    workflow_id: Id = WorkflowId
    confirm: Confirm


class NoArgs(ToolInput):
    pass


class TeamIdIn(ToolInput):
    team_id: Id = Field(description="Team id.")


class Teams(Items[Team]):
    items: list[Team] = Field(description="Teams conversations can be assigned to.")


class Observers(Items[TeamObserver]):
    items: list[TeamObserver] = Field(description="Observers of the team.")


async def _update(d: Deps, a: UpdateWorkflowIn) -> ChannelWorkflow:
    return await d.imbrace.channel.update_channel_workflow(a.workflow_id, channel_id=a.channel_id, config=a.config)


async def _delete(d: Deps, a: DeleteWorkflowIn) -> ActionResult:
    return await d.imbrace.channel.delete_channel_workflow(a.workflow_id)


async def _describe(d: Deps, a: DeleteWorkflowIn) -> str:
    return f"delete channel workflow {a.workflow_id}"


async def _teams(d: Deps, a: NoArgs) -> Teams:
    listing = await d.imbrace.channel.list_assignable_teams()
    return Teams(items=listing.items, unreadable=listing.unreadable)


async def _observers(d: Deps, a: TeamIdIn) -> Observers:
    listing = await d.imbrace.channel.list_team_observers(a.team_id)
    return Observers(items=listing.items, unreadable=listing.unreadable)


TOOLS: list[ToolSpec[Any, Any]] = [
    ToolSpec(
        "imbrace_update_channel_workflow",
        "Update channel workflow",
        "Attach a workflow to a channel or change its config.",
        TOOLSET,
        "imbrace",
        WRITE_IDEM,
        UpdateWorkflowIn,
        ChannelWorkflow,
        _update,
        "imbrace_list_channels",
    ),
    ToolSpec(
        "imbrace_delete_channel_workflow",
        "Delete channel workflow",
        "Delete a channel workflow permanently.",
        TOOLSET,
        "imbrace",
        DESTRUCTIVE,
        DeleteWorkflowIn,
        ActionResult,
        _delete,
        "imbrace_list_channels",
        describe_target=_describe,
    ),
    ToolSpec(
        "imbrace_list_assignable_teams",
        "List teams",
        "List teams conversations can be assigned to.",
        TOOLSET,
        "imbrace",
        RO,
        NoArgs,
        Teams,
        _teams,
        "imbrace_list_assignable_teams",
    ),
    ToolSpec(
        "imbrace_list_team_observers",
        "List team observers",
        "List a team's observers.",
        TOOLSET,
        "imbrace",
        RO,
        TeamIdIn,
        Observers,
        _observers,
        "imbrace_list_assignable_teams",
    ),
]
