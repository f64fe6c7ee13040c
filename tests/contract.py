"""The one transcription of ../shared/api-contract.md in tests: per tool its toolset, arguments (required,
optional, secret), annotations, and the HTTP request it sends.

tests/test_registry.py checks this against the markdown (when it is beside the repo) and against the
registry; tests/test_tool_requests.py (the tools, through MCP) and tests/test_clients.py (the client
methods) check each request they see against the same entry. Sample arguments, expected bodies and
upstream answers live beside those tests, never a second method/path table.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import quote

Provider = Literal["imbrace", "bird"]
Method = Literal["GET", "POST", "PUT", "DELETE"]


@dataclass(frozen=True)
class Request:
    """One request as the contract writes it.

    `path` has `{argument}` placeholders (`{ws}` is the Bird workspace); `query` the query parameter names;
    `body` the JSON body fields (`?` marks an optional one); `form` the multipart field, for uploads.
    `when` holds the argument values that pick this request over the tool's first (e.g. api_version v3).
    """

    method: Method
    path: str
    query: tuple[str, ...] = ()
    body: tuple[str, ...] = ()
    form: str | None = None
    when: tuple[tuple[str, str], ...] = ()

    @property
    def placeholders(self) -> tuple[str, ...]:
        return tuple(re.findall(r"\{(\w+)\}", self.path))

    @property
    def body_fields(self) -> set[str]:
        return {f.removesuffix("?") for f in self.body}

    @property
    def required_body(self) -> set[str]:
        return {f for f in self.body if not f.endswith("?")}

    def url_path(self, args: Mapping[str, Any], workspace: str | None = None) -> str:
        """The path with `args` filled in (percent-encoded, as the client sends them); `{ws}` is
        `args["workspace_id"]` when given, else `workspace` (the configured default)."""

        def fill(match: re.Match[str]) -> str:
            name = match.group(1)
            value = (args.get("workspace_id") or workspace) if name == "ws" else args[name]
            assert value is not None, f"no value for {{{name}}} in {self.path}"
            return quote(str(value), safe="")

        return re.sub(r"\{(\w+)\}", fill, self.path)


@dataclass(frozen=True)
class Tool:
    name: str
    toolset: str
    annotations: str  # the contract's code: RO, W, W idem or D idem
    required: tuple[str, ...]
    optional: tuple[str, ...]
    secret: tuple[str, ...]
    requests: tuple[Request, ...]

    @property
    def provider(self) -> Provider:
        return "bird" if self.toolset.startswith("bird_") else "imbrace"

    @property
    def args(self) -> set[str]:
        return {*self.required, *self.optional}

    def request(self, args: Mapping[str, Any]) -> Request:
        """The request these arguments send: the first whose `when` they match, else the tool's first."""
        for req in self.requests[1:]:
            if all(args.get(key) == value for key, value in req.when):
                return req
        return self.requests[0]


_METHODS: dict[str, Method] = {"GET": "GET", "POST": "POST", "PUT": "PUT", "DELETE": "DELETE"}


def _req(
    line: str, *, query: str = "", body: str = "", form: str | None = None, when: Mapping[str, str] | None = None
) -> Request:
    verb, path = line.split()
    return Request(_METHODS[verb], path, tuple(query.split()), tuple(body.split()), form, tuple((when or {}).items()))


def _tools(toolset: str, *rows: tuple[str, str, str, Request | tuple[Request, ...]]) -> list[Tool]:
    """Rows of (name, annotation code, arguments as `name` / `name?` / `name!` for a secret, request(s))."""
    tools = []
    for name, code, args, requests in rows:
        words = args.split()
        tools.append(
            Tool(
                name=name,
                toolset=toolset,
                annotations=code,
                required=tuple(w.removesuffix("!") for w in words if not w.rstrip("!").endswith("?")),
                optional=tuple(w.rstrip("!").removesuffix("?") for w in words if w.rstrip("!").endswith("?")),
                secret=tuple(w.rstrip("!").removesuffix("?") for w in words if w.endswith("!")),
                requests=requests if isinstance(requests, tuple) else (requests,),
            )
        )
    return tools


_CH = "/v1/channels"
_CRED = "/v1/channels/credentials/{credential_id}"
_WS = "/workspaces/{ws}/channels"

