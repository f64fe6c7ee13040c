"""Tenants: one set of upstream credentials per organisation, chosen by a claim of the caller's token.

`CHANNEL_MCP_TENANTS_FILE` names a JSON file (in Kubernetes, a Secret mounted read-only):

    {"claim": "org_id",
     "tenants": {"acme": {"IMBRACE_API_KEY": "...", "IMBRACE_GATEWAY_URL": "...",
                          "BIRD_ACCESS_KEY": "...", "BIRD_WORKSPACE_ID": "...", "BIRD_API_URL": "..."}}}

Isolation is structural: each tenant gets its own `Deps` (its own clients, connection pools, circuit
breakers and listing cache), built on its first request and held for the life of the process. Nothing
read for one tenant can be served to another because no object is shared between their `Deps` except
the append-only audit log. A tenant's settings start from the deployment's with every provider
credential cleared, so a tenant never falls back to the deployment's own keys.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from channel_mcp.audit import AuditLog
from channel_mcp.config import Settings
from channel_mcp.deps import Deps
from channel_mcp.errors import ConfigError

__all__ = ["CLIENT_KEY_HEADERS", "TENANT_KEYS", "DepsPool", "TenantTable", "scoped_settings", "tenant_secrets"]

logger = logging.getLogger("channel_mcp.serving.tenants")

# The tenant file's keys: the same names as the deployment's own environment variables.
TENANT_KEYS = ("IMBRACE_API_KEY", "IMBRACE_GATEWAY_URL", "BIRD_ACCESS_KEY", "BIRD_WORKSPACE_ID", "BIRD_API_URL")
# Client-held keys: header -> settings field.
CLIENT_KEY_HEADERS = {
    b"x-imbrace-api-key": "imbrace_api_key",
    b"x-bird-access-key": "bird_access_key",
    b"x-bird-workspace-id": "bird_workspace_id",
}
_CLEARED: dict[str, Any] = {
    "imbrace_api_key": None,
    "imbrace_access_token": None,
    "imbrace_organization_id": None,
    "imbrace_gateway_url": None,
    "bird_access_key": None,
    "bird_workspace_id": None,
    "sandbox": False,
}


def scoped_settings(base: Settings, values: Mapping[str, str], *, inherit: bool = False) -> Settings:
    """`base` with these credentials. Without `inherit`, every credential `values` does not name is cleared."""
    update: dict[str, Any] = {} if inherit else dict(_CLEARED)
    for name, value in values.items():
        key = name.lower()
        if key not in Settings.model_fields:
            continue
        update[key] = SecretStr(value) if key in ("imbrace_api_key", "bird_access_key") else value
    if "bird_api_url" not in update and not inherit:
        update["bird_api_url"] = Settings.model_fields["bird_api_url"].default
    # The audit log is opened once by the pool and shared; a copy must not open its own handle.
    update["audit_log"] = None
    return base.model_copy(update=update)


@dataclass(frozen=True)
class TenantTable:
    claim: str
    tenants: dict[str, dict[str, str]] = field(repr=False)

    @classmethod
    def load(cls, path: Path) -> TenantTable:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ConfigError(f"cannot read CHANNEL_MCP_TENANTS_FILE {path}: {type(exc).__name__}") from None
        claim, tenants = (data.get("claim"), data.get("tenants")) if isinstance(data, dict) else (None, None)
        if not isinstance(claim, str) or not claim or not isinstance(tenants, dict) or not tenants:
            raise ConfigError(f'{path}: expected {{"claim": "<token claim>", "tenants": {{"<value>": {{...}}}}}}')
        table: dict[str, dict[str, str]] = {}
        for name, entry in tenants.items():
            if not isinstance(entry, dict) or not all(isinstance(v, str) for v in entry.values()):
                raise ConfigError(f"{path}: tenant {name!r} must map variable names to strings")
            unknown = sorted(set(entry) - set(TENANT_KEYS))
            if unknown:
                raise ConfigError(f"{path}: tenant {name!r} has unknown keys {unknown}; valid: {list(TENANT_KEYS)}")
            table[str(name)] = dict(entry)
        return cls(claim=claim, tenants=table)

    def tenant_of(self, claims: Mapping[str, Any]) -> str | None:
        value = claims.get(self.claim)
        if isinstance(value, str | int) and not isinstance(value, bool) and str(value) in self.tenants:
            return str(value)
        return None

    def serving_settings(self, base: Settings) -> Settings:
        """Settings that decide which tools and resources are offered: a provider is configured when any
        tenant configures it. Placeholders only: no client is ever built from these."""
        imbrace = any("IMBRACE_API_KEY" in t for t in self.tenants.values())
        bird = any("BIRD_ACCESS_KEY" in t for t in self.tenants.values())
        placeholder = SecretStr("tenant-scoped")
        return base.model_copy(
            update={
                "imbrace_api_key": placeholder if imbrace else None,
                "imbrace_access_token": None,
                "bird_access_key": placeholder if bird else None,
                "sandbox": False,
            }
        )


def tenant_secrets(settings: Settings) -> list[str]:
    """Every tenant's keys and the introspection secret, for the log redactor. Empty when there are none
    or the file cannot be read (serving then fails with the reason)."""
    values = [settings.oauth_client_secret.get_secret_value()] if settings.oauth_client_secret is not None else []
    if settings.tenants_file is not None:
        try:
            table = TenantTable.load(settings.tenants_file)
        except ConfigError:
            return values
        for entry in table.tenants.values():
            values.extend(v for k, v in entry.items() if k in ("IMBRACE_API_KEY", "BIRD_ACCESS_KEY") and v)
    return values


class DepsPool:
    """One `Deps` per tenant, built lazily and held for the process; closed with the app."""

    def __init__(self, settings: Settings, table: TenantTable | None, factory: Callable[[Settings], Deps]) -> None:
        self.settings = settings
        self.table = table
        self.factory = factory
        # Tenant Deps share one audit log handle; without tenants the lifespan's Deps owns it instead.
        self.audit = AuditLog(settings.audit_log) if settings.audit_log and table is not None else None
        self._deps: dict[str, Deps] = {}

    def for_tenant(self, tenant: str) -> Deps:
        deps = self._deps.get(tenant)
        if deps is None:  # no await between the lookup and the store: concurrent first calls build one
            assert self.table is not None
            deps = self._own(self.factory(scoped_settings(self.settings, self.table.tenants[tenant])), self.audit)
            self._deps[tenant] = deps
            logger.info("built clients for tenant %s", json.dumps(tenant))
        return deps

    def for_request(self, home: Deps, keys: Mapping[str, str]) -> Deps:
        """A Deps for one request's client-held keys, on top of the caller's usual Deps (`home`): never
        cached, so no listing read with one client's keys is ever served to another; released after."""
        return self._own(self.factory(scoped_settings(home.settings, keys, inherit=True)), home.audit)

    def empty(self) -> Deps:
        """The lifespan's Deps in tenant mode: no clients at all, so a request that somehow reached a tool
        without a tenant fails closed with "not configured" instead of using anyone's keys."""
        return Deps(settings=self.settings, imbrace_client=None, bird_client=None, audit=self.audit)

    @staticmethod
    def _own(deps: Deps, audit: AuditLog | None) -> Deps:
        if deps.audit is not None and deps.audit is not audit:
            deps.audit.close()
        deps.audit = audit
        return deps

    @staticmethod
    async def release(deps: Deps) -> None:
        deps.audit = None  # the shared audit log outlives a request's Deps
        await deps.aclose()

    async def aclose(self) -> None:
        pending, self._deps = list(self._deps.values()), {}
        for deps in pending:
            await self.release(deps)
        if self.audit is not None:
            self.audit.close()
