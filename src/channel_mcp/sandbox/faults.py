"""Fault injection for the sandbox: rate limits, server errors and latency.

Faults apply only to requests that passed authentication, so a wrong key always gets a
deterministic 401 whatever the fault rates are, and auth tests never flake. The admin
routes under ``/_sandbox/`` are never faulted.

One uniform draw decides each request: ``[0, rate_429)`` gives a 429 with ``Retry-After``,
``[rate_429, rate_429 + rate_5xx)`` gives a 5xx chosen from ``statuses_5xx``, anything else
passes through. With ``seed`` set the sequence of outcomes is reproducible.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Literal

FaultKind = Literal["ok", "429", "5xx"]

__all__ = ["FaultConfig", "FaultKind"]


@dataclass
class FaultConfig:
    rate_429: float = 0.0
    rate_5xx: float = 0.0
    latency_ms: float = 0.0
    retry_after: int = 1
    seed: int | None = None
    statuses_5xx: tuple[int, ...] = (500, 502, 503, 504)
    _rng: random.Random = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.validate()
        # The sandbox is a test double: a seedable PRNG is the point, not a weakness.
        self._rng = random.Random(self.seed)  # noqa: S311

    def validate(self) -> None:
        for name in ("rate_429", "rate_5xx"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1, got {value}")
        if self.rate_429 + self.rate_5xx > 1.0:
            raise ValueError("rate_429 + rate_5xx must not exceed 1")
        if self.latency_ms < 0:
            raise ValueError("latency_ms must not be negative")
        if self.retry_after < 0:
            raise ValueError("retry_after must not be negative")
        if not self.statuses_5xx or any(not 500 <= s <= 599 for s in self.statuses_5xx):
            raise ValueError("statuses_5xx must be a non-empty tuple of 5xx codes")

    @property
    def active(self) -> bool:
        return self.rate_429 > 0 or self.rate_5xx > 0 or self.latency_ms > 0

    def reseed(self, seed: int | None = None) -> None:
        self.seed = seed
        self._rng.seed(seed)

    def roll(self) -> tuple[FaultKind, int]:
        """Decide the fate of one request: ``(kind, status)``; status is 0 for "ok"."""
        if self.rate_429 <= 0 and self.rate_5xx <= 0:
            return "ok", 0
        draw = self._rng.random()
        if draw < self.rate_429:
            return "429", 429
        if draw < self.rate_429 + self.rate_5xx:
            return "5xx", self._rng.choice(self.statuses_5xx)
        return "ok", 0
