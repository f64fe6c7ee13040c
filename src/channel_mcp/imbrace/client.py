"""Async iMBRACE channel-service client. Usable on its own as a Python SDK:

    async with ImbraceClient(api_key="...") as client:
        page = await client.channel.list(type="whatsapp")
        hits = await client.contacts.search("nguyen")

Method names follow the official SDK (`client.channel.*`, `client.contacts.*`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import SecretStr

from channel_mcp.config import IMBRACE_GATEWAYS, Settings
from channel_mcp.errors import ConfigError, InputError
from channel_mcp.imbrace.models import (
    Channel,
    ChannelCount,
    ChannelCredential,
    ChannelWorkflow,
    Contact,
    ContactComment,
    ContactFile,
    Conversation,
    ConversationActivity,
    FacebookPage,
    Notification,
    Team,
    TeamObserver,
    UploadedFile,
)
from channel_mcp.models import ActionResult, ApiModel, Items, Page
from channel_mcp.reading import offset_page, read_items, read_one, shape_error, unwrap
from channel_mcp.upstream import Upstream, check_id, path

if TYPE_CHECKING:
    import httpx

M = TypeVar("M", bound=ApiModel)
PROVIDER = "imbrace"
LABEL = "iMBRACE"


def _one(model: type[M], payload: Any) -> M:
    return read_one(model, payload, label=LABEL, provider=PROVIDER, what=f"a {model.__name__}")


def _many(model: type[M], payload: Any) -> Items[M]:
    return read_items(model, payload, label=LABEL, provider=PROVIDER, what=f"a {model.__name__} list")


def _page(model: type[M], payload: Any, *, key: str, start: int | None, limit: int | None) -> Page[M]:
    return offset_page(payload, _many(model, payload), key=key, start=start or 0, limit=limit)


def _body(**fields: Any) -> dict[str, Any]:
    """Request body without omitted fields: optional arguments are left out, never sent as null."""
    out: dict[str, Any] = {}
    for key, value in fields.items():
        if value is None:
            continue
        out[key] = value.get_secret_value() if isinstance(value, SecretStr) else value
    return out


def _action(payload: Any, message: str, object_id: str | None = None) -> ActionResult:
    data = unwrap(payload)
    return ActionResult(ok=True, id=object_id, message=message, details=data if isinstance(data, dict) else None)


def read_count(payload: Any) -> ChannelCount:
    """The channel count however it comes: `{count}`, `{total}`, a bare number, or grouped by type
    (`{"web": 2, ...}`, `[{"type": "web", "count": 2}, ...]`, or such a list under `data`/`results`)."""
    data = unwrap(payload)
    if _is_count(data):
        return ChannelCount(count=int(data))
    if isinstance(data, dict):
        for key in ("count", "total"):
            value = data.get(key)
            if isinstance(value, int) and _is_count(value):
                return ChannelCount(count=value)
        groups = data.get("by_type") or data.get("types") or data.get("groups") or data.get("results")
        if groups is None and data and all(_is_count(v) for v in data.values()):
            groups = data
        data = groups if groups is not None else data
    by_type: dict[str, int] = {}
    if isinstance(data, dict) and data and all(_is_count(v) for v in data.values()):
        by_type = {str(k): int(v) for k, v in data.items()}
    elif isinstance(data, list) and data:
        for row in data:
            kind = row.get("type", row.get("_id", row.get("channel_type"))) if isinstance(row, dict) else None
            number = row.get("count", row.get("total")) if isinstance(row, dict) else None
            if not isinstance(number, int) or not _is_count(number):
                by_type = {}
                break
            by_type[str(kind)] = by_type.get(str(kind), 0) + number
    if by_type:
        return ChannelCount(count=sum(by_type.values()), by_type=by_type)
    raise shape_error(f"{LABEL} answered the channel count with an unexpected shape", payload, provider=PROVIDER)


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


class _Resource:
    def __init__(self, upstream: Upstream) -> None:
        self._upstream = upstream


class ChannelResource(_Resource):
    """`client.channel`: channels of every type, credentials, workflows and teams."""

    async def list(
        self, *, type: str | None = None, limit: int | None = None, offset: int | None = None
    ) -> Page[Channel]:
        payload = await self._upstream.request(
            "GET", "/v1/channels", params={"type": type, "limit": limit, "offset": offset}
        )
        return _page(Channel, payload, key="offset", start=offset, limit=limit)

    async def get(self, channel_id: str) -> Channel:
        return _one(
            Channel, await self._upstream.request("GET", path("/v1/channels/{channel_id}", channel_id=channel_id))
        )

    async def get_count(self) -> ChannelCount:
        return read_count(await self._upstream.request("GET", "/v1/channels/_count"))

    async def create(self, *, type: str, name: str, config: Mapping[str, Any] | None = None) -> Channel:
        body = _body(type=type, name=name, config=config)
        return _one(Channel, await self._upstream.request("POST", "/v1/channels", json_body=body))

    async def update(
        self,
        channel_id: str,
        *,
        name: str | None = None,
        active: bool | None = None,
        config: Mapping[str, Any] | None = None,
    ) -> Channel:
        body = _body(name=name, active=active, config=config)
        if not body:
            raise InputError("update needs at least one of name, active or config.")
        url = path("/v1/channels/{channel_id}", channel_id=channel_id)
        return _one(Channel, await self._upstream.request("PUT", url, json_body=body))

    async def delete(self, channel_id: str) -> ActionResult:
        url = path("/v1/channels/{channel_id}", channel_id=channel_id)
        return _action(await self._upstream.request("DELETE", url), f"Channel {channel_id} deleted.", channel_id)

    async def delete_v3(self, channel_id: str) -> ActionResult:
        url = path("/v3/channels/{channel_id}", channel_id=channel_id)
        return _action(await self._upstream.request("DELETE", url), f"Channel {channel_id} deleted.", channel_id)

    async def _create(self, url: str, body: dict[str, Any]) -> Channel:
        return _one(Channel, await self._upstream.request("POST", url, json_body=body))

    async def create_web(self, name: str) -> Channel:
        return await self._create("/v1/channels/_web", _body(name=name))

    async def create_facebook(self, *, page_id: str, credential_id: str, name: str | None = None) -> Channel:
        body = _body(page_id=page_id, credential_id=check_id("credential_id", credential_id), name=name)
        return await self._create("/v3/channels/_facebook", body)

    async def update_facebook(
        self,
        channel_id: str,
        *,
        page_id: str | None = None,
        credential_id: str | None = None,
        name: str | None = None,
        config: Mapping[str, Any] | None = None,
    ) -> Channel:
        body = _body(
            channel_id=check_id("channel_id", channel_id),
            page_id=page_id,
            credential_id=None if credential_id is None else check_id("credential_id", credential_id),
            name=name,
            config=config,
        )
        return _one(Channel, await self._upstream.request("PUT", "/v2/channels/_facebook", json_body=body))

    async def create_instagram(self, name: str, *, config: Mapping[str, Any] | None = None) -> Channel:
        return await self._create("/v1/channels/_instagram", _body(name=name, config=config))

    async def create_email(
        self, email: str, *, name: str | None = None, config: Mapping[str, Any] | None = None
    ) -> Channel:
        return await self._create("/v1/channels/_email", _body(email=email, name=name, config=config))

    async def create_wechat(self, name: str, *, config: Mapping[str, Any] | None = None) -> Channel:
        return await self._create("/v1/channels/_wechat", _body(name=name, config=config))

    async def create_line(self, name: str, *, config: Mapping[str, Any] | None = None) -> Channel:
        return await self._create("/v1/channels/_line", _body(name=name, config=config))

    async def create_whatsapp(
        self,
        *,
        phone_number_id: str,
        access_token: str | SecretStr,
        name: str | None = None,
        config: Mapping[str, Any] | None = None,
    ) -> Channel:
        body = _body(phone_number_id=phone_number_id, access_token=access_token, name=name, config=config)
        return await self._create("/v1/channels/_whatsapp", body)

    async def update_whatsapp(
        self,
        channel_id: str,
        *,
        phone_number_id: str | None = None,
        access_token: str | SecretStr | None = None,
        name: str | None = None,
        config: Mapping[str, Any] | None = None,
    ) -> Channel:
        body = _body(
            channel_id=check_id("channel_id", channel_id),
            phone_number_id=phone_number_id,
            access_token=access_token,
            name=name,
            config=config,
        )
        return _one(Channel, await self._upstream.request("PUT", "/v2/channels/_whatsapp", json_body=body))

    async def get_facebook_pages(self, credential_id: str) -> Items[FacebookPage]:
        url = path("/v1/channels/_facebook/credential/{credential_id}", credential_id=credential_id)
        return _many(FacebookPage, await self._upstream.request("GET", url))

    async def get_credential(self, credential_id: str) -> ChannelCredential:
        url = path("/v1/channels/credentials/{credential_id}", credential_id=credential_id)
        return _one(ChannelCredential, await self._upstream.request("GET", url))

    async def update_credential(
        self, credential_id: str, *, name: str | None = None, credentials: Mapping[str, Any] | None = None
    ) -> ChannelCredential:
        body = _body(name=name, credentials=credentials)
        if not body:
            raise InputError("update_credential needs name or credentials.")
        url = path("/v1/channels/credentials/{credential_id}", credential_id=credential_id)
        return _one(ChannelCredential, await self._upstream.request("PUT", url, json_body=body))

    async def delete_credential(self, credential_id: str) -> ActionResult:
        url = path("/v1/channels/credentials/{credential_id}", credential_id=credential_id)
        return _action(
            await self._upstream.request("DELETE", url), f"Credential {credential_id} deleted.", credential_id
        )

    async def update_channel_workflow(
        self, workflow_id: str, *, channel_id: str, config: Mapping[str, Any] | None = None
    ) -> ChannelWorkflow:
        url = path("/v1/channels/workflows/{workflow_id}", workflow_id=workflow_id)
        body = _body(channel_id=check_id("channel_id", channel_id), config=config)
        data = unwrap(await self._upstream.request("PUT", url, json_body=body))
        workflow = _one(ChannelWorkflow, data if isinstance(data, dict) else {})
        return workflow.model_copy(
            update={"id": workflow.id or workflow_id, "channel_id": workflow.channel_id or channel_id}
        )

    async def delete_channel_workflow(self, workflow_id: str) -> ActionResult:
        url = path("/v1/channels/workflows/{workflow_id}", workflow_id=workflow_id)
        return _action(await self._upstream.request("DELETE", url), f"Workflow {workflow_id} deleted.", workflow_id)

    async def list_assignable_teams(self) -> Items[Team]:
        return _many(Team, await self._upstream.request("GET", "/v1/assign/teams/all"))

    async def list_team_observers(self, team_id: str) -> Items[TeamObserver]:
        url = path("/v1/assign/team/{team_id}/observers", team_id=team_id)
        return _many(TeamObserver, await self._upstream.request("GET", url))


class ContactsResource(_Resource):
    """`client.contacts`: contacts, their conversations, comments, files and activities, and notifications."""

    async def list(self, *, limit: int | None = None, skip: int | None = None) -> Page[Contact]:
        payload = await self._upstream.request("GET", "/v1/contacts", params={"limit": limit, "skip": skip})
        return _page(Contact, payload, key="skip", start=skip, limit=limit)

    async def get(self, contact_id: str) -> Contact:
        return _one(
            Contact, await self._upstream.request("GET", path("/v1/contacts/{contact_id}", contact_id=contact_id))
        )

    async def update(
        self, contact_id: str, *, name: str | None = None, email: str | None = None, phone: str | None = None
    ) -> Contact:
        body = _body(name=name, email=email, phone=phone)
        if not body:
            raise InputError("update needs at least one of name, email or phone.")
        url = path("/v1/contacts/{contact_id}", contact_id=contact_id)
        return _one(Contact, await self._upstream.request("PUT", url, json_body=body))

    async def search(self, q: str, *, limit: int | None = None, skip: int | None = None) -> Page[Contact]:
        payload = await self._upstream.request(
            "GET", "/v1/contacts/_search", params={"q": q, "limit": limit, "skip": skip}
        )
        return _page(Contact, payload, key="skip", start=skip, limit=limit)

    async def export_csv(self, *, sort: str | None = None) -> str:
        """The CSV text; bytes that are not UTF-8 are replaced, never fatal."""
        data = await self._upstream.request("GET", "/v1/contacts/_export_csv", params={"sort": sort}, expect="text")
        if isinstance(data, str):
            return data
        inner = unwrap(data)
        return inner if isinstance(inner, str) else ""

    async def get_conversations(
        self, contact_id: str, *, channel_types: Sequence[str] | None = None
    ) -> Items[Conversation]:
        url = path("/v1/contacts/{contact_id}/conversations", contact_id=contact_id)
        params = {"channel_types": ",".join(channel_types) if channel_types else None}
        return _many(Conversation, await self._upstream.request("GET", url, params=params))

    async def get_comments(
        self, contact_id: str, *, limit: int | None = None, skip: int | None = None
    ) -> Page[ContactComment]:
        url = path("/v1/contacts/{contact_id}/comments", contact_id=contact_id)
        payload = await self._upstream.request("GET", url, params={"limit": limit, "skip": skip})
        return _page(ContactComment, payload, key="skip", start=skip, limit=limit)

    async def get_files(self, contact_id: str) -> Items[ContactFile]:
        # Singular "contact": the path the official SDK sends.
        url = path("/v1/contact/{contact_id}/files", contact_id=contact_id)
        return _many(ContactFile, await self._upstream.request("GET", url))

    async def get_activities(self, conversation_id: str) -> Items[ConversationActivity]:
        url = path("/v1/conversations_activities/{conversation_id}", conversation_id=conversation_id)
        return _many(ConversationActivity, await self._upstream.request("GET", url))

    async def upload_contacts(self, filename: str, content: bytes, *, content_type: str | None = None) -> UploadedFile:
        files = {"file": (filename, content, content_type or "application/octet-stream")}
        data = unwrap(await self._upstream.request("POST", "/v1/contacts/_fileupload", files=files))
        if isinstance(data, str):
            data = {"url": data}
        return _one(UploadedFile, data)

    upload_avatar = upload_contacts

    async def list_notifications(self, *, limit: int | None = None, skip: int | None = None) -> Page[Notification]:
        payload = await self._upstream.request("GET", "/v1/notifications", params={"limit": limit, "skip": skip})
        return _page(Notification, payload, key="skip", start=skip, limit=limit)

    async def mark_notifications_read(self, notification_ids: Sequence[str] | None = None) -> ActionResult:
        if notification_ids:
            ids = [check_id("notification_id", i) for i in notification_ids]
            payload = await self._upstream.request("PUT", "/v1/notifications/read", json_body={"notification_id": ids})
            return _action(payload, f"Marked {len(ids)} notification(s) as read.")
        # No ids: the API marks every notification read when the body is absent.
        return _action(
            await self._upstream.request("PUT", "/v1/notifications/read"), "Marked all notifications as read."
        )

    async def dismiss_notification(self, notification_id: str) -> ActionResult:
        body = {"notification_id": check_id("notification_id", notification_id)}
        payload = await self._upstream.request("DELETE", "/v1/notifications/dismiss", json_body=body)
        return _action(payload, f"Notification {notification_id} dismissed.", notification_id)

    async def dismiss_all_notifications(self) -> ActionResult:
        return _action(
            await self._upstream.request("DELETE", "/v1/notifications/dismiss/all"), "All notifications dismissed."
        )


class ImbraceClient:
    """The iMBRACE channel-service SDK: `.channel` and `.contacts`. One connection pool for its lifetime."""

    def __init__(
        self,
        *,
        api_key: str | SecretStr | None = None,
        access_token: str | SecretStr | None = None,
        organization_id: str | None = None,
        gateway_url: str | None = None,
        env: str | None = None,
        timeout: float = 30.0,
        transport: httpx.AsyncBaseTransport | None = None,
        upstream: Upstream | None = None,
    ) -> None:
        if upstream is None:
            headers: dict[str, str] = {}
            if api_key is not None:
                headers["x-api-key"] = _reveal(api_key)
            elif access_token is not None:
                headers["x-access-token"] = _reveal(access_token)
            else:
                raise ConfigError("ImbraceClient needs api_key or access_token (IMBRACE_API_KEY).")
            if organization_id:
                headers["x-organization-id"] = organization_id
            if gateway_url is None and env is not None and env not in IMBRACE_GATEWAYS:
                raise ConfigError(f"unknown iMBRACE env {env!r}: use one of {', '.join(IMBRACE_GATEWAYS)}.")
            gateway = gateway_url or IMBRACE_GATEWAYS[env or "stable"]
            upstream = Upstream(
                provider=PROVIDER,
                label=LABEL,
                base_url=gateway.rstrip("/") + "/channel-service",
                headers=headers,
                timeout=timeout,
                auth_hint="Check IMBRACE_API_KEY (or IMBRACE_ACCESS_TOKEN and IMBRACE_ORGANIZATION_ID).",
                envelope=True,
                transport=transport,
            )
        self.upstream = upstream
        self.channel = ChannelResource(upstream)
        self.contacts = ContactsResource(upstream)

    @classmethod
    def from_settings(cls, settings: Settings, *, transport: httpx.AsyncBaseTransport | None = None) -> ImbraceClient:
        return cls(
            api_key=settings.imbrace_api_key,
            access_token=settings.imbrace_access_token,
            organization_id=settings.imbrace_organization_id,
            gateway_url=settings.imbrace_gateway_url,
            env=settings.imbrace_env,
            timeout=settings.timeout,
            transport=transport,
        )

    async def aclose(self) -> None:
        await self.upstream.aclose()

    async def __aenter__(self) -> ImbraceClient:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()


def _reveal(value: str | SecretStr) -> str:
    return value.get_secret_value() if isinstance(value, SecretStr) else value
