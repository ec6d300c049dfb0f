"""When a failed request may be sent again, and how long to wait first (pure decisions).

The rules (see docs/client.md, "Retries and order safety"):

* HTTP 429 and a failure before anything was sent (connection refused, connect or pool
  timeout) change nothing on the server: every request may be repeated, order writes included.
* HTTP 5xx, a timeout or a dropped connection *after* sending are ambiguous: only endpoints
  declared ``safe`` (reads, idempotent writes) are repeated. An order write raises
  :class:`~capitalcom_sdk.errors.OrderOutcomeUnknown` instead; other writes raise the error.
* Any other 4xx is final (a session expiry is handled separately: one re-login, then repeat).

Waits are exponential with full jitter, bounded by an attempt count and a total delay budget.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from enum import Enum

import httpx

__all__ = ["Decision", "RetryPolicy", "decide", "was_sent"]

# httpx errors raised before a single byte of the request was written.
_NOT_SENT: tuple[type[httpx.TransportError], ...] = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.PoolTimeout,
)


def was_sent(exc: httpx.TransportError) -> bool:
    """Whether the request may have reached the server before ``exc`` happened."""
    return not isinstance(exc, _NOT_SENT)


class Decision(Enum):
    """What to do after a failed attempt."""

    RETRY = "retry"  # wait, then send again
    RAISE = "raise"  # give the error to the caller
    UNKNOWN = "unknown"  # an order write may have been applied: OrderOutcomeUnknown


def decide(*, status: int | None, sent: bool, safe: bool, order_write: bool) -> Decision:
    """Classify a failure: ``status`` is the HTTP status, or None for a transport error.

    ``sent`` only matters for transport errors. Whether the retry budget allows another attempt
    is checked by :meth:`RetryPolicy.next_delay`, not here.
    """
    if status is None:
        if not sent:
            return Decision.RETRY
        if order_write:
            return Decision.UNKNOWN
        return Decision.RETRY if safe else Decision.RAISE
    if status == 429:
        return Decision.RETRY
    if status >= 500:
        if order_write:
            return Decision.UNKNOWN
        return Decision.RETRY if safe else Decision.RAISE
    return Decision.RAISE


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long failed requests are repeated.

    Attributes:
        max_retries: repeats after the first attempt (0 turns retries off).
        max_delay: total seconds one call may spend waiting between attempts.
        base_delay: first backoff ceiling for 5xx and network errors (doubles each retry).
        rate_limit_delay: first backoff ceiling after HTTP 429 (the server windows are 1 s).
        max_backoff: ceiling of one wait.
        seed: makes the jitter reproducible (tests); None uses fresh randomness.
    """

    max_retries: int = 3
    max_delay: float = 20.0
    base_delay: float = 0.25
    rate_limit_delay: float = 1.0
    max_backoff: float = 8.0
    seed: int | None = None
    _rng: random.Random = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.max_retries < 0 or self.max_delay < 0:
            raise ValueError("max_retries and max_delay must be >= 0")
        object.__setattr__(self, "_rng", random.Random(self.seed))

    def next_delay(self, retry: int, waited: float, *, rate_limited: bool) -> float | None:
        """Seconds to wait before repeat number ``retry`` (1-based), or None if out of budget.

        ``waited`` is what this call already spent waiting between attempts.
        """
        if retry > self.max_retries:
            return None
        base = self.rate_limit_delay if rate_limited else self.base_delay
        ceiling = min(self.max_backoff, base * 2 ** (retry - 1))
        delay = self._rng.uniform(0.0, ceiling)
        if rate_limited:
            # Full jitter, but never sooner than a tenth of a window: the limit needs time.
            delay = max(delay, 0.1)
        if waited + delay > self.max_delay:
            return None
        return delay
