"""Toolset `imbrace_workflows`: channel workflows, assignable teams and their observers."""

from __future__ import annotations

from pydantic import Field

from channel_mcp.deps import Deps
from channel_mcp.imbrace.models import ChannelWorkflow, Team, TeamObserver
from channel_mcp.models import ActionResult, Items
from channel_mcp.tools._args import ChannelId, Config, Confirm, Id
from channel_mcp.tools.declare import DESTRUCTIVE, RO, WRITE_IDEM, ToolInput, Toolset

TEAMS = "imbrace_list_assignable_teams"
# A workflow is found through its channel: a 404 on one points at the channel listing.
CHANNELS = "imbrace_list_channels"
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


toolset = Toolset(name="imbrace_workflows", provider="imbrace", lists_with=TEAMS)

toolset.tool(
    name="imbrace_update_channel_workflow",
    title="Update channel workflow",
    description="Attach a workflow to a channel or change its config.",
    annotations=WRITE_IDEM,
    input=UpdateWorkflowIn,
    output=ChannelWorkflow,
    handler=_update,
    lists_with=CHANNELS,
)

toolset.tool(
    name="imbrace_delete_channel_workflow",
    title="Delete channel workflow",
    description="Delete a channel workflow permanently.",
    annotations=DESTRUCTIVE,
    input=DeleteWorkflowIn,
    output=ActionResult,
    handler=_delete,
    describe_target=_describe,
    lists_with=CHANNELS,
)

toolset.tool(
    name=TEAMS,
    title="List teams",
    description="List teams conversations can be assigned to.",
    annotations=RO,
    input=NoArgs,
    output=Teams,
    handler=_teams,
)

toolset.tool(
    name="imbrace_list_team_observers",
    title="List team observers",
    description="List a team's observers.",
    annotations=RO,
    input=TeamIdIn,
    output=Observers,
    handler=_observers,
)
