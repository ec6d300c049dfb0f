"""The documented rate limits (CONTRACTS section 3) on the time requests are made in.

The state's limiter runs on :class:`LimitClock`: real monotonic time while the simulator's clock
runs (a client's real request rate), the simulator's clock while it is frozen (a backtest in
lock-step, whose requests are spread over simulated time: two requests per simulated minute
bar are never throttled, eleven in one simulated second are).

Two modes. ``"window"`` (the default): exact sliding windows, at most N requests in any span of
the limit's length. ``"bucket"``: a token bucket per limit with capacity N, refilled at N per
span (the general limit: capacity 10, 10 per second, so up to ~20 requests in the first second
of a burst); this is what the official MCP server's own limiter does and what clients built that
way report passing against the real demo server (docs/simulator.md "Rate limits").

A request is admitted only when every limit that applies to it has room; an admitted request is
recorded in (takes a token from) all of them, a rejected one in none (so a client that backs off
recovers). Thread-safe.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from capitalcom_sim.engine.clock import Clock as SimClock

# Limits by name: (max requests, window seconds). The name is what /_sim/stats reports.
GENERAL = "general"  # 10 requests/s per user, every endpoint
SESSION = "session"  # POST /session: 1/s per API key
TRADING = "trading"  # POST /positions + POST /workingorders: 1 per 0.1 s per user
HOURLY = "hourly"  # demo: 1000 order POSTs per rolling hour per user
TOPUP = "topup"  # POST /accounts/topUp: 10/s per account
TOPUP_DAILY = "topup_daily"  # POST /accounts/topUp: 100 per rolling day per account

LIMITS: dict[str, tuple[int, float]] = {
    GENERAL: (10, 1.0),
    SESSION: (1, 1.0),
    TRADING: (1, 0.1),
    HOURLY: (1000, 3600.0),
    TOPUP: (10, 1.0),
    TOPUP_DAILY: (100, 86400.0),
}

_SWEEP_EVERY = 1000
_ORDER_PATHS = frozenset({"/api/v1/positions", "/api/v1/workingorders"})


@dataclass(frozen=True)
class Caller:
    """Who a request counts against: the user (client id), API key and active account."""

    client_id: str | None
    api_key: str | None
    account_id: str | None


def limits_for(method: str, path: str, caller: Caller, demo: bool) -> list[tuple[str, str]]:
    """The ``(limit name, bucket key)`` pairs that apply to one request."""
    applicable: list[tuple[str, str]] = []
    if caller.client_id is not None:
        applicable.append((GENERAL, caller.client_id))
    if method != "POST":
        return applicable
    if path == "/api/v1/session" and caller.api_key is not None:
        applicable.append((SESSION, caller.api_key))
    elif path in _ORDER_PATHS and caller.client_id is not None:
        applicable.append((TRADING, caller.client_id))
        if demo:
            applicable.append((HOURLY, caller.client_id))
    elif path == "/api/v1/accounts/topUp" and caller.account_id is not None:
        applicable.append((TOPUP, caller.account_id))
        applicable.append((TOPUP_DAILY, caller.account_id))
    return applicable


class LimitClock:
    """Seconds for the limits: real monotonic time while the simulator's clock runs; while it
    is frozen, real time plus the simulated time the clock was moved on. So a backtest's bot
    making two requests per simulated minute is never throttled (each wait moves the windows by
    a minute), a burst over a limit between two moves is refused, and a wall-clock client of a
    frozen simulator (a catalog sync, a test) sees its windows slide with real time as before.
    Continuous and never going back across a change of speed or a clock set back (each base goes
    on from where the other stopped)."""

    def __init__(self, clock: SimClock, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._frozen: bool | None = None
        self._origin = 0.0  # the base's reading when it took over
        self._offset = 0.0  # the limit clock's value then
        self._last = 0.0
        self._reading = 0.0

    def __call__(self) -> float:
        clock = self._clock
        frozen = clock.speed <= 0
        reading = self._monotonic() + (clock.now_ms() / 1000.0 if frozen else 0.0)
        with self._lock:
            if frozen is not self._frozen or reading < self._reading:  # new base, or set back
                self._frozen, self._origin, self._offset = frozen, reading, self._last
            self._reading = reading
            self._last = self._offset + reading - self._origin
            return self._last


MODES = ("window", "bucket")


@dataclass
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    """Sliding-window counters (or token buckets) keyed by (limit, bucket key)."""

    def __init__(
        self,
        limits: dict[str, tuple[int, float]] | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        mode: str = "window",
    ) -> None:
        if mode not in MODES:
            raise ValueError(f"rate limit mode must be one of {MODES}, got {mode!r}")
        self.limits = dict(limits or LIMITS)
        self.mode = mode
        self._monotonic = monotonic
        self._windows: dict[tuple[str, str], deque[float]] = {}
        self._buckets: dict[tuple[str, str], _Bucket] = {}
        self._lock = threading.Lock()
        self._admitted = 0

    def admit(self, applicable: list[tuple[str, str]]) -> str | None:
        """Record the request and return None, or return the first exhausted limit's name."""
        if not applicable:
            return None
        now = self._monotonic()
        if self.mode == "bucket":
            return self._admit_buckets(applicable, now)
        with self._lock:
            windows = []
            for name, key in applicable:
                limit, span = self.limits[name]
                window = self._windows.get((name, key))
                if window is None:
                    window = self._windows[(name, key)] = deque()
                while window and now - window[0] >= span:
                    window.popleft()
                if len(window) >= limit:
                    return name
                windows.append(window)
            for window in windows:
                window.append(now)
            self._admitted += 1
            if self._admitted % _SWEEP_EVERY == 0:
                self._sweep(now)
            return None

    def _admit_buckets(self, applicable: list[tuple[str, str]], now: float) -> str | None:
        with self._lock:
            buckets = []
            for name, key in applicable:
                capacity, span = self.limits[name]
                bucket = self._buckets.get((name, key))
                if bucket is None:
                    bucket = self._buckets[(name, key)] = _Bucket(float(capacity), now)
                refill = (now - bucket.updated) * capacity / span
                bucket.tokens = min(float(capacity), bucket.tokens + refill)
                bucket.updated = now
                if bucket.tokens < 1.0 - 1e-9:
                    return name
                buckets.append(bucket)
            for bucket in buckets:
                bucket.tokens -= 1.0
            self._admitted += 1
            if self._admitted % _SWEEP_EVERY == 0:
                self._sweep(now)
            return None

    def _sweep(self, now: float) -> None:
        """Forget idle buckets (e.g. one per unknown API key) so memory stays bounded."""
        idle = [
            key
            for key, window in self._windows.items()
            if not window or now - window[-1] >= self.limits[key[0]][1]
        ]
        for key in idle:
            del self._windows[key]
        full = [
            key
            for key, bucket in self._buckets.items()
            if now - bucket.updated >= self.limits[key[0]][1]  # refilled to capacity by now
        ]
        for key in full:
            del self._buckets[key]

    def bucket_count(self) -> int:
        """How many (limit, key) windows or buckets are kept (tests)."""
        with self._lock:
            return len(self._windows) + len(self._buckets)

    def clear(self) -> None:
        """Forget every recorded request."""
        with self._lock:
            self._windows.clear()
            self._buckets.clear()
