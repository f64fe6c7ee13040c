"""The shared async HTTP layer: auth headers, time budget, retry policy, path encoding, status -> exception.

Nothing here knows about MCP. Both provider clients hold one `Upstream` for their lifetime.

Retry policy (documented in the README, exercised by tests/test_faults.py):
- GET, PUT and DELETE are retried on 429, 502, 503, 504 and on connection errors and timeouts.
- POST is retried only on 429, or when the connection failed before the request was sent.
  A POST that may have reached the server (5xx, timeout or reset after sending) is never re-sent;
  its error has `maybe_applied=True`.
- At most `max_retries` retries, with exponential backoff and full jitter, honouring `Retry-After`
  (seconds or an HTTP date, capped at 30 s), and never past the call's total time budget.
"""

from __future__ import annotations

import json
import logging
import math
import random
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import quote

import anyio

from channel_mcp._version import __version__
from channel_mcp.errors import (
    AuthError,
    BadRequestError,
    CircuitOpenError,
    InputError,
    NotFoundError,
    RateLimitError,
    ResponseError,
    ServerError,
    TransportError,
    UpstreamError,
)

if TYPE_CHECKING:  # httpx and the wire load with the first client (not at stdio start-up): see `Upstream.client`
    import httpx

    from channel_mcp.wire import LeanTransport

logger = logging.getLogger("channel_mcp.upstream")

USER_AGENT = f"channel-mcp/{__version__}"
MAX_RESPONSE_BYTES = 10 * 1024 * 1024
RETRY_AFTER_CAP = 30.0
_IDEMPOTENT = frozenset({"GET", "HEAD", "PUT", "DELETE"})
_RETRYABLE_STATUS = frozenset({429, 502, 503, 504})
_ID_RE = re.compile(r"[A-Za-z0-9_\-.:]{1,128}")


def check_id(name: str, value: object) -> str:
    """Validate one path parameter; raise `InputError` (nothing is sent) when it is not a safe id."""
    if not isinstance(value, str) or not _ID_RE.fullmatch(value) or value in {".", ".."}:
        raise InputError(
            f"{name} is not a valid id: use 1-128 letters, digits or _ - . : (and not '.' or '..'), "
            "as returned by the listing tools."
        )
    return value


# An absolute path that httpx's URL parser leaves as it is (what `path` builds): no "//" authority, no
# query or fragment, percent signs only in escapes.
_PLAIN_PATH = re.compile(r"/(?!/)(?:[A-Za-z0-9_.~!$&'()*+,;=:@/-]|%[0-9A-Fa-f]{2})*")


def path(template: str, **params: str) -> str:
    """Fill a path template with validated, percent-encoded parameters."""
    return template.format(**{k: quote(check_id(k, v), safe="") for k, v in params.items()})


@dataclass(slots=True)
class Exchange:
    """One HTTP attempt, recorded for the audit log and for tests counting attempts."""

    method: str
    path: str
    status: int | None
    request_id: str | None
    duration_ms: float


# The tool layer sets a fresh list per call; the transport appends every attempt to it.
exchanges: ContextVar[list[Exchange] | None] = ContextVar("channel_mcp_exchanges", default=None)
# The tool layer sets a fresh list per call; the transport notes "METHOD path" right before each
# non-GET request goes out. From then on the write may have happened, whatever fails later (even a
# cancel mid-send), so the runner must not advise a plain retry.
sent_writes: ContextVar[list[str] | None] = ContextVar("channel_mcp_sent_writes", default=None)

# Upstream answers are cut to this shape right after decoding, so one odd record (a 300-deep config)
# cannot crash validation, masking, fitting or serialisation later on. Deeper than any input we accept
# (tools/_args.py caps inputs at 32 levels) plus the envelope around it, so an echoed input is never cut.
MAX_ANSWER_DEPTH = 48
MAX_ANSWER_ITEMS = 5_000


@dataclass(slots=True)
class RetryPolicy:
    max_retries: int = 3
    base_delay: float = 0.25
    max_delay: float = 8.0
    retry_after_cap: float = RETRY_AFTER_CAP


