"""What must never reach the model: secrets (masked) and control or invisible characters (removed).

Applied to every tool result, resource, audit line and log record, on the way out. Masking fails
closed, in three nets:

1. **By name.** A key whose name says secret (token, secret, password, api key, access key, private
   or signing key, authorization, cookie, credentials, ...; camelCase and snake_case alike) is masked
   wherever it appears, at any depth. A dict or list under such a key is masked leaf by leaf. The only
   names let through are exact or suffix rules that cannot hold a secret (`token_type`, `expires_in`,
   `*_count`, `*_id`, ...), and paging cursors (`PAGING_KEYS`), which are let through only where a
   cursor can be: at the top of a list answer, in its `next` arguments or its `read_more` call.
   Inside a channel `config`, `credentials`, Bird `settings` or `connectionParams` no name is exempt.
2. **By declaration.** Model fields that hold secrets serialise masked (`SecretValue`,
   `SecretValues`); Bird settings whose `visibility` is not `public` are masked here too.
3. **By value shape.** Strings shaped like well-known credentials are masked whatever their key:
   Meta/Facebook tokens (`EAA...`), JWTs, `Bearer`/`AccessKey`/`Basic` header values, Stripe-style
   `sk_`/`pk_`/`rk_` keys, `sk-` keys, Slack `xox?-` tokens, GitHub tokens and `whsec_` secrets.
   The list is short on purpose: ordinary ids, names, emails and phones are never touched.

A masked value keeps its last 4 characters (8 or fewer characters: none), so a user can tell two
secrets apart.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Sequence
from typing import Annotated, Any

from pydantic import PlainSerializer

MASK = "****"

# Paging cursors are opaque but not secret; exact names only, and only at paging positions.
PAGING_KEYS = frozenset(
    {
        "pagetoken",
        "page_token",
        "nextpagetoken",
        "next_page_token",
        "prevpagetoken",
        "prev_page_token",
        "previous_page_token",
        "cursor",
        "next_cursor",
        "prev_cursor",
        "previous_cursor",
        "continuation_token",
    }
)
# Containers whose contents are credentials: no name inside them is exempt.
STRICT_CONTAINERS = frozenset({"config", "credentials", "settings", "connection_params"})

_SECRET_NAME = re.compile(
    r"token|secret|passw|passphrase|^pwd$|_pwd$|api_?key|access_?key|private_?key|signing_?key"
    r"|authori[sz]ation|^auth$|_auth$|bearer|cookie|credentials?$|^pin$|_pin$|otp$|^jwt|_jwt"
)
# Names that hold no secret even though they contain a secret word: counters, types, expiries, ids.
_NOT_SECRET_EXACT = frozenset({"token_type", "expires_in", "expires_at", "secret_set", "has_token"})
_NOT_SECRET_SUFFIX = (
    "_count",
    "_type",
    "_types",
    "_expires_in",
    "_expires_at",
    "_expiry",
    "_id",
    "_ids",
    "_at",
    "_length",
)

# Value shapes of well-known credentials (searched inside any string).
_SHAPES = re.compile(
    r"(?<![A-Za-z0-9])EAA[A-Za-z0-9]{20,}"  # Meta / Facebook access tokens
    r"|(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{4,}\.eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*"  # JWT
    r"|(?<![A-Za-z0-9])(?:sk|pk|rk)_(?:live|test)_[A-Za-z0-9]{10,}"  # Stripe-style keys
    r"|(?<![A-Za-z0-9])sk-(?:proj-|ant-)?[A-Za-z0-9_-]{20,}"  # sk- API keys
    r"|(?<![A-Za-z0-9])xox[abposr]-[A-Za-z0-9-]{10,}"  # Slack tokens
    r"|(?<![A-Za-z0-9])(?:ghp|gho|ghs|ghu|ghr)_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{30,}"  # GitHub
    r"|(?<![A-Za-z0-9])whsec_[A-Za-z0-9_]{8,}"  # webhook signing secrets
)
_AUTH_VALUE = re.compile(r"(?i)\b(bearer|accesskey|basic)(\s+)([A-Za-z0-9._~+/=-]{8,})")

# What is removed from text: ANSI escape sequences (CSI, OSC, other ESC sequences, 8-bit CSI), C0 and
# C1 control characters except tab and newline, and Unicode category Cf (format characters: zero-width,
# bidi controls, tags...) as explicit ranges so no table is built at start-up. tests/test_safety.py
# checks the Cf ranges against unicodedata for every code point.
_ANSI = r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[ -/]*[0-~]?|\x9b[0-?]*[ -/]*[@-~]"
_CONTROL = r"[\x00-\x08\x0b-\x1f\x7f-\x9f]"
_CF_CLASS = (
    "[\u00ad\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u180e\u200b-\u200f\u202a-\u202e"
    "\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb\U000110bd\U000110cd\U00013430-\U0001343f"
    "\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0001\U000e0020-\U000e007f]"
)
_CF = re.compile(_CF_CLASS)
_UNSAFE_TEXT = re.compile(f"{_ANSI}|{_CONTROL}|{_CF_CLASS}")
_MAX_DEPTH = 256


def mask_value(value: str) -> str:
    """Keep the last 4 characters so a user can tell two secrets apart; hide the rest. Idempotent: a value
    already masked (a declared secret, masked when serialised) keeps its last 4."""
    if value.startswith(MASK) and len(value) <= len(MASK) + 4:
        return value
    if len(value) <= 8:
        return MASK
    return MASK + value[-4:]


def mask_any(value: Any, _depth: int = 0) -> Any:
    """A secret of any type, masked: strings to their last 4, numbers entirely, containers leaf by leaf."""
    if isinstance(value, str):
        return mask_value(value) if value else value
    if isinstance(value, bool) or value is None:
        return value
    if _depth < 32 and isinstance(value, dict):
        return {str(k): mask_any(v, _depth + 1) for k, v in value.items()}
    if _depth < 32 and isinstance(value, list | tuple):
        return [mask_any(v, _depth + 1) for v in value]
    return MASK


# Model fields declared secret: masked whenever the model is serialised (results, resources, audit).
SecretValue = Annotated[Any, PlainSerializer(mask_any, when_used="always")]


def clean_text(text: str) -> str:
    """Text for the model: no ANSI escape sequences, no control characters but tab and newline, no Cf."""
    if text.isascii() and text.isprintable():
        return text  # the common case: printable ASCII holds no control, escape or Cf character
    return _UNSAFE_TEXT.sub("", text)


def mask_shapes(text: str) -> str:
    """Mask substrings shaped like well-known credentials, and the value after Bearer/AccessKey/Basic."""
    if _may_hold_shape(text):
        text = _SHAPES.sub(lambda m: mask_value(m.group(0)), text)
    if " " in text or not text.isprintable():  # any whitespace the pattern's \s matches
        low = text.lower()
        if "bearer" in low or "accesskey" in low or "basic" in low:
            text = _AUTH_VALUE.sub(lambda m: f"{m.group(1)}{m.group(2)}{mask_value(m.group(3))}", text)
    return text


def _may_hold_shape(text: str) -> bool:
    """A cheap test for the literal each shape in `_SHAPES` starts with; most values fail it, and the regex
    (with its look-behinds) costs several times more than these substring checks."""
    if "EAA" in text or "eyJ" in text or "k_" in text or "k-" in text or "xox" in text:
        return True
    return "_" in text and ("gh" in text or "whsec" in text)


@functools.lru_cache(maxsize=4096)
def normalise_key(key: str) -> str:
    """`pageAccessToken`, `page-access-token` and `PAGE_ACCESS_TOKEN` all become `page_access_token`."""
    snake = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", key)
    return re.sub(r"[\s.-]+", "_", snake).lower()


@functools.lru_cache(maxsize=4096)
def is_secret_key(key: str, *, strict: bool = False) -> bool:
    """Whether a key's name says it holds a secret. `strict`: inside a credential container, where the
    counter/type/id exemptions do not apply either."""
    name = normalise_key(key)
    if not _SECRET_NAME.search(name):
        return False
    if strict:
        return True
    return name not in _NOT_SECRET_EXACT and not name.endswith(_NOT_SECRET_SUFFIX)


def clean(data: Any, secrets: Sequence[str] = ()) -> Any:
    """Mask secrets (by name, Bird visibility and value shape), strip control and format characters,
    and replace exact `secrets` (in values and keys, and numbers equal to one), recursively, in one walk.

    The top level of `data` is a paging position: paging cursors are kept there, in its `next` and in
    its `read_more.arguments`. Done on values, not on serialised JSON: there a numeric secret would break
    the syntax and one with a quote or backslash would be escaped out of reach."""
    wanted = [s for s in secrets if s and len(s) >= 4]
    return _Cleaner(wanted).root(data)


def _is_list_answer(data: dict[Any, Any]) -> bool:
    """Only a list answer's top level holds paging cursors."""
    return any(isinstance(data.get(k), list) for k in ("items", "results", "data")) or "next" in data


