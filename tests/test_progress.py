"""Progress notifications for long work, seen by the SDK client: the CSV export (a tool), the iMBRACE
channel walk behind imbrace://channels and its completions, and the Bird channel walk behind completions.

Resource reads and completions have no `progress_callback` argument on `mcp.Client`, so those requests go
through the session's `send_request`, which puts a progressToken in `_meta` as any client would.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import respx
from mcp_types import (
    CompleteRequest,
    CompleteRequestParams,
    CompleteResult,
    CompletionArgument,
    PromptReference,
    ReadResourceRequest,
    ReadResourceRequestParams,
    ReadResourceResult,
    ResourceTemplateReference,
)

from channel_mcp.config import Settings
from tests.conftest import connect
from tests.test_resources import BIRD_CHANNELS, CHANNELS, bird_channel, channel, paged_by_offset

Seen = list[tuple[float, float | None, str | None]]


def recorder() -> tuple[Seen, Any]:
    seen: Seen = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        seen.append((progress, total, message))

    return seen, on_progress


async def test_csv_export_reports_progress(settings: Settings, upstream: respx.MockRouter) -> None:
    upstream.get(url__regex=r".*/v1/contacts/_export_csv$").respond(
        200, text="id,name\nct_1,An\nct_2,Binh\n", headers={"content-type": "text/csv"}
    )
    seen, on_progress = recorder()
    async with connect(settings) as client:
        result = await client.call_tool("imbrace_export_contacts_csv", {}, progress_callback=on_progress)
    assert not result.is_error
    assert [(p, t) for p, t, _ in seen] == [(0, 2), (1, 2), (2, 2)]
    assert seen[-1][2] == "Export ready: 2 rows"


async def test_channel_walk_reports_each_page_on_a_resource_read(
    settings: Settings, upstream: respx.MockRouter
) -> None:
    upstream.get(CHANNELS).mock(side_effect=paged_by_offset([channel(n) for n in range(1, 251)]))
    seen, on_progress = recorder()
    async with connect(settings) as client:
        request = ReadResourceRequest(params=ReadResourceRequestParams(uri="imbrace://channels"))
        result = await client.session.send_request(request, ReadResourceResult, progress_callback=on_progress)
    assert json.loads(result.contents[0].text)["count"] == 250  # type: ignore[union-attr]
    assert [(p, t) for p, t, _ in seen] == [(100, 250), (200, 250), (250, 250)]
    assert seen[0][2] == "iMBRACE channels: page 1 read, 100 so far"


async def test_channel_walk_reports_progress_on_a_completion(settings: Settings, upstream: respx.MockRouter) -> None:
    upstream.get(CHANNELS).mock(side_effect=paged_by_offset([channel(n) for n in range(1, 151)]))
    seen, on_progress = recorder()
    ref = ResourceTemplateReference(type="ref/resource", uri="imbrace://channels/{channel_id}")
    async with connect(settings) as client:
        request = CompleteRequest(
            params=CompleteRequestParams(ref=ref, argument=CompletionArgument(name="channel_id", value="ch_"))
        )
        result = await client.session.send_request(request, CompleteResult, progress_callback=on_progress)
    assert result.completion.total == 150
    assert [p for p, _, _ in seen] == [100, 150]


async def test_bird_walk_reports_progress_on_a_completion(settings: Settings, upstream: respx.MockRouter) -> None:
    pages = {
        None: {"results": [bird_channel(1, "whatsapp")], "nextPageToken": "tok-2"},
        "tok-2": {"results": [bird_channel(2, "whatsapp")]},
    }

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=pages[request.url.params.get("pageToken")])

    upstream.get(BIRD_CHANNELS).mock(side_effect=answer)
    seen, on_progress = recorder()
    ref = PromptReference(type="ref/prompt", name="whatsapp_send_check")
    async with connect(settings) as client:
        request = CompleteRequest(
            params=CompleteRequestParams(ref=ref, argument=CompletionArgument(name="channel_id", value=""))
        )
        result = await client.session.send_request(request, CompleteResult, progress_callback=on_progress)
    assert result.completion.values == ["bc_001", "bc_002"]
    assert [p for p, _, _ in seen] == [1, 2]
    assert all(message and message.startswith("Bird channels: page") for _, _, message in seen)