@dataclass
class CircuitBreaker:
    """Opens after `threshold` consecutive failed calls; fails fast for `cooldown` seconds, then lets one through."""

    threshold: int = 5
    cooldown: float = 15.0
    clock: Callable[[], float] = time.monotonic
    failures: int = 0
    opened_at: float | None = None

    def check(self, provider: str, label: str) -> None:
        if self.opened_at is None:
            return
        wait = self.opened_at + self.cooldown - self.clock()
        if wait > 0:
            seconds = math.ceil(wait)  # never "0 s" while still open
            raise CircuitOpenError(
                f"{label} failed {self.failures} times in a row; not calling it for {seconds} s. "
                f"Retry after {seconds} s.",
                retry_after=wait,
                provider=provider,
            )
        # Half-open: this call is the one probe. Re-arming the cool-down keeps every other call failing
        # fast while it is out; its success closes the circuit, its failure re-opens it for a full cool-down.
        self.opened_at = self.clock()

    def record(self, ok: bool) -> None:
        if ok:
            self.failures = 0
            self.opened_at = None
            return
        self.failures += 1
        if self.failures >= self.threshold:
            self.opened_at = self.clock()


def parse_retry_after(value: str | None, now: Callable[[], float] = time.time) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP date), or None."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            seconds = parsedate_to_datetime(value).timestamp() - now()
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
    if seconds != seconds:  # NaN
        return None
    return max(0.0, seconds)


def _error_text(body: bytes, content_type: str) -> str:
    """The upstream's own message, trimmed; never the whole page."""
    text = body.decode("utf-8", errors="replace").strip()
    if not text:
        return ""
    if text.startswith("<") or "html" in content_type:
        return "the answer was an HTML error page (typically from a gateway or proxy)"
    try:
        data = json.loads(text)
    except ValueError:
        return text[:300]
    if isinstance(data, dict):
        for key in ("message", "error", "detail", "description", "title"):
            value = data.get(key)
            if isinstance(value, str) and value:
                return value[:300]
            if isinstance(value, dict) and isinstance(value.get("message"), str):
                return str(value["message"])[:300]
    return text[:300]


def status_error(
    status: int, body: bytes, headers: Mapping[str, str], *, provider: str, label: str, auth_hint: str
) -> UpstreamError:
    """The one place that maps an HTTP status to an exception."""
    detail = _error_text(body, headers.get("content-type", ""))
    request_id = headers.get("x-request-id") or headers.get("request-id")
    kw: dict[str, Any] = {"provider": provider, "status": status, "request_id": request_id}
    suffix = f": {detail}" if detail else ""
    if status in (401, 403):
        what = "rejected the credentials" if status == 401 else "denied access"
        return AuthError(f"{label} {what} ({status}). {auth_hint}", **kw)
    if status == 404:
        return NotFoundError(f"{label} has no such object (404){suffix}", **kw)
    if status == 429:
        retry_after = parse_retry_after(headers.get("retry-after"))
        return RateLimitError(f"{label} is rate-limiting requests (429){suffix}", retry_after=retry_after, **kw)
    if status >= 500:
        return ServerError(f"{label} failed with {status}{suffix}", **kw)
    return BadRequestError(f"{label} rejected the request ({status}){suffix}", **kw)


