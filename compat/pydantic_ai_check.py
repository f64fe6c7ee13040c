"""pydantic-ai against channel-mcp over stdio: a FunctionModel workflow, then TestModel over every tool.

Run in its own venv (see compat/run.py): python compat/pydantic_ai_check.py <server command...>
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

from fastmcp.client.transports import StdioTransport
from pydantic_ai import Agent
from pydantic_ai.mcp import MCPToolset
from pydantic_ai.messages import ModelMessage, ModelRequest, ModelResponse, RetryPromptPart, TextPart, ToolCallPart
from pydantic_ai.models.function import AgentInfo, FunctionModel
from pydantic_ai.models.test import TestModel

# A seeded Bird contact whose service window is open on every channel (sandbox/seed.py).
OPEN_WINDOW_CONTACT = "bc000000-0000-4000-8000-000000000001"
# pydantic's words for arguments that break a type or constraint the input schema itself states: arguments
# generated from the schema must never draw them. Rules no cheap schema states (at least one of several
# fields, an email shape, valid base64) come back as plain sentences and are the tool working as documented.
SCHEMA_ERRORS = (
    "unknown argument",
    "Field required",
    "Input should be",
    "String should have",
    "should be greater",
    "should be less",
    "List should have",
    "Input validation error",
)


def _payload(content: Any) -> Any:
    if isinstance(content, str):
        try:
            return json.loads(content)
        except ValueError:
            return content
    return content


def _returns(messages: list[ModelMessage]) -> list[tuple[str, Any]]:
    out = []
    for message in messages:
        if isinstance(message, ModelRequest):
            for part in message.parts:
                if isinstance(part, RetryPromptPart):
                    raise SystemExit(f"workflow: {part.tool_name} failed: {part.content}")
                if getattr(part, "part_kind", "") == "tool-return":
                    out.append((part.tool_name, _payload(part.content)))
    return out


def workflow_model(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
    """List WhatsApp channels → find a contact → check the Bird window, reading each answer."""
    done = _returns(messages)
    step = len(done)
    if step == 0:
        return ModelResponse(parts=[ToolCallPart("imbrace_list_channels", {"type": "whatsapp"})])
    if step == 1:
        text = json.dumps(done[0][1])
        assert "whatsapp" in text.lower(), f"no WhatsApp channel listed: {text[:300]}"
        return ModelResponse(parts=[ToolCallPart("imbrace_search_contacts", {"q": "a", "limit": 5})])
    if step == 2:
        assert '"id"' in json.dumps(done[1][1]), f"no contact found: {str(done[1][1])[:300]}"
        return ModelResponse(parts=[ToolCallPart("bird_list_channels", {"limit": 50})])
    if step == 3:
        listing = done[2][1]
        text = json.dumps(listing)
        items = listing.get("items", []) if isinstance(listing, dict) else []
        whatsapp = [c for c in items if isinstance(c, dict) and c.get("platformId") == "whatsapp"]
        assert whatsapp, f"no Bird WhatsApp channel: {text[:300]}"
        args = {"channel_id": whatsapp[0]["id"], "contact_id": OPEN_WINDOW_CONTACT}
        return ModelResponse(parts=[ToolCallPart("bird_check_service_window", args)])
    window = json.dumps(done[3][1]).lower()
    assert "open" in window, f"window not open: {window[:300]}"
    return ModelResponse(parts=[TextPart("The WhatsApp service window is open: a free-form message can be sent.")])


async def main(command: list[str]) -> None:
    def toolset(behavior: Any = "retry") -> MCPToolset[None]:
        return MCPToolset(StdioTransport(command[0], command[1:]), tool_error_behavior=behavior)

    agent = Agent(FunctionModel(workflow_model), toolsets=[toolset()])
    result = await agent.run("Can I message a contact on WhatsApp now?")
    print(f"pydantic-ai FunctionModel workflow: {result.output}")

    # TestModel calls every tool once with arguments generated from its input schema. A tool may refuse
    # a generated id (not found), but never the arguments' shape, and nothing may break the protocol.
    async with toolset("failed") as ts:
        names = sorted(t.name for t in await ts.client.list_tools())
    model = TestModel(call_tools="all")
    agent = Agent(model, toolsets=[toolset("failed")])
    result = await agent.run("Call every tool.")
    called = sorted({p.tool_name for m in result.all_messages() for p in m.parts if isinstance(p, ToolCallPart)})
    assert called == names, f"TestModel called {len(called)} of {len(names)} tools"
    bad = []
    for message in result.all_messages():
        for part in message.parts:
            text = str(getattr(part, "content", ""))
            if part.part_kind in ("tool-return", "retry-prompt") and any(s in text for s in SCHEMA_ERRORS):
                bad.append(f"{part.tool_name}: {text[:200]}")
    assert not bad, "schema errors:\n" + "\n".join(bad)
    print(f"pydantic-ai TestModel: {len(called)} tools called, no schema or protocol error")


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:]))
