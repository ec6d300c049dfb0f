"""The seeded price process: determinism, exact aggregation across resolutions, hours, speed."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from capitalcom_sim.engine import Clock, Engine
from capitalcom_sim.engine import seeded as seeded_module
from capitalcom_sim.engine.instruments import InstrumentTable
from capitalcom_sim.engine.prices import DURATION_MS, PriceEngine, align
from capitalcom_sim.engine.types import RESOLUTIONS, Bar

from .conftest import DAY, HOUR, WEDNESDAY_NOON, make_config

TABLE = InstrumentTable.default()
CHILD = {
    "MINUTE_5": "MINUTE",
    "MINUTE_15": "MINUTE_5",
    "MINUTE_30": "MINUTE_15",
    "HOUR": "MINUTE",
    "HOUR_4": "HOUR",
    "DAY": "HOUR",
    "WEEK": "DAY",
}


def engine_prices(seed: int = 7) -> PriceEngine:
    return PriceEngine(TABLE, seed=seed, tick_ms=1000)


def aggregate(bars: list[Bar]) -> tuple[float, ...]:
    return (
        bars[0].bid.open,
        max(b.bid.high for b in bars),
        min(b.bid.low for b in bars),
        bars[-1].bid.close,
        bars[0].ask.open,
        max(b.ask.high for b in bars),
        min(b.ask.low for b in bars),
        bars[-1].ask.close,
        sum(b.volume for b in bars),
    )


def flat(bar: Bar) -> tuple[float, ...]:
    return (
        *(getattr(bar.bid, f) for f in ("open", "high", "low", "close")),
        *(getattr(bar.ask, f) for f in ("open", "high", "low", "close")),
        bar.volume,
    )


def test_same_seed_same_prices_other_seed_other_prices() -> None:
    a, b, c = engine_prices(7), engine_prices(7), engine_prices(8)
    start = WEDNESDAY_NOON - DAY
    bars_a = a.bars("SILVER", "MINUTE", start, WEDNESDAY_NOON)
    assert bars_a == b.bars("SILVER", "MINUTE", start, WEDNESDAY_NOON)
    assert bars_a != c.bars("SILVER", "MINUTE", start, WEDNESDAY_NOON)
    assert a.quote("BTCUSD", WEDNESDAY_NOON) == b.quote("BTCUSD", WEDNESDAY_NOON)


def test_results_do_not_depend_on_what_was_asked_before() -> None:
    fresh, warmed = engine_prices(), engine_prices()
    warmed.bars("GOLD", "WEEK", WEDNESDAY_NOON - 400 * 7 * DAY, WEDNESDAY_NOON)
    warmed.bars("GOLD", "MINUTE", WEDNESDAY_NOON - 3 * HOUR, WEDNESDAY_NOON)
    window = (WEDNESDAY_NOON - 5 * DAY, WEDNESDAY_NOON)
    assert warmed.bars("GOLD", "HOUR", *window) == fresh.bars("GOLD", "HOUR", *window)


@pytest.mark.parametrize("resolution", list(CHILD))
def test_every_bar_is_the_exact_aggregate_of_its_children(resolution: str) -> None:
    prices = engine_prices()
    child = CHILD[resolution]
    end = align(resolution, WEDNESDAY_NOON)
    start = end - 3 * DURATION_MS[resolution]
    parents = prices.bars("EURUSD", resolution, start, end)
    assert parents
    for parent in parents:
        children = prices.bars(
            "EURUSD", child, parent.start_ms, parent.start_ms + DURATION_MS[resolution] - 1
        )
        assert aggregate(children) == flat(parent)


def test_a_minute_bar_is_the_aggregate_of_its_ticks() -> None:
    prices = engine_prices()
    for bar in prices.bars("SILVER", "MINUTE", WEDNESDAY_NOON - 5 * 60_000, WEDNESDAY_NOON):
        ticks = [prices.quote("SILVER", bar.start_ms + i * 1000) for i in range(60)]
        bids = [t[0] for t in ticks]
        assert (bids[0], max(bids), min(bids), bids[-1]) == (
            bar.bid.open,
            bar.bid.high,
            bar.bid.low,
            bar.bid.close,
        )
        assert max(t[1] for t in ticks) == bar.ask.high


@settings(max_examples=25, deadline=None)
@given(
    epic=st.sampled_from(["SILVER", "US500", "BTCUSD", "AAPL", "DE40", "5CPSG"]),
    offset_minutes=st.integers(min_value=0, max_value=2 * 365 * 1440),
    resolution=st.sampled_from(["MINUTE_5", "MINUTE_15", "HOUR", "HOUR_4", "DAY"]),
)
def test_aggregation_holds_anywhere_in_two_years(
    epic: str, offset_minutes: int, resolution: str
) -> None:
    prices = engine_prices(11)
    t = WEDNESDAY_NOON - offset_minutes * 60_000
    start = align(resolution, t)
    parent = prices.bars(epic, resolution, start, start)
    children = prices.bars(epic, CHILD[resolution], start, start + DURATION_MS[resolution] - 1)
    if not parent:
        assert children == []  # closed for the whole bar
    else:
        assert aggregate(children) == flat(parent[0])


def test_quotes_change_only_on_the_tick_grid_and_keep_the_spread() -> None:
    prices = engine_prices()
    inst = TABLE.require("SILVER")
    for second in range(30):
        t = WEDNESDAY_NOON + second * 1000
        bid, offer = prices.quote("SILVER", t)
        assert prices.quote("SILVER", t + 999) == (bid, offer)
        assert round(offer - bid, 3) == inst.spread
        assert bid == round(bid, inst.decimals)


def test_closed_markets_have_no_bars_and_crypto_trades_all_weekend() -> None:
    prices = engine_prices()
    saturday = WEDNESDAY_NOON + 3 * DAY
    assert prices.bars("SILVER", "HOUR", saturday - 6 * HOUR, saturday + 6 * HOUR) == []
    assert prices.bars("AAPL", "MINUTE", WEDNESDAY_NOON, WEDNESDAY_NOON + HOUR) == []  # pre-open
    assert len(prices.bars("BTCUSD", "HOUR", saturday - 6 * HOUR, saturday + 6 * HOUR)) == 13
    # Friday's last SILVER tick (21:58:59) is the quote all weekend
    friday_last = WEDNESDAY_NOON + 2 * DAY + 9 * HOUR + 58 * 60_000 + 59_000
    assert prices.quote("SILVER", saturday) == prices.quote("SILVER", friday_last)


def test_daily_break_is_respected() -> None:
    prices = engine_prices()
    day = align("DAY", WEDNESDAY_NOON)
    minutes = prices.bars("SILVER", "MINUTE", day + 21 * HOUR, day + 23 * HOUR + 10 * 60_000)
    starts = {(b.start_ms - day) // 60_000 for b in minutes}
    assert 21 * 60 + 58 in starts
    assert not starts & set(range(21 * 60 + 59, 23 * 60 + 5))
    assert 23 * 60 + 5 in starts


def test_bar_in_progress_holds_only_ticks_up_to_now() -> None:
    prices = engine_prices()
    now = WEDNESDAY_NOON + 30 * 60_000 + 15_500
    hour = prices.bars("SILVER", "HOUR", WEDNESDAY_NOON, now, now_ms=now)
    assert [b.start_ms for b in hour] == [WEDNESDAY_NOON]
    minutes = prices.bars("SILVER", "MINUTE", WEDNESDAY_NOON, now, now_ms=now)
    assert len(minutes) == 31
    assert aggregate(minutes) == flat(hour[0])
    assert minutes[-1].bid.close == prices.quote("SILVER", now)[0]


@pytest.mark.parametrize("resolution", RESOLUTIONS)
def test_old_bars_cost_work_in_proportion_to_bars_not_ticks(
    resolution: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """1000 bars two years back, cold caches: the engine's random draws (its unit of work) stay
    a small constant per bar at every resolution, although a MINUTE bar holds 60 ticks and a
    WEEK bar 604,800. Counted, not timed, so machine load cannot flake it (speed: bench/)."""
    draws = 0
    original = seeded_module.mix

    def counted(x: int) -> int:
        nonlocal draws
        draws += 1
        return original(x)

    monkeypatch.setattr(seeded_module, "mix", counted)
    prices = engine_prices(99)  # cold caches
    end = WEDNESDAY_NOON - 2 * 365 * DAY
    start = end - 1000 * DURATION_MS[resolution]
    bars = prices.bars("BTCUSD", resolution, start, end - 1, limit=1000)
    assert len(bars) == 1000
    assert draws <= 10 * len(bars), f"{resolution}: {draws} draws for {len(bars)} bars"


def test_pinned_price_path_and_release(clock: Clock) -> None:
    engine = Engine(make_config(), clock)
    bid, offer = engine.set_price("SILVER", mid=25.0)
    assert (bid, offer) == (24.99, 25.01)
    clock.advance(3600)
    assert engine.prices.quote("SILVER", clock.now_ms()) == (24.99, 25.01)
    now = clock.now_ms()
    engine.set_path("SILVER", [(now, 25.0), (now + 100_000, 26.0)])
    assert engine.prices.quote("SILVER", now + 50_000) == (25.49, 25.51)
    assert engine.prices.quote("SILVER", now + 500_000) == (25.99, 26.01)
    engine.set_price("SILVER", bid=30.0)
    assert engine.prices.quote("SILVER", clock.now_ms()) == (30.0, 30.02)
    clock.advance(60)
    seeded = Engine(make_config(), Clock(clock.now_ms(), speed=0))
    engine.release("SILVER")
    later = clock.now_ms() + 5000
    assert engine.prices.quote("SILVER", later) == seeded.prices.quote("SILVER", later)


def test_replayed_bars_come_back_exactly(engine: Engine) -> None:
    start = WEDNESDAY_NOON - 2 * HOUR
    rows = ["time,open,high,low,close,volume"]
    expected = []
    for i in range(5):
        o, h, low, c = 20 + i, 21.5 + i, 19.25 + i, 20.75 + i
        rows.append(f"{start + i * 60_000},{o},{h},{low},{c},{100 + i}")
        expected.append((o, h, low, c, 100 + i))
    assert engine.replay_bars("SILVER", "\n".join(rows)) == 5
    bars = engine.prices.bars("SILVER", "MINUTE", start, start + 4 * 60_000)
    half = 0.01  # SILVER spread 0.02: bid = mid - 0.01
    got = [
        (b.bid.open + half, b.bid.high + half, b.bid.low + half, b.bid.close + half, b.volume)
        for b in bars
    ]
    assert [tuple(round(x, 3) for x in g) for g in got] == expected
    # the seeded process resumes after the replayed span
    fresh = Engine(make_config(), Clock(WEDNESDAY_NOON, speed=0))
    later = WEDNESDAY_NOON - HOUR
    assert engine.prices.quote("SILVER", later) == fresh.prices.quote("SILVER", later)


def test_closed_bars_read_again_follow_a_change_of_the_overrides(engine: Engine) -> None:
    """Closed bars of a replayed epic are aggregated once and served again (a backtest reads
    them at every step); replaying other bars, pinning or releasing must show at once."""
    start = WEDNESDAY_NOON - 2 * HOUR

    def replay(base: float) -> None:
        rows = ["time,open,high,low,close"]
        rows += [f"{start + i * 60_000},{base},{base + 1},{base - 1},{base}" for i in range(5)]
        engine.replay_bars("SILVER", "\n".join(rows))

    def closes() -> list[float]:
        bars = engine.prices.bars("SILVER", "MINUTE", start, start + 4 * 60_000)
        return [round(b.bid.close + 0.01, 3) for b in bars]

    replay(20.0)
    assert closes() == [20.0] * 5
    assert closes() == [20.0] * 5  # served again, unchanged
    replay(30.0)
    assert closes() == [30.0] * 5
    engine.prices.pin("SILVER", start + 2 * 60_000, 40_000)  # mid 40.000 from the third bar
    assert closes() == [30.0, 30.0, 40.0, 40.0, 40.0]
    engine.prices.release("SILVER", start)
    fresh = Engine(make_config(), Clock(WEDNESDAY_NOON, speed=0))
    assert closes() == [
        round(b.bid.close + 0.01, 3)
        for b in fresh.prices.bars("SILVER", "MINUTE", start, start + 4 * 60_000)
    ]


def test_bad_control_input_is_rejected(engine: Engine) -> None:
    from capitalcom_sim.errors import ApiError

    for call in (
        lambda: engine.set_price("SILVER", mid=-1),
        lambda: engine.set_price("SILVER", mid=float("nan")),
        lambda: engine.set_price("SILVER"),
        lambda: engine.set_path("SILVER", []),
        lambda: engine.replay_bars("SILVER", "time,open,high,low,close\n1,2,1,3,2"),
        lambda: engine.replay_bars("SILVER", "nonsense"),
    ):
        with pytest.raises(ApiError) as caught:
            call()
        assert caught.value.status == 400
    with pytest.raises(ApiError) as caught:
        engine.set_price("NOPE", mid=1)
    assert caught.value.status == 404


# ---- realism: what a chart or a strategy would notice --------------------------------------
LIQUID = ("EURUSD", "GBPUSD", "GOLD", "SILVER", "OIL_CRUDE", "US100", "AAPL", "BTCUSD")


def _longest_run(values: list[float]) -> int:
    best = run = 1
    for before, after in itertools.pairwise(values):
        run = run + 1 if after == before else 1
        best = max(best, run)
    return best


@pytest.mark.parametrize("seed", [7, 42])
@pytest.mark.parametrize("epic", LIQUID)
def test_prices_keep_moving_without_plateaus_or_lone_spikes(epic: str, seed: int) -> None:
    prices = engine_prices(seed)
    hours = prices.bars(epic, "HOUR", WEDNESDAY_NOON - 60 * DAY, WEDNESDAY_NOON)
    minutes = prices.bars(epic, "MINUTE", WEDNESDAY_NOON - 3 * DAY, WEDNESDAY_NOON)
    ranges = sorted(b.bid.high - b.bid.low for b in hours)
    median = ranges[len(ranges) // 2]
    spikes = [
        b
        for b in hours
        if max(b.bid.high - max(b.bid.open, b.bid.close), min(b.bid.open, b.bid.close) - b.bid.low)
        > 4 * median
    ]
    closes = [b.bid.close for b in minutes]
    unchanged = sum(after == before for before, after in itertools.pairwise(closes))

    assert _longest_run([b.bid.close for b in hours]) <= 3  # no price stuck for hours
    assert len(spikes) <= len(hours) // 100  # wicks far beyond the bar's neighbours are rare
    assert _longest_run(closes) <= 15  # a liquid market changes within a quarter of an hour
    assert unchanged / len(closes) < 0.15


@pytest.mark.parametrize("epic", ["EURUSD", "GOLD", "US100", "BTCUSD"])
def test_daily_moves_match_the_instruments_volatility(epic: str) -> None:
    prices = engine_prices(42)
    days = prices.bars(epic, "DAY", WEDNESDAY_NOON - 240 * DAY, WEDNESDAY_NOON)
    returns = [after.bid.close / before.bid.close - 1 for before, after in itertools.pairwise(days)]
    spread = (sum(r * r for r in returns) / len(returns)) ** 0.5
    volatility = TABLE.require(epic).daily_volatility

    assert 0.5 * volatility <= spread <= 2.0 * volatility


def _reference_split(
    tree: seeded_module.SeededTree, inst: object, level: int, start: int, parent: object
) -> tuple[object, ...]:
    """SeededTree._split as it was written before it was flattened: _steps, _path, _split_int
    and random.Random.gauss called one after the other (the flat one must equal it)."""
    from capitalcom_sim.engine.pricetree import LEVEL_DUR

    assert isinstance(inst, type(TABLE.require("EURUSD")))
    child_dur = LEVEL_DUR[level + 1]
    count = LEVEL_DUR[level] // child_dur
    if parent is None:
        return (None,) * count
    hours = inst.opening_hours
    open_idx = [
        i
        for i in range(count)
        if hours.any_open(start + i * child_dur, start + (i + 1) * child_dur)
    ]
    out: list[object] = [None] * count
    o, h, low, c, v = parent  # type: ignore[misc]
    if len(open_idx) == 1:
        out[open_idx[0]] = parent
        return tuple(out)
    rng = tree._rng
    rng.seed(tree._key(inst, level, start))
    spans = [hours.open_ms(start + i * child_dur, start + (i + 1) * child_dur) for i in open_idx]
    steps = tree._steps(inst, parent, spans)  # type: ignore[arg-type]
    points, wick_high, wick_low = tree._path(rng, o, c, h, low, steps)
    volumes = seeded_module._split_int(v, [span * (0.5 + rng.random()) for span in spans])
    for j, i in enumerate(open_idx):
        co, cc = points[j], points[j + 1]
        ch = min(h, max(co, cc) + round(steps[j] * (0.2 + 0.3 * abs(rng.gauss(0.0, 1.0)))))
        cl = max(low, min(co, cc) - round(steps[j] * (0.2 + 0.3 * abs(rng.gauss(0.0, 1.0)))))
        if j == wick_high:
            ch = h
        if j == wick_low:
            cl = low
        out[i] = (co, ch, cl, cc, volumes[j])
    return tuple(out)


@pytest.mark.parametrize("epic", ["BTCUSD", "EURUSD", "GOLD", "AAPL", "DE40", "J225", "COCOA"])
def test_the_flat_split_equals_the_step_by_step_one(epic: str) -> None:
    """Every node of every level over weeks, nights and weekends included: same children, and
    the generator left in the same state (what a later draw would see)."""
    prices = engine_prices(seed=11)
    tree = prices._tree
    inst = TABLE.require(epic)
    reference_rng = seeded_module.SeededTree(TABLE, seed=11, tick_ms=1000)
    compared = 0
    for level in range(len(DURATION_MS) - 1):  # every level that has children
        for index in range(80):  # spread over 16 days: sessions, nights and a weekend
            node_start = tree.align_level(level, WEDNESDAY_NOON - 9 * DAY + index * (DAY // 5))
            parent = tree.node(inst, level, node_start)
            fast = tree._split(inst, level, node_start, parent)
            slow = _reference_split(reference_rng, inst, level, node_start, parent)
            assert fast == slow, (level, node_start)
            if parent is not None and sum(n is not None for n in fast) > 1:
                assert tree._rng.getstate() == reference_rng._rng.getstate()
                assert tree._rng.gauss_next == reference_rng._rng.gauss_next  # type: ignore[attr-defined]
                compared += 1
    assert compared > 100


def test_bar_nodes_are_the_bars_in_price_units() -> None:
    prices = engine_prices()
    now = WEDNESDAY_NOON + 30_500
    for epic, resolution, limit in [
        ("EURUSD", "MINUTE", None),
        ("GOLD", "HOUR", -50),
        ("US500", "MINUTE_5", 7),
    ]:
        inst = TABLE.require(epic)
        bars = prices.bars(epic, resolution, now - 20 * DAY, now, now_ms=now, limit=limit)
        nodes = prices.bar_nodes(epic, resolution, now - 20 * DAY, now, now_ms=now, limit=limit)
        assert [b.start_ms for b in bars] == [start for start, _ in nodes]
        assert bars == [prices._to_bar(inst, start, node) for start, node in nodes]
        assert len(bars) == (abs(limit) if limit else len(bars))
        assert bars


def test_the_price_version_changes_with_every_override_only() -> None:
    prices, other = engine_prices(), engine_prices()
    first = prices.version("SILVER")
    assert prices.version("SILVER") == first == prices.version("GOLD")
    assert other.version("SILVER") != first  # two engines never share a version
    seen = {first}
    for change in (
        lambda: prices.pin("SILVER", WEDNESDAY_NOON, 30_000),
        lambda: prices.set_path(
            "SILVER", [(WEDNESDAY_NOON, 30_000), (WEDNESDAY_NOON + HOUR, 31_000)]
        ),
        lambda: prices.replay_bars("SILVER", [(WEDNESDAY_NOON, 60_000, 1, 2, 1, 2, None)]),
        lambda: prices.release("SILVER", WEDNESDAY_NOON),
    ):
        change()
        assert prices.version("SILVER") not in seen
        seen.add(prices.version("SILVER"))
    assert prices.version("GOLD") == first