@dataclass
class Upstream:
    """One provider's connection pool, auth and policies. Owned by the server lifespan or by an SDK user."""

    provider: str
    label: str
    base_url: str
    headers: Mapping[str, str]
    timeout: float = 30.0
    auth_hint: str = ""
    envelope: bool = False
    transport: httpx.AsyncBaseTransport | None = None
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    breaker: CircuitBreaker = field(default_factory=CircuitBreaker)
    max_response_bytes: int = MAX_RESPONSE_BYTES
    sleep: Callable[[float], Awaitable[None]] = anyio.sleep
    clock: Callable[[], float] = time.monotonic
    jitter: Callable[[], float] = random.random
    _client: httpx.AsyncClient | None = field(default=None, init=False, repr=False)
    # channel-mcp's own wire, when the client uses it (no transport given, no proxy): see `_build`.
    _wire: LeanTransport | None = field(default=None, init=False, repr=False)
    _base: str = field(default="", init=False, repr=False)

    @property
    def client(self) -> httpx.AsyncClient:
        if self._client is None:
            import httpx

            from channel_mcp.wire import LIMITS, LeanTransport, upstream_transport

            # The lean HTTP/1.1 wire (channel_mcp.wire) unless a transport is given or a proxy is configured.
            transport = self.transport if self.transport is not None else upstream_transport()
            self._client = httpx.AsyncClient(
                base_url=self.base_url,
                headers={"user-agent": USER_AGENT, "accept": "application/json", **self.headers},
                timeout=self.timeout,
                transport=transport,
                limits=LIMITS,
                follow_redirects=False,
            )
            self._wire = transport if self.transport is None and isinstance(transport, LeanTransport) else None
            base = self._client.base_url  # httpx gives its path a trailing slash ("/" when it has none)
            plain = not base.query and not base.fragment
            self._base = str(base.copy_with(raw_path=b"")) + base.raw_path.decode("ascii") if plain else ""
        return self._client

    def _build(
        self,
        method: str,
        url: str,
        query: Mapping[str, Any] | None,
        json_body: Any,
        files: Mapping[str, tuple[str, bytes, str]] | None,
        timeout: httpx.Timeout,
    ) -> httpx.Request:
        """The request `client.build_request` builds, for less: on channel-mcp's own wire, a relative path
        with no cookie jar to merge and no files is joined to the base URL and parsed once (httpx parses
        the path, then the joined URL again). tests/test_upstream_build.py holds the two equal."""
        client = self.client
        import httpx

        if (
            not self._base
            or self._wire is None
            or files is not None
            or client.cookies
            or not _PLAIN_PATH.fullmatch(url)
        ):
            return client.build_request(method, url, params=query, json=json_body, files=files, timeout=timeout)
        return httpx.Request(
            method,
            httpx.URL(self._base + url.lstrip("/")),
            params=query,
            headers=client.headers,
            json=json_body,
            extensions={"timeout": timeout.as_dict()},
        )

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def request(
        self,
        method: Literal["GET", "POST", "PUT", "DELETE"],
        url: str,
        *,
        params: Mapping[str, Any] | None = None,
        json_body: Any = None,
        files: Mapping[str, tuple[str, bytes, str]] | None = None,
        expect: Literal["json", "text"] = "json",
    ) -> Any:
        """Send one logical request (with retries) and return the decoded body (JSON value, text or None)."""
        self.breaker.check(self.provider, self.label)
        idempotent = method in _IDEMPOTENT
        query = {k: v for k, v in (params or {}).items() if v is not None}
        deadline = self.clock() + self.timeout
        attempt = 0
        while True:
            remaining = deadline - self.clock()
            if remaining <= 0:
                error: UpstreamError = TransportError(
                    f"{self.label} did not answer within the {self.timeout:g} s budget. Try again later.",
                    provider=self.provider,
                    maybe_applied=not idempotent and attempt > 0,
                )
                self.breaker.record(False)
                raise error
            # `params=None` when empty: an empty dict still makes httpx re-parse and re-encode the URL.
            request = self._build(method, url, query or None, json_body, files, _timeout(remaining))
            started = self.clock()
            if method != "GET" and (sent := sent_writes.get()) is not None:
                sent.append(f"{method} {url}")
            status: int | None = None
            request_id: str | None = None
            retryable = False
            try:
                status, headers, body = await self._send(request, remaining)
                request_id = headers.get("x-request-id") or headers.get("request-id")
            except _NotSent as exc:
                error = TransportError(
                    f"could not connect to {self.label} ({exc.reason}).", provider=self.provider, maybe_applied=False
                )
                retryable = True
            except _MaybeSent as exc:
                error = TransportError(
                    f"{self.label} {exc.reason}.", provider=self.provider, maybe_applied=not idempotent
                )
                retryable = idempotent
            else:
                if status < 400:
                    self._record(method, url, status, request_id, started)
                    result = self._decode(body, headers, expect, status, request_id, idempotent=idempotent)
                    self.breaker.record(True)
                    return result
                if status == 404 and method == "DELETE" and attempt > 0:
                    # The failed first attempt did delete it: the retry finds it gone, which is what was asked.
                    self._record(method, url, status, request_id, started)
                    self.breaker.record(True)
                    logger.info("DELETE %s: gone on retry, treating as deleted", url)
                    return None
                error = status_error(
                    status, body, headers, provider=self.provider, label=self.label, auth_hint=self.auth_hint
                )
                retryable = status == 429 or (idempotent and status in _RETRYABLE_STATUS)
                if not idempotent and status >= 500:
                    error.maybe_applied = True
            self._record(method, url, status, request_id, started)
            delay = self._delay(attempt, error)
            if not retryable or attempt >= self.policy.max_retries or self.clock() + delay >= deadline:
                # A 4xx is the caller's problem, not a sign the provider is down.
                self.breaker.record(not isinstance(error, TransportError | ServerError))
                raise error
            logger.info(
                "retrying %s %s after %s (attempt %d, in %.2f s)", method, url, type(error).__name__, attempt + 1, delay
            )
            await self.sleep(delay)
            attempt += 1

    def _delay(self, attempt: int, error: UpstreamError) -> float:
        if isinstance(error, RateLimitError) and error.retry_after is not None:
            return float(min(error.retry_after, self.policy.retry_after_cap))
        ceiling = min(self.policy.max_delay, self.policy.base_delay * (2**attempt))
        return float(ceiling * self.jitter())

    def _record(self, method: str, url: str, status: int | None, request_id: str | None, started: float) -> None:
        duration_ms = (self.clock() - started) * 1000
        logger.debug("%s %s%s -> %s in %.0f ms", method, self.label, url, status or "no answer", duration_ms)
        trace = exchanges.get()
        if trace is not None:
            trace.append(Exchange(method, url, status, request_id, duration_ms))

    async def _send(self, request: httpx.Request, remaining: float) -> tuple[int, httpx.Headers, bytes]:
        import httpx

        with anyio.move_on_after(remaining) as scope:
            try:
                if self._wire is not None:
                    # Straight to the wire: what `client.send` adds (auth flow, redirect loop, event hooks)
                    # does nothing for this client, apart from keeping cookies, which is done here.
                    response = await self._wire.handle_async_request(request)
                    response.request = request
                    if "set-cookie" in response.headers:
                        self.client.cookies.extract_cookies(response)
                else:
                    response = await self.client.send(request, stream=True)
            except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
                raise _NotSent(_describe(exc)) from None
            except httpx.TimeoutException:
                raise _MaybeSent("timed out after the request was sent") from None
            except httpx.TransportError as exc:
                raise _MaybeSent(f"dropped the connection ({_describe(exc)})") from None
            try:
                declared = response.headers.get("content-length")
                if declared and declared.isdigit() and int(declared) > self.max_response_bytes:
                    raise _TooLarge
                chunks: list[bytes] = []
                size = 0
                async for chunk in response.aiter_bytes():
                    size += len(chunk)
                    if size > self.max_response_bytes:
                        raise _TooLarge
                    chunks.append(chunk)
            except httpx.TimeoutException:
                raise _MaybeSent("timed out while sending its answer") from None
            except httpx.TransportError as exc:
                raise _MaybeSent(f"dropped the connection mid-answer ({_describe(exc)})") from None
            except _TooLarge:
                hint = (
                    "ask for a smaller page (limit)" if request.method == "GET" else "check the result with a read tool"
                )
                raise ResponseError(
                    f"{self.label} sent an answer over {self.max_response_bytes // (1024 * 1024)} MB; {hint}.",
                    provider=self.provider,
                    status=response.status_code,
                    maybe_applied=request.method not in _IDEMPOTENT,
                ) from None
            finally:
                await response.aclose()
            return response.status_code, response.headers, b"".join(chunks)
        assert scope.cancelled_caught
        raise _MaybeSent(f"did not answer within the {self.timeout:g} s budget")

    def _decode(
        self, body: bytes, headers: httpx.Headers, expect: str, status: int, request_id: str | None, *, idempotent: bool
    ) -> Any:
        content_type = headers.get("content-type", "")
        is_json = "json" in content_type
        if expect == "text" and not is_json:
            return body.decode("utf-8", errors="replace")
        if not body.strip():
            return None
        try:
            try:
                data = json.loads(body)
            except RecursionError:
                # Nested past what the C parser handles (~1000 levels): cut the text first, then parse.
                data = json.loads(_cut_deep_text(body.decode("utf-8", errors="replace"), MAX_ANSWER_DEPTH))
        except ValueError:
            text = body.lstrip()[:1]
            what = "an HTML page" if text == b"<" else "malformed or truncated JSON"
            # After a 2xx to a create, the object most likely exists: only a repeatable request may be retried.
            advice = ": try again in a minute." if idempotent else "."
            raise ResponseError(
                f"{self.label} answered {status} with {what} instead of JSON; this is usually a transient "
                f"gateway problem{advice}",
                provider=self.provider,
                status=status,
                request_id=request_id,
                maybe_applied=not idempotent,
            ) from None
        if self.envelope and isinstance(data, dict) and data.get("success") is False:
            message = _error_text(body, content_type) or "no reason given"
            raise BadRequestError(
                f"{self.label} refused the request: {message}",
                provider=self.provider,
                status=status,
                request_id=request_id,
            )
        return bound_json(data)


