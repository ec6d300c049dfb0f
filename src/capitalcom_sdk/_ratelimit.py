"""The documented request limits as sliding windows, decided purely and shared by both transports.

Every request takes a :class:`Ticket` before it is sent: :meth:`RateLimiter.acquire` books the
earliest moment at which sending breaks no limit the request counts against and says how long to
wait until then. The decision needs only the current monotonic time, so it is the same for
threads and asyncio tasks; the transport sleeps exactly that long (no polling). Bookings are
final, so concurrent callers queue up in order instead of racing.

The server counts *arrivals* in sliding windows, and a request arrives some time after its slot
(connection set-up, scheduling, queueing at the server). That delay is bounded by the moment the
answer comes back, so when a request completes its booking is moved to that moment
(:meth:`RateLimiter.release`), and a caller that had to wait checks its slot again against the
updated bookings before sending (:meth:`RateLimiter.confirm`). A request ``limit`` places later
thus leaves at least ``period`` after the earlier one was *answered*: never too early for the
server, whatever the jitter, at the cost of one round trip per window.
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
    "Ticket",
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

    def earliest_looking_back(self, now: float) -> float:
        """The earliest time >= ``now`` that fits against the bookings up to ``now`` only.

        Used to re-check a slot right before sending: later bookings are other waiters, who
        check again against this one when their own turn comes.
        """
        times = self._times
        limit = self.spec.limit
        i = bisect.bisect_right(times, now)
        if i < limit:
            return now
        return max(now, times[i - limit] + self.spec.span)

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

    def unbook(self, at: float) -> None:
        """Remove one booking made at ``at`` (nothing if it was pruned already)."""
        times = self._times
        i = bisect.bisect_left(times, at)
        if i < len(times) and times[i] == at:
            del times[i]

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
# Bookings move to the answer's arrival (see the module docstring), so the margins only cover
# clock granularity and a request still in flight a whole window later.
# 10 requests per second overall.
GENERAL = WindowSpec(10, 1.0, 0.01)
# Order POSTs: one per 0.1 s, plus the demo budget of 1000 per rolling hour.
TRADING = WindowSpec(1, 0.1, 0.002)
TRADING_DEMO_HOURLY = WindowSpec(1000, 3600.0, 1.0)
# Demo top-up: 10/s and 100 per day.
TOPUP = WindowSpec(10, 1.0, 0.01)
TOPUP_DAILY = WindowSpec(100, 86_400.0, 1.0)
# POST /session: 1/s per API key, shared by every client of that key in the process.
LOGIN = WindowSpec(1, 1.0, 0.01)


class _Group:
    """Windows guarded by one lock."""

    __slots__ = ("lock", "windows")

    def __init__(self, specs: Sequence[WindowSpec], *, ordered: bool = False) -> None:
        self.lock = threading.Lock()
        self.windows = [SlidingWindow(spec, ordered=ordered) for spec in specs]


class _KeyRegistry:
    """Process-wide window groups per API key (keyed by a hash, never the key) and shape."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._groups: dict[tuple[str, tuple[WindowSpec, ...]], _Group] = {}

    def get(
        self, api_key: str, specs: Sequence[WindowSpec], *, ordered_from: int, server: str = ""
    ) -> _Group:
        """The group of ``specs`` for ``api_key`` (on ``server``); its windows from
        ``ordered_from`` on are ordered (see :class:`SlidingWindow`)."""
        digest = hashlib.sha256(f"{server}\n{api_key}".encode()).hexdigest()
        key = (digest, tuple(specs))
        with self._lock:
            group = self._groups.get(key)
            if group is None:
                group = self._groups[key] = _Group(specs)
                for window in group.windows[ordered_from:]:
                    window.ordered = True
            return group


_key_registry = _KeyRegistry()


def login_windows(api_key: str) -> _Group:
    """The login limit shared by every client of ``api_key`` in this process."""
    return _key_registry.get(api_key, [LOGIN], ordered_from=0)


