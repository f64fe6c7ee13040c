"""google-genai function declarations for every channel-mcp tool, both ways the SDK offers.

- `FunctionDeclaration(parameters_json_schema=...)`, the native JSON Schema path, must accept every
  schema as served, and keep every argument.
- `mcp_to_gemini_tool`, the converter google-genai applies to MCP sessions, must keep every argument and
  the required list. In google-genai 3.6.1 it crashes on `additionalProperties: false` (valid JSON Schema,
  and what strict clients such as the OpenAI Agents SDK need): its filter recurses into the boolean. That
  crash is reported as a known upstream limitation, not hidden: the check still fails on any other error,
  and says so when a google-genai release stops crashing.

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
    converter_crashes = 0
    for tool in tools:
        schema = tool.input_schema
        native = types.FunctionDeclaration(name=tool.name, description=tool.description, parameters_json_schema=schema)
        assert native.name == tool.name
        dumped = types.Tool(function_declarations=[native]).model_dump(mode="json", exclude_none=True)
        declared = dumped["function_declarations"][0]["parameters_json_schema"]
        if set(declared.get("properties", {})) != set(schema.get("properties", {})):
            problems.append(f"{tool.name}: the native declaration lost arguments")
        try:
            [declaration] = mcp_to_gemini_tool(tool).function_declarations or []
        except AttributeError as exc:
            known = "'bool' object has no attribute 'items'" in str(exc)
            if not known or schema.get("additionalProperties") is not False:
                raise
            converter_crashes += 1
            continue
        parameters = declaration.parameters
        assert parameters is not None, tool.name
        kept = set((parameters.properties or {}).keys())
        if kept != set(schema.get("properties", {})):
            problems.append(f"{tool.name}: arguments {sorted(set(schema.get('properties', {})) - kept)} dropped")
        if set(parameters.required or []) != set(schema.get("required", [])):
            problems.append(f"{tool.name}: required {parameters.required} != {schema.get('required')}")
    assert not problems, "\n".join(problems)
    print(f"google-genai: {len(tools)} native function declarations, every argument kept")
    if converter_crashes:
        print(
            f"google-genai: mcp_to_gemini_tool crashed on additionalProperties: false for {converter_crashes} "
            "tools (known google-genai limitation; the native parameters_json_schema path works)"
        )
    else:
        print("google-genai: mcp_to_gemini_tool converted every tool (the known crash is gone: update this note)")


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:]))
