"""The sandbox's one simulated account: its key, its Bird workspace, and the environment that points at it."""

from __future__ import annotations

SANDBOX_API_KEY = "sandbox-key"
SANDBOX_WORKSPACE = "sandbox-workspace"


def sandbox_env(url: str, api_key: str = SANDBOX_API_KEY) -> dict[str, str]:
    """Environment that points channel-mcp (both providers) at a sandbox listening on ``url``."""
    url = url.rstrip("/")
    return {
        "IMBRACE_GATEWAY_URL": url,
        "IMBRACE_API_KEY": api_key,
        "BIRD_API_URL": url,
        "BIRD_ACCESS_KEY": api_key,
        "BIRD_WORKSPACE_ID": SANDBOX_WORKSPACE,
    }
