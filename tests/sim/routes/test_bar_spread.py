"""A replayed bar's own spread (the ``spread`` column of POST /_sim/bars), over real loopback
sockets: quoted in GET /prices and GET /markets, paid by market orders, seen by stops."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from tests.conftest import SimHandle

from .conftest import WEDNESDAY_NOON

MINUTE = 60_000
GOLD_SPREAD = 0.3  # the instrument's own (capitalcom_sim/engine/instruments.py)


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S")


def _replay(sim: SimHandle, rows: list[str]) -> None:
    text = "time,open,high,low,close,volume,spread\n" + "\n".join(rows) + "\n"
    response = httpx.post(f"{sim.base_url}/_sim/bars/GOLD", content=text, timeout=10)
    assert response.status_code == 200, response.text
    assert response.json() == {"bars": len(rows)}


def _advance(sim: SimHandle, seconds: float) -> None:
    response = httpx.post(f"{sim.base_url}/_sim/clock", json={"advance": seconds}, timeout=10)
    assert response.status_code == 200, response.text


def _quote(api: httpx.Client) -> tuple[float, float]:
    snapshot = api.get("/markets/GOLD").json()["snapshot"]
    return snapshot["bid"], snapshot["offer"]


def test_prices_quote_each_replayed_bar_with_its_own_spread(
    sim: SimHandle, api: httpx.Client
) -> None:
    start = WEDNESDAY_NOON - 10 * MINUTE
    spreads = ["", "1.0", "2.5", "", "0.6", "0.374"]  # blank: the instrument's spread
    rows = [
        f"{start + i * MINUTE},{2000 + i},{2003 + i},{1998 + i},{2001 + i},{10 + i},{s}"
        for i, s in enumerate(spreads)
    ]
    _replay(sim, rows)
    answer = api.get(
        "/prices/GOLD",
        params={"resolution": "MINUTE", "from": _iso(start), "to": _iso(start + 5 * MINUTE)},
    )
    assert answer.status_code == 200, answer.text
    bars = answer.json()["prices"]
    assert len(bars) == 6
    expected = [GOLD_SPREAD, 1.0, 2.5, GOLD_SPREAD, 0.6, 0.37]  # on GOLD's 0.01 grid
    for bar, spread, i in zip(bars, expected, range(6), strict=True):
        for field in ("openPrice", "highPrice", "lowPrice", "closePrice"):
            side = bar[field]
            assert round(side["ask"] - side["bid"], 2) == spread, (i, field, side)
        mid = (bar["closePrice"]["bid"] + bar["closePrice"]["ask"]) / 2
        assert mid == pytest.approx(2001 + i, abs=0.01)  # the mid is the replayed close
    # A coarser bar carries the spread of its close (11:54: 0.6).
    five = api.get(
        "/prices/GOLD",
        params={"resolution": "MINUTE_5", "from": _iso(start), "to": _iso(start)},
    ).json()["prices"]
    assert len(five) == 1
    assert round(five[0]["closePrice"]["ask"] - five[0]["closePrice"]["bid"], 2) == 0.6
    # After the replay the seeded process is quoted with the instrument's spread again.
    bid, offer = _quote(api)
    assert round(offer - bid, 2) == GOLD_SPREAD


def test_orders_fill_at_the_bar_spread_and_stops_see_it_widen(
    sim: SimHandle, api: httpx.Client
) -> None:
    # A flat mid of 2000: only the spread moves.
    spreads = ["", "3.0", "0.5", "8.0", ""]
    rows = [
        f"{WEDNESDAY_NOON + i * MINUTE},2000,2000,2000,2000,5,{s}" for i, s in enumerate(spreads)
    ]
    _replay(sim, rows)
    assert _quote(api) == (1999.85, 2000.15)  # the instrument's 0.3

    _advance(sim, 70)  # 12:01:10, the 3.0 bar
    assert _quote(api) == (1998.5, 2001.5)
    wide = api.post("/positions", json={"epic": "GOLD", "direction": "BUY", "size": 1})
    assert wide.status_code == 200, wide.text
    confirm = api.get(f"/confirms/{wide.json()['dealReference']}").json()
    assert (confirm["dealStatus"], confirm["level"]) == ("ACCEPTED", 2001.5)

    _advance(sim, 60)  # 12:02:10, the 0.5 bar
    assert _quote(api) == (1999.75, 2000.25)
    stopped = api.post(
        "/positions",
        json={"epic": "GOLD", "direction": "BUY", "size": 1, "stopLevel": 1996.5},
    )
    assert stopped.status_code == 200, stopped.text
    confirm = api.get(f"/confirms/{stopped.json()['dealReference']}").json()
    assert (confirm["dealStatus"], confirm["level"]) == ("ACCEPTED", 2000.25)
    stopped_id = confirm["affectedDeals"][0]["dealId"]

    _advance(sim, 60)  # 12:03:10: the 8.0 bar's bid (1996.0) is below the stop, the mid is not
    assert _quote(api) == (1996.0, 2004.0)
    open_ids = [p["position"]["dealId"] for p in api.get("/positions").json()["positions"]]
    assert stopped_id not in open_ids
    assert len(open_ids) == 1  # the position without a stop is still open
    activities = api.get("/history/activity", params={"detailed": "true"}).json()["activities"]
    [close] = [a for a in activities if a["dealId"] == stopped_id and a["source"] == "SL"]
    # Closed where the 8.0 bar starts (12:03:00), at its bid: 2000 - 4.0.
    assert (close["dateUTC"], close["details"]["level"]) == ("2026-11-25T12:03:00.000", 1996.0)

    _advance(sim, 60)  # 12:04:10, a bar without a spread: the instrument's again
    assert _quote(api) == (1999.85, 2000.15)


@pytest.mark.parametrize("cell", ["-0.1", "wide", "nan"])
def test_a_bad_spread_is_refused(sim: SimHandle, cell: str) -> None:
    text = f"time,open,high,low,close,spread\n{WEDNESDAY_NOON},2000,2001,1999,2000,{cell}\n"
    response = httpx.post(f"{sim.base_url}/_sim/bars/GOLD", content=text, timeout=10)
    assert response.status_code == 400, response.text


def test_working_orders_and_trailing_stops_see_the_spread_widen(
    sim: SimHandle, api: httpx.Client
) -> None:
    spreads = ["", "0.5", "8.0", ""]
    rows = [
        f"{WEDNESDAY_NOON + i * MINUTE},2000,2000,2000,2000,5,{s}" for i, s in enumerate(spreads)
    ]
    _replay(sim, rows)
    _advance(sim, 70)  # 12:01:10, the 0.5 bar: bid 1999.75, offer 2000.25
    order = api.post(
        "/workingorders",
        json={"epic": "GOLD", "direction": "BUY", "size": 1, "level": 2003.0, "type": "STOP"},
    )
    assert order.status_code == 200, order.text
    trailing = api.post(
        "/positions",
        json={
            "epic": "GOLD",
            "direction": "BUY",
            "size": 1,
            "trailingStop": True,
            "stopDistance": 3.0,
        },
    )
    assert trailing.status_code == 200, trailing.text
    trailing_id = api.get(f"/confirms/{trailing.json()['dealReference']}").json()["affectedDeals"][
        0
    ]["dealId"]

    _advance(sim, 60)  # 12:02:10: the 8.0 bar, offer 2004 >= 2003, bid 1996 <= 1999.75 - 3
    activities = api.get("/history/activity", params={"detailed": "true"}).json()["activities"]
    [stopped] = [a for a in activities if a["dealId"] == trailing_id and a["source"] == "SL"]
    assert (stopped["dateUTC"], stopped["details"]["level"]) == ("2026-11-25T12:02:00.000", 1996.0)
    assert api.get("/workingorders").json()["workingOrders"] == []
    [position] = api.get("/positions").json()["positions"]
    # Filled where the 8.0 bar starts, at its offer.
    assert position["position"]["level"] == 2004.0
    assert position["position"]["createdDateUTC"].startswith("2026-11-25T12:02:00")