CONTRACT: dict[str, Tool] = {
    tool.name: tool
    for tool in [
        *_tools(
            "imbrace_channels",
            ("imbrace_list_channels", "RO", "type? limit? offset?", _req(f"GET {_CH}", query="type limit offset")),
            ("imbrace_get_channel", "RO", "channel_id", _req(f"GET {_CH}/{{channel_id}}")),
            ("imbrace_count_channels", "RO", "", _req(f"GET {_CH}/_count")),
            ("imbrace_create_channel", "W", "type name config?", _req(f"POST {_CH}", body="type name config?")),
            (
                "imbrace_update_channel",
                "W idem",
                "channel_id name? active? config?",
                _req(f"PUT {_CH}/{{channel_id}}", body="name? active? config?"),
            ),
            (
                "imbrace_delete_channel",
                "D idem",
                "channel_id api_version?",
                (
                    _req("DELETE /v1/channels/{channel_id}"),
                    _req("DELETE /v3/channels/{channel_id}", when={"api_version": "v3"}),
                ),
            ),
            ("imbrace_create_web_channel", "W", "name", _req(f"POST {_CH}/_web", body="name")),
            (
                "imbrace_create_facebook_channel",
                "W",
                "page_id credential_id name?",
                _req("POST /v3/channels/_facebook", body="page_id credential_id name?"),
            ),
            (
                "imbrace_update_facebook_channel",
                "W idem",
                "channel_id page_id? credential_id? name? config?",
                _req("PUT /v2/channels/_facebook", body="channel_id page_id? credential_id? name? config?"),
            ),
            (
                "imbrace_create_instagram_channel",
                "W",
                "name config?",
                _req(f"POST {_CH}/_instagram", body="name config?"),
            ),
            (
                "imbrace_create_email_channel",
                "W",
                "email name? config?",
                _req(f"POST {_CH}/_email", body="email name? config?"),
            ),
            ("imbrace_create_wechat_channel", "W", "name config?", _req(f"POST {_CH}/_wechat", body="name config?")),
            ("imbrace_create_line_channel", "W", "name config?", _req(f"POST {_CH}/_line", body="name config?")),
            (
                "imbrace_create_whatsapp_channel",
                "W",
                "phone_number_id access_token! name? config?",
                _req(f"POST {_CH}/_whatsapp", body="phone_number_id access_token name? config?"),
            ),
            (
                "imbrace_update_whatsapp_channel",
                "W idem",
                "channel_id phone_number_id? access_token?! name? config?",
                _req("PUT /v2/channels/_whatsapp", body="channel_id phone_number_id? access_token? name? config?"),
            ),
        ),
        *_tools(
            "imbrace_credentials",
            (
                "imbrace_list_facebook_pages",
                "RO",
                "credential_id",
                _req(f"GET {_CH}/_facebook/credential/{{credential_id}}"),
            ),
            ("imbrace_get_credential", "RO", "credential_id", _req(f"GET {_CRED}")),
            (
                "imbrace_update_credential",
                "W idem",
                "credential_id name? credentials?!",
                _req(f"PUT {_CRED}", body="name? credentials?"),
            ),
            ("imbrace_delete_credential", "D idem", "credential_id", _req(f"DELETE {_CRED}")),
        ),
        *_tools(
            "imbrace_workflows",
            (
                "imbrace_update_channel_workflow",
                "W idem",
                "workflow_id channel_id config?",
                _req(f"PUT {_CH}/workflows/{{workflow_id}}", body="channel_id config?"),
            ),
            (
                "imbrace_delete_channel_workflow",
                "D idem",
                "workflow_id",
                _req(f"DELETE {_CH}/workflows/{{workflow_id}}"),
            ),
            ("imbrace_list_assignable_teams", "RO", "", _req("GET /v1/assign/teams/all")),
            ("imbrace_list_team_observers", "RO", "team_id", _req("GET /v1/assign/team/{team_id}/observers")),
        ),
        *_tools(
            "imbrace_contacts",
            ("imbrace_list_contacts", "RO", "limit? skip?", _req("GET /v1/contacts", query="limit skip")),
            ("imbrace_get_contact", "RO", "contact_id", _req("GET /v1/contacts/{contact_id}")),
            (
                "imbrace_update_contact",
                "W idem",
                "contact_id name? email? phone?",
                _req("PUT /v1/contacts/{contact_id}", body="name? email? phone?"),
            ),
            ("imbrace_search_contacts", "RO", "q limit? skip?", _req("GET /v1/contacts/_search", query="q limit skip")),
            ("imbrace_export_contacts_csv", "RO", "sort?", _req("GET /v1/contacts/_export_csv", query="sort")),
            (
                "imbrace_list_contact_conversations",
                "RO",
                "contact_id channel_types?",
                _req("GET /v1/contacts/{contact_id}/conversations", query="channel_types"),
            ),
            (
                "imbrace_list_contact_comments",
                "RO",
                "contact_id limit? skip?",
                _req("GET /v1/contacts/{contact_id}/comments", query="limit skip"),
            ),
            ("imbrace_list_contact_files", "RO", "contact_id", _req("GET /v1/contact/{contact_id}/files")),
            (
                "imbrace_list_conversation_activities",
                "RO",
                "conversation_id",
                _req("GET /v1/conversations_activities/{conversation_id}"),
            ),
            (
                "imbrace_upload_contact_file",
                "W",
                "filename content_base64 content_type?",
                _req("POST /v1/contacts/_fileupload", form="file"),
            ),
        ),
        *_tools(
            "imbrace_notifications",
            ("imbrace_list_notifications", "RO", "limit? skip?", _req("GET /v1/notifications", query="limit skip")),
            (
                "imbrace_mark_notifications_read",
                "W idem",
                "notification_ids?",
                _req("PUT /v1/notifications/read", body="notification_id?"),
            ),
            (
                "imbrace_dismiss_notification",
                "D idem",
                "notification_id",
                _req("DELETE /v1/notifications/dismiss", body="notification_id"),
            ),
            ("imbrace_dismiss_all_notifications", "D idem", "", _req("DELETE /v1/notifications/dismiss/all")),
        ),
        *_tools(
            "bird_channels",
            (
                "bird_list_channels",
                "RO",
                "limit? page_token? workspace_id?",
                _req(f"GET {_WS}", query="limit pageToken"),
            ),
            ("bird_get_channel", "RO", "channel_id workspace_id?", _req(f"GET {_WS}/{{channel_id}}")),
            (
                "bird_check_service_window",
                "RO",
                "channel_id contact_id workspace_id?",
                _req(f"GET {_WS}/{{channel_id}}/contacts/{{contact_id}}"),
            ),
        ),
    ]
}


def names(*, toolset: str | None = None) -> list[str]:
    """The contract's tool names, in its order; those of one toolset when given."""
    return [t.name for t in CONTRACT.values() if toolset is None or t.toolset == toolset]


# toolset -> its tool names, both in the contract's order.
TOOLSETS: dict[str, list[str]] = {ts: names(toolset=ts) for ts in dict.fromkeys(t.toolset for t in CONTRACT.values())}
