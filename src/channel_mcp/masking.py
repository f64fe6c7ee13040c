"""What must never reach the model: secrets (masked) and invisible format characters (removed).

Applied to every tool result and resource, on the way out.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
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


def strip_invisible(text: str) -> str:
    return _CF.sub("", text)


def clean(data: Any) -> Any:
    """Mask secret-looking fields and hidden Bird values, and strip format characters, recursively."""
    if isinstance(data, str):
        return _CF.sub("", data)
    if isinstance(data, list):
        return [clean(item) for item in data]
    if isinstance(data, dict):
        hidden = "visibility" in data and data.get("visibility") not in (None, "public")
        out: dict[str, Any] = {}
        for key, value in data.items():
            if isinstance(value, str) and value and (_is_secret_key(str(key)) or (hidden and key == "value")):
                out[key] = mask_value(value)
            elif hidden and key == "value" and value is not None:
                out[key] = "****"
            else:
                out[key] = clean(value)
        return out
    return data


def _is_secret_key(key: str) -> bool:
    return bool(_SECRET_KEY.search(key)) and not _NOT_SECRET.search(key)


def redact(text: str, secrets: Iterable[str]) -> str:
    """Remove exact secret values (configured keys, secret inputs) from a text."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "****")
    return text