class _Cleaner:
    __slots__ = ("secrets",)

    def __init__(self, secrets: list[str]) -> None:
        self.secrets = secrets

    def root(self, data: Any) -> Any:
        if not isinstance(data, dict) or not _is_list_answer(data):
            return self.walk(data, strict=False, depth=0)
        out: dict[str, Any] = {}
        for key, value in data.items():
            name = self.key(key)
            norm = normalise_key(str(key))
            if norm in PAGING_KEYS and isinstance(value, str):
                out[name] = self.text(value)
            elif norm == "next" and isinstance(value, dict):
                out[name] = self.paging(value)
            elif norm == "read_more" and isinstance(value, dict):
                out[name] = {
                    self.key(k): self.paging(v) if k == "arguments" and isinstance(v, dict) else self.walk(v)
                    for k, v in value.items()
                }
            else:
                out[name] = self.member(key, value, strict=False, depth=1)
        return out

    def paging(self, data: dict[Any, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in data.items():
            if normalise_key(str(key)) in PAGING_KEYS and isinstance(value, str):
                out[self.key(key)] = self.text(value)
            else:
                out[self.key(key)] = self.member(key, value, strict=False, depth=2)
        return out

    def member(self, key: Any, value: Any, *, strict: bool, depth: int) -> Any:
        _, secret, strict_secret, container = _key_facts(str(key))
        if strict_secret if strict else secret:
            return mask_any(value)
        return self.walk(value, strict=strict or container, depth=depth)

    def walk(self, data: Any, *, strict: bool = False, depth: int = 1) -> Any:
        if isinstance(data, str):
            return self.text(data)
        if depth > _MAX_DEPTH and isinstance(data, dict | list):
            return "… (cut: nested deeper than 256 levels)"
        if isinstance(data, list):
            return [self.walk(item, strict=strict, depth=depth + 1) for item in data]
        if isinstance(data, dict):
            hidden = "visibility" in data and data.get("visibility") not in (None, "public")
            out: dict[str, Any] = {}
            secrets = self.secrets
            for key, value in data.items():
                # `member` and `key`, inlined: this loop runs for every field of every answer.
                name, secret, strict_secret, container = _key_facts(str(key))
                if secrets:
                    name = redact(name, secrets)
                if hidden and key == "value":
                    out[name] = mask_any(value) if value is not None else None
                elif strict_secret if strict else secret:
                    out[name] = mask_any(value)
                elif isinstance(value, str):
                    out[name] = self.text(value)
                else:
                    out[name] = self.walk(value, strict=strict or container, depth=depth + 1)
            return out
        if self.secrets and isinstance(data, int | float) and not isinstance(data, bool) and str(data) in self.secrets:
            return MASK
        return data

    def text(self, value: str) -> str:
        if not (value.isascii() and value.isprintable() and " " not in value and not _may_hold_shape(value)):
            # The common value (printable ASCII, one word, no credential prefix) is a no-op for both.
            value = mask_shapes(clean_text(value))
        return redact(value, self.secrets) if self.secrets else value

    def key(self, key: Any) -> str:
        # Keys repeat in every item of a list: their cleaning is cached, only the redaction is not.
        name = _clean_key(str(key))
        return redact(name, self.secrets) if self.secrets else name


@functools.lru_cache(maxsize=4096)
def _clean_key(key: str) -> str:
    return mask_shapes(clean_text(key))


@functools.lru_cache(maxsize=4096)
def _key_facts(key: str) -> tuple[str, bool, bool, bool]:
    """What the walk needs to know of a key, found once per distinct key: its cleaned name, whether it
    names a secret (outside and inside a credential container), and whether it is such a container."""
    return (
        _clean_key(key),
        is_secret_key(key),
        is_secret_key(key, strict=True),
        normalise_key(key) in STRICT_CONTAINERS,
    )


def redact(text: str, secrets: Iterable[str]) -> str:
    """Remove exact secret values (configured keys, secret inputs) from a text."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, MASK)
    return text
