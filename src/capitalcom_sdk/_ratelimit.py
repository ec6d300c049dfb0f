"""The documented request limits as sliding windows, decided purely and shared by both transports.

A request first *reserves* a slot: :meth:`RateLimiter.reserve` books the earliest moment at which
sending does not break any limit the request counts against and returns how long to wait until
then. The decision needs only the current monotonic time, so it is the same for threads and asyncio
tasks; the transport sleeps exactly the returned time (no polling) and then sends. Reservations are
final: once booked, a slot is never handed out twice, so concurrent callers queue up in order.

The server counts arrivals in sliding windows on its own clock. A request leaves a little after its
slot (scheduler and network jitter), so every window is widened by a small margin.
"""

from __future__ import annotations

import bisect
import hashlib
import threading
from collections.abc import Sequence
from dataclasses import dataclass

from capitalcom_sdk._endpoints import RateClass

__all__ = [
    "RateLimiter",
    "SlidingWindow",
    "WindowSpec",
    "login_windows",
]


_EPSILON = 1e-9  # float noise when comparing sums of spans


@dataclass(frozen=True, slots=True)
class WindowSpec:
    """At most ``limit`` requests in any ``period`` seconds, widened by ``margin`` seconds."""

    limit: int
    period: float
    margin: float = 0.0

    @property
    def span(self) -> float:
        return self.period + self.margin


class SlidingWindow:
    """The booked times of one limit, sorted (not locked: :class:`RateLimiter` locks).

    The rule: any ``limit + 1`` consecutive bookings lie at least ``span`` apart. Bookings may be
    made out of order (a GET may take a free slot *before* an order POST that waits for the
    order pacing), so a new time is checked against the bookings on both sides of it.
    """

    __slots__ = ("_floor", "_times", "ordered", "spec")

    def __init__(self, spec: WindowSpec, *, ordered: bool = False) -> None:
        self.spec = spec
        # ordered: bookings only ever go after the last one (a window one request class owns).
        self.ordered = ordered
        self._times: list[float] = []
        self._floor = float("-inf")

    def __repr__(self) -> str:
        s = self.spec
        return f"SlidingWindow(limit={s.limit}, period={s.period}, booked={len(self._times)})"

    def earliest(self, now: float) -> float:
        """The earliest time >= ``now`` at which one more request fits in this window."""
        times = self._times
        limit, span = self.spec.limit, self.spec.span
        # Never decide before a time already seen: pruning relied on it.
        now = max(now, self._floor)
        if not times:
            return now
        if self.ordered or times[-1] <= now:
            # After every booking: only the limit-th last one constrains.
            after = max(now, times[-1])
            return after if len(times) < limit else max(after, times[-limit] + span)
        for candidate in self._candidates(now):
            if self._fits(candidate):
                return candidate
        # Unreachable in theory (a time after everything always fits); kept as a safe answer.
        last = times[-limit] + span if len(times) >= limit else now
        return max(now, times[-1], last)

    def _candidates(self, now: float) -> list[float]:
        span = self.spec.span
        # Where a constraint "t - booking >= span" starts to hold, in increasing order.
        return [now, *(t + span for t in self._times if t + span > now)]

    def _fits(self, at: float) -> bool:
        times = self._times
        limit, span = self.spec.limit, self.spec.span
        i = bisect.bisect_right(times, at)
        merged = [*times[max(0, i - limit) : i], at, *times[i : i + limit]]
        pos = min(i, limit)
        # Every run of limit + 1 consecutive bookings that includes `at` must span >= span.
        for start in range(max(0, pos - limit), pos + 1):
            end = start + limit
            if end < len(merged) and merged[end] - merged[start] < span - _EPSILON:
                return False
        return True

    def book(self, at: float, now: float) -> None:
        bisect.insort(self._times, at)
        # Bookings older than one span before `now` can no longer constrain anything.
        self._floor = max(self._floor, now)
        cutoff = self._floor - self.spec.span
        times = self._times
        if times[0] <= cutoff and len(times) > self.spec.limit:
            keep = bisect.bisect_right(times, cutoff)
            keep = min(keep, len(times) - self.spec.limit)
            if keep > 0:
                del times[:keep]

    @property
    def booked(self) -> tuple[float, ...]:
        """The bookings still remembered (tests)."""
        return tuple(self._times)