def _timeout(seconds: float) -> httpx.Timeout:
    import httpx

    return httpx.Timeout(seconds)


def _marker(what: str) -> str:
    return f"[cut by channel-mcp: {what}]"


def bound_json(data: Any, max_depth: int = MAX_ANSWER_DEPTH, max_items: int = MAX_ANSWER_ITEMS) -> Any:
    """`data` with containers deeper than `max_depth` replaced by a marker string, and lists or objects
    with more than `max_items` entries shortened with a marker. A list inside an object gets its marker
    as a sibling key (`items` -> `items_cut`), so a list of records still holds only records and parses.
    Iterative, so no answer can exhaust the stack; returns `data` itself when nothing needed cutting."""
    if not isinstance(data, dict | list):
        return data
    # Pass 1 is read-only: most answers are small and shallow, and copying them would cost every call.
    stack: list[tuple[Any, int]] = [(data, 0)]
    over = False
    while stack and not over:
        node, depth = stack.pop()
        children = node.values() if isinstance(node, dict) else node
        if depth >= max_depth or len(node) > max_items:
            over = True
            break
        stack.extend((c, depth + 1) for c in children if isinstance(c, dict | list))
    if not over:
        return data
    root: Any = _cut_copy(data, 0, max_depth, max_items)
    work: list[tuple[Any, int]] = [(root, 0)] if isinstance(root, dict | list) else []
    while work:
        node, depth = work.pop()
        keys = list(node) if isinstance(node, dict) else range(len(node))
        for key in keys:
            child = node[key]
            if isinstance(child, dict | list):
                sibling = isinstance(node, dict) and isinstance(child, list) and depth + 1 < max_depth
                if sibling and len(child) > max_items:
                    node[f"{key}_cut"] = _marker(f"{len(child) - max_items} more items in {key}")
                    node[key] = child[:max_items]
                else:
                    node[key] = _cut_copy(child, depth + 1, max_depth, max_items)
                if isinstance(node[key], dict | list):
                    work.append((node[key], depth + 1))
    return root


