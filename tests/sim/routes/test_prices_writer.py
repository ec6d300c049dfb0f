"""GET /prices answers written straight from the engine's nodes (BarWriter): the same bytes as
json.dumps of the readable shape, and closed bars kept only while they stay what they were."""

from __future__ import annotations

import json

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from capitalcom_sim.engine.instruments import InstrumentTable
from capitalcom_sim.engine.prices import DURATION_MS, PriceEngine
from capitalcom_sim.routes.prices import _EXACT, BarWriter, bar_json
from tests.conftest import SimHandle

from .conftest import WEDNESDAY_NOON

MINUTE = 60_000
TABLE = InstrumentTable.default()


def _reference(
    prices: PriceEngine, epic: str, resolution: str, start: int, end: int, now: int, offset: float
) -> bytes:
    inst = TABLE.require(epic)
    bars = prices.bars(epic, resolution, start, end, now_ms=now)
    payload = {"prices": [bar_json(b, offset) for b in bars], "instrumentType": inst.type}
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


@pytest.mark.parametrize("offset", [0.0, 3.0, -5.0, 5.5, -9.75])
@pytest.mark.parametrize(
    ("epic", "resolution", "days"),
    [
        ("EURUSD", "MINUTE", 2),  # 5 decimals, a night
        ("USDJPY", "MINUTE_15", 9),  # 3 decimals, a weekend
        ("GOLD", "HOUR", 30),
        ("DOGEUSD", "MINUTE_5", 3),  # small prices, 5 decimals
        ("COCOA", "DAY", 400),  # 1 decimal
        ("DE40", "WEEK", 900),
    ],
)
def test_written_answers_equal_json_of_the_readable_shape(
    epic: str, resolution: str, days: int, offset: float
) -> None:
    prices = PriceEngine(TABLE, seed=3)
    writer = BarWriter()
    now = WEDNESDAY_NOON + 17_250  # a bar in progress at the end
    start = now - days * 86_400_000
    expected = _reference(prices, epic, resolution, start, now, now, offset)
    for _ in range(2):  # written, then read back from what was kept
        nodes = prices.bar_nodes(epic, resolution, start, now, now_ms=now)
        body = writer.body(
            TABLE.require(epic),
            resolution,
            nodes,
            offset_hours=offset,
            closed_before=now,
            version=prices.version(epic),
        )
        assert body == expected
    assert len(json.loads(body)["prices"]) > 5


@pytest.mark.parametrize("resolution", ["MINUTE", "MINUTE_5", "HOUR"])
def test_written_answers_with_replayed_spreads_equal_the_readable_shape(resolution: str) -> None:
    prices = PriceEngine(TABLE, seed=3)
    inst = TABLE.require("EURUSD")
    now = WEDNESDAY_NOON + 17_250  # a bar in progress at the end (seeded after the replay)
    start = WEDNESDAY_NOON - 3 * 3_600_000
    bars = [
        (start + i * MINUTE, MINUTE, 108_000 + i, 108_020 + i, 107_990 + i, 108_010 + i, 5)
        for i in range(150)
    ]
    spreads: list[int | None] = [None if i % 4 == 0 else 1 + i % 9 for i in range(150)]
    prices.replay_bars("EURUSD", bars, spreads)
    expected = _reference(prices, "EURUSD", resolution, start, now, now, 0.0)
    writer = BarWriter()
    for _ in range(2):  # written, then read back from what was kept
        nodes = prices.bar_nodes("EURUSD", resolution, start, now, now_ms=now)
        body = writer.body(
            inst,
            resolution,
            nodes,
            offset_hours=0.0,
            closed_before=now,
            version=prices.version("EURUSD"),
            spread_of=lambda s: prices.bar_spread("EURUSD", resolution, s, now_ms=now),
        )
        assert body == expected
    answer = json.loads(body)["prices"]
    widths = {round(b["closePrice"]["ask"] - b["closePrice"]["bid"], 5) for b in answer}
    assert len(widths) > (1 if resolution == "HOUR" else 2)  # the bars' own, not one
    if resolution == "MINUTE":
        first = answer[0]["closePrice"]
        assert round(first["ask"] - first["bid"], 5) == inst.spread  # bar 0: no spread of its own
        second = answer[1]["closePrice"]
        assert round(second["ask"] - second["bid"], 5) == 0.00002  # bar 1: 2 units


def test_only_closed_bars_are_kept_and_the_limit_holds() -> None:
    prices = PriceEngine(TABLE, seed=3)
    writer = BarWriter(limit=50)
    inst = TABLE.require("BTCUSD")
    now = WEDNESDAY_NOON + 30_000
    nodes = prices.bar_nodes("BTCUSD", "MINUTE", now - 30_000 - 40 * MINUTE, now, now_ms=now)
    assert len(nodes) == 41  # 40 closed and the one in progress
    writer.body(inst, "MINUTE", nodes, offset_hours=0, closed_before=now, version=1)
    assert writer._count == 40
    more = prices.bar_nodes("BTCUSD", "MINUTE", now - 80 * MINUTE, now - 41 * MINUTE, now_ms=now)
    writer.body(inst, "MINUTE", more, offset_hours=0, closed_before=now, version=1)
    assert writer._count <= 50


def _closes(api: httpx.Client, epic: str, **params: object) -> list[float]:
    response = api.get(f"/prices/{epic}", params={"resolution": "MINUTE", **params})
    assert response.status_code == 200, response.text
    return [bar["closePrice"]["bid"] for bar in response.json()["prices"]]


def test_kept_bars_follow_overrides_and_spread_changes(sim: SimHandle, api: httpx.Client) -> None:
    """Over loopback: the same closed bars asked for again after a replay, a pin, a new spread
    or a release are the new ones, never the kept text."""
    engine = sim.state.engine
    start = WEDNESDAY_NOON - 30 * MINUTE
    window = {"from": _iso(start), "to": _iso(start + 9 * MINUTE), "max": 10}
    seeded = _closes(api, "SILVER", **window)
    assert _closes(api, "SILVER", **window) == seeded  # asked again: the same
    rows = ["time,open,high,low,close"]
    rows += [f"{start + i * MINUTE},20.5,21,20,20.5" for i in range(10)]
    engine.replay_bars("SILVER", "\n".join(rows))
    replayed = _closes(api, "SILVER", **window)
    assert replayed != seeded
    assert len(set(replayed)) == 1
    engine.set_price("SILVER", bid=30.0, offer=30.5)  # a new spread, pinned from now on
    wider = _closes(api, "SILVER", **window)
    assert wider != replayed  # the same mids, bid = mid - a quarter more of spread
    assert wider == _closes(api, "SILVER", **window)
    engine.release("SILVER")
    released = api.get("/prices/SILVER", params={"resolution": "MINUTE", **window}).json()
    assert released["prices"][0]["snapshotTimeUTC"] == _iso(start)


def _iso(ms: int) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S")


def test_durations_cover_every_resolution() -> None:
    from capitalcom_sim.engine.types import RESOLUTIONS

    assert set(DURATION_MS) == set(RESOLUTIONS)


@given(st.integers(min_value=-_EXACT + 1, max_value=_EXACT - 1), st.integers(0, 8))
def test_below_the_exact_bound_round_gives_the_quotient_back(units: int, decimals: int) -> None:
    """Why the writer may skip round(): the engine's _to_bar rounds, the writer does not."""
    value = units / 10**decimals
    assert round(value, decimals) == value
    assert repr(round(value, decimals)) == repr(value)