# -- the documented limits (SPEC section 4) ---------------------------------------------------
# 10/s overall: 3 % slack absorbs scheduler and loopback jitter while keeping ~97 % of the rate.
GENERAL = WindowSpec(10, 1.0, 0.03)
# Order POSTs: one per 0.1 s, plus the demo budget of 1000 per rolling hour.
TRADING = WindowSpec(1, 0.1, 0.005)
TRADING_DEMO_HOURLY = WindowSpec(1000, 3600.0, 1.0)
# Demo top-up: 10/s and 100 per day.
TOPUP = WindowSpec(10, 1.0, 0.03)
TOPUP_DAILY = WindowSpec(100, 86_400.0, 1.0)
# POST /session: 1/s per API key, shared by every client of that key in the process.
LOGIN = WindowSpec(1, 1.0, 0.05)


class _Group:
    """Windows guarded by one lock."""

    __slots__ = ("lock", "windows")

    def __init__(self, specs: Sequence[WindowSpec], *, ordered: bool = False) -> None:
        self.lock = threading.Lock()
        self.windows = [SlidingWindow(spec, ordered=ordered) for spec in specs]


class _LoginRegistry:
    """Process-wide POST /session windows, one per API key (keyed by a hash, never the key)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._groups: dict[str, _Group] = {}

    def get(self, api_key: str) -> _Group:
        digest = hashlib.sha256(api_key.encode()).hexdigest()
        with self._lock:
            group = self._groups.get(digest)
            if group is None:
                group = self._groups[digest] = _Group([LOGIN], ordered=True)
            return group


_login_registry = _LoginRegistry()


def login_windows(api_key: str) -> _Group:
    """The login limit shared by every client of ``api_key`` in this process."""
    return _login_registry.get(api_key)


class RateLimiter:
    """All limits one client observes: its own windows plus the shared login window of its key.

    Args:
        api_key: the key whose process-wide login window applies (None: a private one).
        demo: apply the demo-only budgets (1000 order POSTs per hour).
        general, trading, ...: override a limit (tests, other servers).

    Thread- and task-safe: :meth:`reserve` only takes short locks, never waits.
    """

    def __init__(
        self,
        api_key: str | None = None,
        *,
        demo: bool = True,
        general: WindowSpec = GENERAL,
        trading: Sequence[WindowSpec] | None = None,
        topup: Sequence[WindowSpec] = (TOPUP, TOPUP_DAILY),
        login: WindowSpec = LOGIN,
    ) -> None:
        if trading is None:
            trading = (TRADING, TRADING_DEMO_HOURLY) if demo else (TRADING,)
        self._own = _Group([general, *trading, *topup])
        for window in self._own.windows[1:]:
            window.ordered = True
        general_w = self._own.windows[:1]
        trading_w = self._own.windows[1 : 1 + len(trading)]
        topup_w = self._own.windows[1 + len(trading) :]
        self._login = (
            login_windows(api_key) if api_key is not None else _Group([login], ordered=True)
        )
        self._windows: dict[RateClass, list[SlidingWindow]] = {
            RateClass.GENERAL: general_w,
            RateClass.SESSION: general_w,  # plus the shared login window
            RateClass.TRADING: general_w + trading_w,
            RateClass.TOPUP: general_w + topup_w,
            RateClass.NONE: [],
        }

    def __repr__(self) -> str:
        return f"RateLimiter(windows={len(self._own.windows) + 1})"

    def reserve(self, rate: RateClass, now: float, max_wait: float = float("inf")) -> float:
        """Book a slot for one request of class ``rate``; returns seconds to wait before sending.

        When the wait would exceed ``max_wait`` nothing is booked and the wait is returned, so
        the caller can give up instead (e.g. the demo hourly order budget is spent).
        """
        windows = self._windows[rate]
        if not windows:
            return 0.0
        if rate is RateClass.SESSION:
            # Fixed lock order (shared login window, then own windows): no deadlock.
            with self._login.lock, self._own.lock:
                return self._book([*self._login.windows, *windows], now, max_wait)
        with self._own.lock:
            return self._book(windows, now, max_wait)

    @staticmethod
    def _book(windows: Sequence[SlidingWindow], now: float, max_wait: float) -> float:
        at = now
        while True:  # the earliest time every window accepts (each step only moves later)
            latest = at
            for window in windows:
                latest = max(latest, window.earliest(latest))
            if latest == at:
                break
            at = latest
        if at - now > max_wait:
            return at - now
        for window in windows:
            window.book(at, now)
        return at - now