def _cut_copy(node: dict[str, Any] | list[Any], depth: int, max_depth: int, max_items: int) -> Any:
    """A shallow copy of one container, shortened to `max_items`, or a marker when it is too deep."""
    if depth >= max_depth:
        return _marker(f"{'object' if isinstance(node, dict) else 'list'} nested deeper than {max_depth} levels")
    extra = len(node) - max_items
    if isinstance(node, dict):
        if extra <= 0:
            return dict(node)
        kept = dict(list(node.items())[:max_items])
        kept["…"] = _marker(f"{extra} more keys")
        return kept
    if extra <= 0:
        return list(node)
    return [*node[:max_items], _marker(f"{extra} more items")]


_JSON_TOKEN = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]')


def _cut_deep_text(text: str, max_depth: int) -> str:
    """JSON text with every container opened at `max_depth` replaced by a marker string. Only used when
    the text is too deep for `json.loads` itself; strings are skipped whole, so brackets in them don't count."""
    out: list[str] = []
    depth = 0
    pos = 0  # text[pos:] is not yet copied to out
    cut_from: int | None = None
    for match in _JSON_TOKEN.finditer(text):
        token = match.group()
        if token in ("{", "["):
            if depth == max_depth and cut_from is None:
                out.append(text[pos : match.start()])
                cut_from = match.start()
            depth += 1
        elif token in ("}", "]"):
            depth -= 1
            if depth == max_depth and cut_from is not None:
                out.append(json.dumps(_marker(f"value nested deeper than {max_depth} levels")))
                pos = match.end()
                cut_from = None
    if cut_from is not None:  # unbalanced: leave the rest out, json.loads will say it is malformed
        return "".join(out)
    out.append(text[pos:])
    return "".join(out)


class _NotSent(Exception):
    def __init__(self, reason: str) -> None:
        self.reason = reason


class _MaybeSent(Exception):
    def __init__(self, reason: str) -> None:
        self.reason = reason


class _TooLarge(Exception):
    pass


def _describe(exc: Exception) -> str:
    return type(exc).__name__.replace("Error", " error").replace("Timeout", " timeout").strip().lower()
