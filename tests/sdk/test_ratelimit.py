"""The pure limiter: never more than a documented limit, never much slower than it."""

from __future__ import annotations

import heapq
import threading
import uuid

from hypothesis import given, settings
from hypothesis import strategies as st

from capitalcom_sdk._endpoints import RateClass
from capitalcom_sdk._ratelimit import GENERAL, RateLimiter, SlidingWindow, Ticket, WindowSpec

LIMITED = [RateClass.GENERAL, RateClass.SESSION, RateClass.TRADING, RateClass.TOPUP]


def _max_in_window(times: list[float], period: float) -> int:
    """The most bookings inside any half-open window (t - period, t]."""
    times = sorted(times)
    best, start = 0, 0
    for end, t in enumerate(times):
        while times[start] <= t - period:
            start += 1
        best = max(best, end - start + 1)
    return best


def _fresh_key() -> str:
    return f"key-{uuid.uuid4()}"


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.floats(min_value=0.0, max_value=0.4, allow_nan=False), st.sampled_from(LIMITED)
        ),
        min_size=1,
        max_size=120,
    )
)
def test_limiter_never_exceeds_any_documented_limit(steps: list[tuple[float, RateClass]]) -> None:
    limiter = RateLimiter(_fresh_key(), demo=True)
    now = 0.0
    sent: dict[RateClass, list[float]] = {rate: [] for rate in LIMITED}
    for advance, rate in steps:
        now += advance
        wait = limiter.reserve(rate, now)
        assert wait >= 0.0
        sent[rate].append(now + wait)
    everything = [t for times in sent.values() for t in times]
    assert _max_in_window(everything, 1.0) <= 10
    assert _max_in_window(sent[RateClass.TRADING], 0.1) <= 1
    assert _max_in_window(sent[RateClass.SESSION], 1.0) <= 1
    assert _max_in_window(sent[RateClass.TOPUP], 1.0) <= 10


@settings(max_examples=100, deadline=None)
@given(st.lists(st.floats(min_value=0.0, max_value=0.05, allow_nan=False), min_size=1, max_size=60))
def test_general_window_keeps_up_with_the_allowed_rate(advances: list[float]) -> None:
    limiter = RateLimiter(_fresh_key())
    now = 0.0
    booked: list[float] = []
    for advance in advances:
        now += advance
        booked.append(now + limiter.reserve(RateClass.GENERAL, now))
        # The greedy optimum: as soon as the 10th previous request has left the window.
        earliest = now if len(booked) <= 10 else max(now, booked[-11] + GENERAL.span)
        # Equal up to float noise: the limiter compares window edges with a 1e-9 s allowance,
        # so a booking may land that much (plus rounding) past the exact optimum.
        assert abs(booked[-1] - earliest) < 1e-6


def test_burst_of_one_hundred_is_paced_at_ten_per_span() -> None:
    limiter = RateLimiter(_fresh_key())
    times = [limiter.reserve(RateClass.GENERAL, 0.0) for _ in range(100)]
    assert times[:10] == [0.0] * 10
    assert times[10] == GENERAL.span
    assert abs(times[-1] - 9 * GENERAL.span) < 1e-9


def test_login_window_is_shared_by_clients_of_one_key_only() -> None:
    key = _fresh_key()
    first, second, other = RateLimiter(key), RateLimiter(key), RateLimiter(_fresh_key())
    assert first.reserve(RateClass.SESSION, 0.0) == 0.0
    assert second.reserve(RateClass.SESSION, 0.0) > 1.0  # same key: waits for the first
    assert other.reserve(RateClass.SESSION, 0.0) == 0.0  # another key: independent
    assert key not in repr(first)


def test_user_windows_are_shared_by_clients_of_one_key_and_server() -> None:
    """The server counts 10/s per user, not per client: a second client of the key (a new
    AsyncClient taking over) waits for the second the first one filled; another server or key,
    or a limiter without a key (a backtest's clock), does not."""
    key = _fresh_key()
    server = "https://demo.example"
    first = RateLimiter(key, server=server)
    for _ in range(10):
        assert first.reserve(RateClass.GENERAL, 0.0) == 0.0
    second = RateLimiter(key, server=server)
    assert second.reserve(RateClass.GENERAL, 0.1) >= GENERAL.span - 0.1
    assert RateLimiter(key, server="http://127.0.0.1:9").reserve(RateClass.GENERAL, 0.1) == 0.0
    assert RateLimiter(_fresh_key(), server=server).reserve(RateClass.GENERAL, 0.1) == 0.0
    assert RateLimiter(None, server=server).reserve(RateClass.GENERAL, 0.1) == 0.0
    # order pacing is per user too
    assert first.reserve(RateClass.TRADING, 5.0) == 0.0
    assert second.reserve(RateClass.TRADING, 5.0) >= 0.1


def test_get_takes_a_free_slot_before_a_waiting_order() -> None:
    limiter = RateLimiter(_fresh_key())
    assert limiter.reserve(RateClass.TRADING, 0.0) == 0.0
    assert limiter.reserve(RateClass.TRADING, 0.0) > 0.1  # order pacing
    assert limiter.reserve(RateClass.GENERAL, 0.0) == 0.0  # not queued behind the order