class RateLimiter:
    """All limits one client observes: the user's windows and the login window of its key.

    The server counts per user (10 requests/s, order pacing) and per API key (logins), not per
    client: with ``api_key`` every limiter of that key and ``server`` in this process books
    into the same windows, so a client that takes over from another one (a new ``AsyncClient``
    per run, two clients side by side) does not send an eleventh request into a second the
    other one already filled. The login window is shared by the key's clients whatever the
    server. Clients of two keys of one user cannot know about each other.

    Args:
        api_key: the key whose process-wide windows apply (None: private ones, e.g. a client on
            a backtest's clock).
        server: the server the requests go to (its base URL): another server (demo and live, two
            simulators) counts on its own, so its clients share nothing but the login window.
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
        server: str = "",
    ) -> None:
        if trading is None:
            trading = (TRADING, TRADING_DEMO_HOURLY) if demo else (TRADING,)
        specs = [general, *trading, *topup]
        if api_key is not None:
            self._own = _key_registry.get(api_key, specs, ordered_from=1, server=server)
        else:
            self._own = _Group(specs)
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

    def acquire(self, rate: RateClass, now: float, max_wait: float = float("inf")) -> Ticket | None:
        """Book a slot for one request of class ``rate`` (None: the class is not limited).

        ``ticket.wait`` is how long to wait before sending. When it would exceed ``max_wait``
        nothing is booked (``ticket.booked`` is False), so the caller can give up instead
        (e.g. the demo hourly order budget is spent).
        """
        windows = self._windows[rate]
        if not windows:
            return None
        ticket = Ticket(rate, now)
        with self._locked(rate):
            at = self._earliest(self._all(rate), now)
            ticket.wait = at - now
            if ticket.wait <= max_wait:
                self._book(ticket, at, now)
        return ticket

    def delay(self, rate: RateClass, now: float) -> float:
        """How long a request of class ``rate`` would wait if it were booked at ``now``
        (0.0: it could leave at once). A look only: nothing is booked."""
        windows = self._windows[rate]
        if not windows:
            return 0.0
        with self._locked(rate):
            return self._earliest(self._all(rate), now) - now

    def confirm(self, ticket: Ticket, now: float) -> float:
        """Check a slot again after waiting for it; returns the further wait (0.0: send now).

        Bookings of requests answered meanwhile may have moved later (see :meth:`release`).
        """
        if not ticket.booked:
            return 0.0
        windows = self._all(ticket.rate)
        with self._locked(ticket.rate):
            for window in windows:
                window.unbook(ticket.at)
            at = max(window.earliest_looking_back(now) for window in windows)
            self._book(ticket, at, now)
        return at - now

    def release(self, ticket: Ticket, now: float) -> None:
        """The request is answered (or failed) at ``now``: it reached the server by then."""
        if not ticket.booked or now <= ticket.at:
            return
        windows = self._all(ticket.rate)
        with self._locked(ticket.rate):
            for window in windows:
                window.unbook(ticket.at)
            self._book(ticket, now, now)

    def reserve(self, rate: RateClass, now: float, max_wait: float = float("inf")) -> float:
        """Book a slot and return the wait (a ticket that is never confirmed nor released)."""
        ticket = self.acquire(rate, now, max_wait)
        return 0.0 if ticket is None else ticket.wait

    def _all(self, rate: RateClass) -> list[SlidingWindow]:
        if rate is RateClass.SESSION:
            return [*self._login.windows, *self._windows[rate]]
        return self._windows[rate]

    def _locked(self, rate: RateClass) -> _Locks:
        # Fixed lock order (shared login window, then own windows): no deadlock.
        if rate is RateClass.SESSION:
            return _Locks(self._login.lock, self._own.lock)
        return _Locks(self._own.lock)

    @staticmethod
    def _earliest(windows: Sequence[SlidingWindow], now: float) -> float:
        at = now
        while True:  # the earliest time every window accepts (each step only moves later)
            latest = at
            for window in windows:
                latest = max(latest, window.earliest(latest))
            if latest == at:
                return at
            at = latest

    def _book(self, ticket: Ticket, at: float, now: float) -> None:
        for window in self._all(ticket.rate):
            window.book(at, now)
        ticket.at = at
        ticket.booked = True


class Ticket:
    """One request's booking: its class, its slot ``at`` and the ``wait`` until then."""

    __slots__ = ("at", "booked", "rate", "wait")

    def __init__(self, rate: RateClass, at: float) -> None:
        self.rate = rate
        self.at = at
        self.wait = 0.0
        self.booked = False

    def __repr__(self) -> str:
        return f"Ticket({self.rate.value}, at={self.at:.3f}, booked={self.booked})"


class _Locks:
    """Hold one or two locks in order."""

    __slots__ = ("_locks",)

    def __init__(self, *locks: threading.Lock) -> None:
        self._locks = locks

    def __enter__(self) -> None:
        for lock in self._locks:
            lock.acquire()

    def __exit__(self, *exc: object) -> None:
        for lock in reversed(self._locks):
            lock.release()
