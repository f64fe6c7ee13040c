"""google-genai function declarations for every channel-mcp tool, both ways the SDK offers.

- `mcp_to_gemini_tool`, the converter google-genai applies to MCP tools, must keep every argument and
  the required list;
- `FunctionDeclaration(parameters_json_schema=...)`, the native JSON Schema path, must accept the schema.

Run in its own venv (see compat/run.py): python compat/genai_check.py <server command...>
"""

from __future__ import annotations

import asyncio
import sys

from google.genai import types
from google.genai._mcp_utils import mcp_to_gemini_tool
from mcp import Client, StdioServerParameters


async def main(command: list[str]) -> None:
    params = StdioServerParameters(command=command[0], args=command[1:])
    async with Client(params) as client:
        tools = (await client.list_tools()).tools
    assert len(tools) >= 40, f"only {len(tools)} tools"
    problems = []
    for tool in tools:
        schema = tool.input_schema
        [declaration] = mcp_to_gemini_tool(tool).function_declarations or []
        parameters = declaration.parameters
        assert parameters is not None, tool.name
        kept = set((parameters.properties or {}).keys())
        if kept != set(schema.get("properties", {})):
            problems.append(f"{tool.name}: arguments {sorted(set(schema.get('properties', {})) - kept)} dropped")
        if set(parameters.required or []) != set(schema.get("required", [])):
            problems.append(f"{tool.name}: required {parameters.required} != {schema.get('required')}")
        native = types.FunctionDeclaration(name=tool.name, description=tool.description, parameters_json_schema=schema)
        assert native.name == tool.name
    assert not problems, "\n".join(problems)
    print(f"google-genai: {len(tools)} function declarations, every argument and required list kept")


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:]))
