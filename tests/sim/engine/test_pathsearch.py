"""The tree-guided searches agree with a tick-by-tick scan of the quotes."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from capitalcom_sim.engine.instruments import InstrumentTable
from capitalcom_sim.engine.prices import PriceEngine

from .conftest import WEDNESDAY_NOON

TABLE = InstrumentTable.default()
SPAN_MS = 40 * 60_000


def mids(prices: PriceEngine, epic: str, start: int, end: int) -> list[tuple[int, int]]:
    inst = TABLE.require(epic)
    out = []
    for t in range(start, end, prices.tick_ms):
        if inst.opening_hours.is_open(t):
            out.append((t, prices.mid_units(epic, t)))
    return out


@settings(max_examples=30, deadline=None)
@given(
    epic=st.sampled_from(["SILVER", "EURUSD", "BTCUSD", "US500"]),
    offset_minutes=st.integers(min_value=0, max_value=60 * 24 * 30),
    fraction=st.floats(min_value=-0.2, max_value=1.2),
    below=st.booleans(),
    pinned=st.booleans(),
)
def test_first_cross_matches_a_tick_scan(
    epic: str, offset_minutes: int, fraction: float, below: bool, pinned: bool
) -> None:
    prices = PriceEngine(TABLE, seed=3)
    start = WEDNESDAY_NOON - offset_minutes * 60_000
    end = start + SPAN_MS
    if pinned:  # a path override over part of the span
        level = prices.mid_units(epic, start)
        prices.set_path(epic, [(start + 600_000, level), (start + 1_800_000, level * 101 // 100)])
    scan = mids(prices, epic, start, end)
    if not scan:
        assert prices.first_cross(epic, start, end, 0, None) is None
        return
    low, high = min(m for _, m in scan), max(m for _, m in scan)
    threshold = round(low + (high - low) * fraction)
    expected = next(
        ((t, m) for t, m in scan if (m <= threshold if below else m >= threshold)), None
    )
    found = prices.first_cross(
        epic, start, end, threshold if below else None, None if below else threshold
    )
    assert found == expected


@settings(max_examples=20, deadline=None)
@given(
    epic=st.sampled_from(["SILVER", "BTCUSD", "GOLD"]),
    offset_minutes=st.integers(min_value=0, max_value=60 * 24 * 30),
    distance_fraction=st.floats(min_value=0.02, max_value=0.8),
    sign=st.sampled_from([1, -1]),
)
def test_trailing_walk_matches_a_tick_scan(
    epic: str, offset_minutes: int, distance_fraction: float, sign: int
) -> None:
    prices = PriceEngine(TABLE, seed=4)
    start = WEDNESDAY_NOON - offset_minutes * 60_000
    end = start + SPAN_MS
    scan = mids(prices, epic, start, end)
    if not scan:
        return
    low, high = min(m for _, m in scan), max(m for _, m in scan)
    distance = max(1, round((high - low) * distance_fraction))
    stop = scan[0][1] - sign * distance
    expected_hit = None
    state = sign * stop
    for t, m in scan:
        if sign * m <= state:
            expected_hit = (t, m)
            break
        state = max(state, sign * m - distance)
    found, final = prices.trailing_cross(epic, start, end, stop, distance, sign)
    assert found == expected_hit
    assert final == sign * state
