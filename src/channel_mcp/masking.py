"""What must never reach the model: secrets (masked) and invisible format characters (removed).

Applied to every tool result and resource, on the way out.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Sequence
from typing import Any

# Paging cursors are not secrets, whatever their names say.
_NOT_SECRET = re.compile(r"(?i)(page|cursor|^next|_count$|_type$|expires)")
_SECRET_KEY = re.compile(
    r"(?i)(token|secret|passw|api[_-]?key|access[_-]?key|private[_-]?key|signing[_-]?key|authorization|^pwd$|^pin$)"
)

# Unicode category Cf (format characters: zero-width, bidi controls, tags...), as explicit ranges so
# no table is built at start-up. tests/test_masking.py checks this against unicodedata for every code point.
_CF = re.compile(
    "[\u00ad\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u180e\u200b-\u200f\u202a-\u202e"
    "\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb\U000110bd\U000110cd\U00013430-\U0001343f"
    "\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0001\U000e0020-\U000e007f]"
)


def mask_value(value: str) -> str:
    """Keep the last 4 characters so a user can tell two secrets apart; hide the rest."""
    if len(value) <= 8:
        return "****"
    return "****" + value[-4:]


def clean(data: Any, secrets: Sequence[str] = ()) -> Any:
    """Mask secret-looking fields and hidden Bird values, strip format characters, and replace exact
    `secrets` (in values and keys, and numbers equal to one), recursively, in one walk.

    Done on values, not on serialised JSON: there a numeric secret would break the syntax and one with
    a quote or backslash would be escaped out of reach."""
    secrets = [s for s in secrets if s and len(s) >= 4]
    return _clean(data, secrets)


def _clean(data: Any, secrets: list[str]) -> Any:
    if isinstance(data, str):
        data = _CF.sub("", data)
        return redact(data, secrets) if secrets else data
    if isinstance(data, list):
        return [_clean(item, secrets) for item in data]
    if isinstance(data, dict):
        hidden = "visibility" in data and data.get("visibility") not in (None, "public")
        out: dict[str, Any] = {}
        for key, value in data.items():
            name = redact(str(key), secrets) if secrets else key
            if isinstance(value, str) and value and (_is_secret_key(str(key)) or (hidden and key == "value")):
                out[name] = mask_value(value)
            elif hidden and key == "value" and value is not None:
                out[name] = "****"
            else:
                out[name] = _clean(value, secrets)
        return out
    if secrets and isinstance(data, int | float) and not isinstance(data, bool) and str(data) in secrets:
        return "****"
    return data


@functools.lru_cache(maxsize=4096)
def _is_secret_key(key: str) -> bool:
    return bool(_SECRET_KEY.search(key)) and not _NOT_SECRET.search(key)


def redact(text: str, secrets: Iterable[str]) -> str:
    """Remove exact secret values (configured keys, secret inputs) from a text."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "****")
    return text
