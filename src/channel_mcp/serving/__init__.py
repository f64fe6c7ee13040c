"""Inbound: how MCP clients reach the server (stdio, and the Streamable HTTP app with its limits and auth)."""
