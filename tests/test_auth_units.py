"""oauth mode without an authorization server: choosing the mode, the tenants file, the deployment files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from channel_mcp.config import Settings
from channel_mcp.errors import ConfigError
from channel_mcp.serving.auth import SCOPES, mode_problem, tool_scope
from channel_mcp.serving.http_app import create_http_app
from channel_mcp.serving.tenants import TenantTable, scoped_settings
from channel_mcp.tools import ALL_TOOLS

OAUTH_K8S = Path(__file__).resolve().parent.parent / "manifests" / "kubernetes" / "oauth"


def test_mode_rules() -> None:
    assert mode_problem(Settings(auth="none"), loopback=True) is None
    assert "loopback" in (mode_problem(Settings(auth="none"), loopback=False) or "")
    assert "CHANNEL_MCP_HTTP_TOKEN" in (mode_problem(Settings(auth="token"), loopback=True) or "")
    problem = mode_problem(Settings(auth="oauth"), loopback=False) or ""
    assert "CHANNEL_MCP_OAUTH_ISSUER" in problem and "CHANNEL_MCP_RESOURCE_URL" in problem
    oauth = Settings(auth="oauth", oauth_issuer="https://id.example.com", resource_url="https://mcp.example.com/mcp")
    assert mode_problem(oauth, loopback=False) is None
    no_secret = oauth.model_copy(update={"oauth_introspection_url": "https://id.example.com/introspect"})
    assert "CLIENT_SECRET" in (mode_problem(no_secret, loopback=False) or "")
    with pytest.raises(ValueError, match="loopback"):
        create_http_app(Settings(auth="none", sandbox=True), host="0.0.0.0")
    with pytest.raises(ValueError, match="issuer_url"):  # the SDK's AuthSettings checks the URLs
        create_http_app(oauth.model_copy(update={"oauth_issuer": "not a url", "sandbox": True}))
    # Unset keeps the original rule: a token is required off loopback.
    with pytest.raises(ValueError, match="CHANNEL_MCP_HTTP_TOKEN"):
        create_http_app(Settings(sandbox=True), host="0.0.0.0")


def test_every_tool_needs_exactly_one_scope() -> None:
    for spec in ALL_TOOLS:
        ann = spec.annotations
        expected = "channels:read" if ann.read_only else "channels:delete" if ann.destructive else "channels:write"
        assert tool_scope(spec.name) == expected
    assert tool_scope("not_a_tool") == "channels:write"  # fail closed
    assert SCOPES == ["channels:read", "channels:write", "channels:delete"]


def test_tenants_file(tmp_path: Path) -> None:
    path = tmp_path / "tenants.json"
    path.write_text(json.dumps({"claim": "org_id", "tenants": {"acme": {"IMBRACE_API_KEY": "k1"}, "7": {}}}))
    table = TenantTable.load(path)
    assert table.tenant_of({"org_id": "acme"}) == "acme"
    assert table.tenant_of({"org_id": 7}) == "7"
    assert table.tenant_of({"org_id": "nobody"}) is None
    assert table.tenant_of({"org_id": True}) is None
    assert table.tenant_of({}) is None
    assert "k1" not in repr(table)
    for bad in ({"claim": "org_id"}, {"claim": "", "tenants": {"a": {}}}, {"claim": "o", "tenants": {"a": {"X": "1"}}}):
        path.write_text(json.dumps(bad))
        with pytest.raises(ConfigError):
            TenantTable.load(path)
    path.write_text("{not json")
    with pytest.raises(ConfigError, match="cannot read"):
        TenantTable.load(path)


def test_a_tenant_never_inherits_the_deployments_keys() -> None:
    base = Settings(imbrace_api_key="deployment-key", bird_access_key="deployment-bird", bird_workspace_id="ws")
    tenant = scoped_settings(base, {"IMBRACE_API_KEY": "tenant-key"})
    assert tenant.imbrace_api_key is not None and tenant.imbrace_api_key.get_secret_value() == "tenant-key"
    assert tenant.bird_access_key is None and tenant.bird_workspace_id is None
    assert not tenant.bird_configured
    # Client-held keys override only what they name.
    held = scoped_settings(tenant, {"bird_access_key": "client-bird"}, inherit=True)
    assert held.imbrace_api_key == tenant.imbrace_api_key
    assert held.bird_access_key is not None and held.bird_access_key.get_secret_value() == "client-bird"


def test_kubernetes_component_mounts_the_tenants_secret_read_only(tmp_path: Path) -> None:
    component = yaml.safe_load((OAUTH_K8S / "kustomization.yaml").read_text())
    assert component["kind"] == "Component"
    patch = yaml.safe_load((OAUTH_K8S / "deployment-patch.yaml").read_text())
    [container] = patch["spec"]["template"]["spec"]["containers"]
    env = {e["name"]: e["value"] for e in container["env"]}
    settings = Settings.model_validate(env)
    assert settings.auth == "oauth" and settings.oauth_issuer and settings.resource_url
    [mount] = container["volumeMounts"]
    assert mount["readOnly"] is True
    assert env["CHANNEL_MCP_TENANTS_FILE"].startswith(mount["mountPath"] + "/")
    [volume] = patch["spec"]["template"]["spec"]["volumes"]
    assert volume["name"] == mount["name"]
    secret = yaml.safe_load((OAUTH_K8S / "tenants-secret.example.yaml").read_text())
    assert volume["secret"]["secretName"] == secret["metadata"]["name"]
    example = tmp_path / "tenants.json"
    example.write_text(secret["stringData"]["tenants.json"])
    table = TenantTable.load(example)
    assert set(table.tenants) == {"acme", "globex"}


def test_serve_starts_with_tenant_keys_only(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """With a tenants file the deployment needs no keys of its own; a broken file is refused, saying why."""
    from channel_mcp.cli import main

    broken = tmp_path / "tenants.json"
    broken.write_text('{"claim": "org_id"}')
    env = {
        "CHANNEL_MCP_AUTH": "oauth",
        "CHANNEL_MCP_OAUTH_ISSUER": "https://id.example.com",
        "CHANNEL_MCP_RESOURCE_URL": "https://mcp.example.com/mcp",
        "CHANNEL_MCP_TENANTS_FILE": str(broken),
    }
    import logging

    root = logging.getLogger()
    level = root.level
    try:
        with pytest.MonkeyPatch.context() as mp:
            for key, value in env.items():
                mp.setenv(key, value)
            with pytest.raises(SystemExit) as exit_info:
                main(["serve", "--transport", "http", "--port", "0"])
    finally:  # serve installed its stderr handler on capsys's stream: leave logging as the suite set it
        for handler in [h for h in root.handlers if getattr(h, "_channel_mcp", False)]:
            root.removeHandler(handler)
        root.setLevel(level)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "tenants.json: expected" in err  # the tenants file's problem, not "no credentials"


def test_log_lines_name_the_caller() -> None:
    import logging

    from channel_mcp.caller import Caller, CallerLogFilter, current_caller

    record = logging.LogRecord("channel_mcp.tools", logging.INFO, __file__, 1, "tool %s failed", ("x",), None)
    token = current_caller.set(Caller(issuer="https://id.example.com", subject="u1", client_id="agent", tenant="acme"))
    try:
        assert CallerLogFilter().filter(record)
        assert CallerLogFilter().filter(record)  # a second handler does not append it twice
    finally:
        current_caller.reset(token)
    assert record.getMessage() == (
        'tool x failed [caller iss="https://id.example.com" sub="u1" client_id="agent" tenant="acme"]'
    )
