"""channel-mcp."""
