"""The client rate limiter on a fake clock: never more than a limit in any window.

Complements tests/sdk/test_ratelimit.py (short bursts, in-order clock) with what a long
unattended run meets: the hourly demo order budget and the daily top-up budget over simulated
hours, requests refused by ``max_wait`` (they must book nothing), callers whose clock readings
arrive out of order (threads racing between ``time.monotonic()`` and ``reserve``), and several
clients of one API key sharing the login window from many threads.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Sequence

from hypothesis import given, settings
from hypothesis import strategies as st

from capitalcom_sdk._endpoints import RateClass
from capitalcom_sdk._ratelimit import RateLimiter

LIMITED = [RateClass.GENERAL, RateClass.SESSION, RateClass.TRADING, RateClass.TOPUP]
COUNTS_AGAINST_GENERAL = set(LIMITED)


def max_in_window(times: Sequence[float], period: float) -> int:
    """The most send times inside any half-open window ``(t - period, t]``."""
    ordered = sorted(times)
    best = start = 0
    for end, t in enumerate(ordered):
        while ordered[start] <= t - period:
            start += 1
        best = max(best, end - start + 1)
    return best


def key() -> str:
    return f"reliability-{uuid.uuid4()}"


def check_all_limits(sent: dict[RateClass, list[float]], *, demo: bool = True) -> None:
    everything = [
        t for rate, times in sent.items() if rate in COUNTS_AGAINST_GENERAL for t in times
    ]
    assert max_in_window(everything, 1.0) <= 10
    assert max_in_window(sent[RateClass.TRADING], 0.1) <= 1
    if demo:
        assert max_in_window(sent[RateClass.TRADING], 3600.0) <= 1000
    assert max_in_window(sent[RateClass.SESSION], 1.0) <= 1
    assert max_in_window(sent[RateClass.TOPUP], 1.0) <= 10
    assert max_in_window(sent[RateClass.TOPUP], 86_400.0) <= 100


# Gaps between callers: mostly bursts (0), sometimes pauses of seconds to an hour.
gaps = st.one_of(
    st.just(0.0),
    st.floats(min_value=0.0, max_value=0.2),
    st.floats(min_value=0.0, max_value=5.0),
    st.floats(min_value=0.0, max_value=3600.0),
)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(gaps, st.sampled_from(LIMITED), st.sampled_from([0.5, 5.0, 60.0, 7200.0])),
        min_size=1,
        max_size=1500,
    ),
    st.booleans(),
)
def test_budgets_hold_over_hours_and_refusals_book_nothing(
    steps: list[tuple[float, RateClass, float]], demo: bool
) -> None:
    limiter = RateLimiter(key(), demo=demo)
    now = 0.0
    sent: dict[RateClass, list[float]] = {rate: [] for rate in LIMITED}
    for gap, rate, max_wait in steps:
        now += gap
        earliest = limiter.reserve(rate, now, -1.0)  # a probe: refused, so it books nothing
        wait = limiter.reserve(rate, now, max_wait)
        assert wait >= 0.0
        assert abs(wait - earliest) < 1e-9  # the probe booked nothing
        if wait > max_wait:
            # Refused (the client raises ClientRateLimitError): nothing may have been booked.
            assert abs(limiter.reserve(rate, now, -1.0) - wait) < 1e-9
            continue
        sent[rate].append(now + wait)
    check_all_limits(sent, demo=demo)


@settings(max_examples=40, deadline=None)
@given(st.integers(min_value=1001, max_value=1400))
def test_the_hourly_order_budget_is_spent_then_refused_then_renewed(orders: int) -> None:
    limiter = RateLimiter(key(), demo=True)
    sent: list[float] = []
    refused = 0
    now = 0.0
    for _ in range(orders):
        wait = limiter.reserve(RateClass.TRADING, now, 60.0)
        if wait > 60.0:
            refused += 1
        else:
            sent.append(now + wait)
            now += wait  # the caller sleeps until its slot
    assert len(sent) == 1000  # the budget is used in full, never beyond
    assert refused == orders - 1000
    assert max_in_window(sent, 3600.0) == 1000
    assert max_in_window(sent, 0.1) == 1
    # An hour after the first order a slot is free again.
    later = sent[0] + 3601.0 + 1.0
    assert limiter.reserve(RateClass.TRADING, later, 60.0) <= 60.0


@settings(max_examples=80, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.floats(min_value=0.0, max_value=0.3),
            st.floats(min_value=0.0, max_value=0.05),  # how stale this caller's clock reading is
            st.sampled_from(LIMITED),
        ),
        min_size=1,
        max_size=200,
    )
)
def test_out_of_order_clock_readings_never_break_a_limit(
    steps: list[tuple[float, float, RateClass]],
) -> None:
    """Threads read the clock, then race to reserve: readings arrive a little out of order."""
    limiter = RateLimiter(key(), demo=True)
    now = 0.0
    sent: dict[RateClass, list[float]] = {rate: [] for rate in LIMITED}
    for gap, stale, rate in steps:
        now += gap
        reading = max(0.0, now - stale)
        wait = limiter.reserve(rate, reading)
        # The caller sleeps `wait` from its (stale) reading, so it sends at reading + wait.
        sent[rate].append(reading + wait)
    check_all_limits(sent)


def test_many_clients_of_one_key_share_the_login_window_across_threads() -> None:
    shared = key()
    limiters = [RateLimiter(shared) for _ in range(8)]
    other = RateLimiter(key())
    sent: list[float] = []
    other_sent: list[float] = []
    lock = threading.Lock()
    barrier = threading.Barrier(9)

    def worker(limiter: RateLimiter, out: list[float]) -> None:
        barrier.wait()
        for i in range(25):
            at = i * 0.01
            wait = limiter.reserve(RateClass.SESSION, at)
            with lock:
                out.append(at + wait)

    threads = [threading.Thread(target=worker, args=(lim, sent)) for lim in limiters]
    threads.append(threading.Thread(target=worker, args=(other, other_sent)))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(sent) == 200
    assert max_in_window(sent, 1.0) == 1  # one login per second for the whole key
    assert max(sent) >= 199.0  # ... so 200 logins need 199 s at least
    assert max(other_sent) < 30.0  # another key is not held up by this one


def test_many_threads_on_one_client_never_exceed_ten_per_second() -> None:
    limiter = RateLimiter(key())
    sent: dict[RateClass, list[float]] = {rate: [] for rate in LIMITED}
    lock = threading.Lock()
    clock_lock = threading.Lock()
    fake_now = [0.0]
    barrier = threading.Barrier(6)

    def worker(rate: RateClass) -> None:
        barrier.wait()
        for _ in range(60):
            with clock_lock:
                fake_now[0] += 0.001
                at = fake_now[0]
            wait = limiter.reserve(rate, at)
            with lock:
                sent[rate].append(at + wait)

    rates = [RateClass.GENERAL, RateClass.GENERAL, RateClass.TRADING, *LIMITED[1:]]
    threads = [threading.Thread(target=worker, args=(rate,)) for rate in rates]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(len(v) for v in sent.values()) == 360
    check_all_limits(sent)