def test_reserve_refuses_to_book_beyond_max_wait() -> None:
    limiter = RateLimiter(_fresh_key(), trading=(WindowSpec(2, 3600.0),))
    assert limiter.reserve(RateClass.TRADING, 0.0) == 0.0
    assert limiter.reserve(RateClass.TRADING, 1.0) == 0.0
    wait = limiter.reserve(RateClass.TRADING, 2.0, max_wait=60.0)
    assert wait > 3000
    # Nothing was booked: the next general request is not delayed by the refused order.
    assert limiter.reserve(RateClass.GENERAL, 2.0) == 0.0
    assert limiter.reserve(RateClass.TRADING, 2.0, max_wait=60.0) > 3000


def test_delay_looks_at_the_next_slot_without_booking_it() -> None:
    limiter = RateLimiter()
    assert limiter.delay(RateClass.GENERAL, 0.0) == 0.0
    for _ in range(10):
        assert limiter.reserve(RateClass.GENERAL, 0.0) == 0.0
    assert limiter.delay(RateClass.GENERAL, 0.25) == GENERAL.span - 0.25
    assert limiter.delay(RateClass.GENERAL, 0.25) == GENERAL.span - 0.25  # nothing was booked
    assert limiter.reserve(RateClass.GENERAL, 0.25) == GENERAL.span - 0.25
    assert limiter.delay(RateClass.NONE, 0.25) == 0.0


def test_unlimited_class_never_waits() -> None:
    limiter = RateLimiter(_fresh_key())
    assert all(limiter.reserve(RateClass.NONE, 0.0) == 0.0 for _ in range(1000))


def test_concurrent_threads_get_distinct_slots() -> None:
    limiter = RateLimiter(_fresh_key())
    booked: list[float] = []
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(25):
            at = limiter.reserve(RateClass.GENERAL, 0.0)
            with lock:
                booked.append(at)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert _max_in_window(booked, 1.0) <= 10
    assert len(booked) == 200
    assert max(booked) <= 19 * GENERAL.span + 1e-9


def test_window_prunes_old_bookings() -> None:
    window = SlidingWindow(WindowSpec(2, 1.0))
    for i in range(100):
        window.book(float(i), float(i))
    assert len(window.booked) <= 3


def _simulate(
    requests: list[tuple[float, RateClass, float, float]],
) -> dict[RateClass, list[float]]:
    """Run the transport protocol (acquire, sleep, confirm, send, release) as discrete events.

    Each request is (start time, class, latency to the server, latency back). Returns the
    server-side arrival times per class.
    """
    limiter = RateLimiter(_fresh_key(), demo=True)
    arrivals: dict[RateClass, list[float]] = {rate: [] for rate in LIMITED}
    events: list[tuple[float, int, str, int]] = []
    tickets: dict[int, Ticket] = {}
    for index, (start, *_rest) in enumerate(requests):
        heapq.heappush(events, (start, index, "start", index))
    sequence = len(requests)
    while events:
        now, _, kind, index = heapq.heappop(events)
        _, rate, up, down = requests[index]
        if kind == "start":
            ticket = limiter.acquire(rate, now)
            assert ticket is not None
            tickets[index] = ticket
            wait = ticket.wait
        elif kind == "wake":
            wait = limiter.confirm(tickets[index], now)
        else:  # "answered"
            limiter.release(tickets[index], now)
            continue
        sequence += 1
        if wait > 0:
            heapq.heappush(events, (now + wait, sequence, "wake", index))
        else:
            arrivals[rate].append(now + up)
            heapq.heappush(events, (now + up + down, sequence, "answered", index))
    return arrivals


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.floats(min_value=0.0, max_value=0.3, allow_nan=False),
            st.sampled_from(LIMITED),
            st.floats(min_value=0.0, max_value=0.045, allow_nan=False),
            st.floats(min_value=0.0, max_value=0.045, allow_nan=False),
        ),
        min_size=1,
        max_size=80,
    )
)
def test_server_side_arrivals_stay_within_limits_whatever_the_latency(
    steps: list[tuple[float, RateClass, float, float]],
) -> None:
    """The guarantee: as long as answers come back within the shortest window (0.1 s), the
    server never sees more than a limit allows, however the latencies vary."""
    now = 0.0
    requests = []
    for gap, rate, up, down in steps:
        now += gap
        requests.append((now, rate, up, down))
    arrivals = _simulate(requests)
    everything = [t for times in arrivals.values() for t in times]
    assert len(everything) == len(requests)
    assert _max_in_window(everything, 1.0) <= 10
    assert _max_in_window(arrivals[RateClass.TRADING], 0.1) <= 1
    assert _max_in_window(arrivals[RateClass.SESSION], 1.0) <= 1
    assert _max_in_window(arrivals[RateClass.TOPUP], 1.0) <= 10


def test_burst_with_latency_keeps_near_the_full_rate() -> None:
    requests = [(0.0, RateClass.GENERAL, 0.004, 0.004) for _ in range(101)]
    arrivals = _simulate(requests)[RateClass.GENERAL]
    assert _max_in_window(arrivals, 1.0) <= 10
    assert max(arrivals) <= 10 * (GENERAL.span + 0.008) + 0.01  # >= 97 % of 10 per second
