"""langchain-mcp-adapters against channel-mcp over stdio: every tool converts, three reads succeed.

The adapters pin mcp<2, so this runs in its own venv while the server runs from the project's (see
compat/run.py): python compat/langchain_check.py <server command...>
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

from langchain_core.utils.function_calling import convert_to_openai_tool
from langchain_mcp_adapters.client import MultiServerMCPClient
from langchain_mcp_adapters.tools import load_mcp_tools

READS = {
    "imbrace_list_channels": {"type": "whatsapp", "limit": 5},
    "imbrace_list_contacts": {"limit": 3},
    "bird_list_channels": {"limit": 5},
}


async def main(command: list[str]) -> None:
    client = MultiServerMCPClient({"channel-mcp": {"transport": "stdio", "command": command[0], "args": command[1:]}})
    # One session for the whole check: without it every call would start a new server process.
    async with client.session("channel-mcp") as session:
        await _check(await load_mcp_tools(session))


async def _check(tools: list[Any]) -> None:
    assert len(tools) >= 40, f"only {len(tools)} tools"
    for tool in tools:
        # The conversion a LangChain agent does before binding tools to any chat model.
        converted = convert_to_openai_tool(tool)
        assert converted["function"]["name"] == tool.name
        assert converted["function"]["parameters"].get("type") == "object", tool.name
    print(f"langchain-mcp-adapters: {len(tools)} tools converted")

    by_name = {tool.name: tool for tool in tools}
    for name, args in READS.items():
        result = await by_name[name].ainvoke(args)
        text = result if isinstance(result, str) else json.dumps(result, default=str)
        assert "error" not in text.lower()[:200], f"{name}: {text[:300]}"
        assert "items" in text or "id" in text, f"{name}: {text[:300]}"
        print(f"langchain-mcp-adapters: {name} read {len(text)} characters")


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:]))
