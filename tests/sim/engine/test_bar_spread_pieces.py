"""The pieces of constant spread the triggers walk (replayed bars with their own spreads)."""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from capitalcom_sim.engine.instruments import InstrumentTable
from capitalcom_sim.engine.prices import PriceEngine

from .conftest import WEDNESDAY_NOON

MINUTE = 60_000


@settings(max_examples=60, deadline=None)
@given(
    spreads=st.lists(st.one_of(st.none(), st.integers(0, 40)), min_size=1, max_size=12),
    cut=st.integers(0, 14),
    window=st.tuples(st.integers(-3, 15), st.integers(1, 20)),
)
def test_spread_pieces_agree_with_the_spread_of_each_tick(
    spreads: list[int | None], cut: int, window: tuple[int, int]
) -> None:
    """The triggers' pieces cover the span exactly, each with the spread quoted at its ticks;
    a pin after the replay cuts the bars' spreads off."""
    prices = PriceEngine(InstrumentTable.default(), tick_ms=15_000)
    gold = prices.instruments.require("GOLD")
    start = WEDNESDAY_NOON
    bars = [
        (start + i * MINUTE, MINUTE, 200_000, 200_000, 200_000, 200_000, None)
        for i in range(len(spreads))
    ]
    prices.replay_bars("GOLD", bars, spreads)
    prices.pin("GOLD", start + cut * MINUTE, 200_000)
    s = start + window[0] * MINUTE
    e = s + window[1] * MINUTE
    pieces = prices.spread_pieces("GOLD", s, e)
    assert pieces[0][0] == s
    assert pieces[-1][1] == e
    for (_, end, _), (begin, _, _) in itertools.pairwise(pieces):
        assert end == begin
    for piece_s, piece_e, units in pieces:
        for tick in range(piece_s, piece_e, 15_000):
            assert prices.spread_units("GOLD", tick) == units
    for tick in range(s, e, 15_000):
        i = (tick - start) // MINUTE
        inside = 0 <= i < min(len(spreads), cut)
        own = spreads[i] if inside else None
        assert prices.spread_units("GOLD", tick) == (gold.spread_units if own is None else own)
