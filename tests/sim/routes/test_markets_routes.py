"""GET /markets, /markets/{epic}, /marketnavigation, /prices, /clientsentiment over HTTP."""

from __future__ import annotations

import time

import httpx

from tests.conftest import SimHandle

from .conftest import WEDNESDAY_NOON


def code(response: httpx.Response) -> tuple[int, str]:
    return response.status_code, response.json()["errorCode"]


def test_market_details_carry_current_and_legacy_names(api: httpx.Client) -> None:
    details = api.get("/markets/SILVER").json()
    instrument, rules, snapshot = (
        details["instrument"],
        details["dealingRules"],
        details["snapshot"],
    )
    assert instrument["guaranteedStopAllowed"] is instrument["controlledRiskAllowed"] is True
    assert instrument["openingHours"]["zone"] == "UTC"
    assert instrument["openingHours"]["sat"] == []
    assert instrument["marginFactorUnit"] == "PERCENTAGE"
    assert set(instrument["overnightFee"]) == {
        "longRate",
        "shortRate",
        "swapChargeTimestamp",
        "swapChargeInterval",
    }
    for current, legacy in [
        ("minGuaranteedStopDistance", "minControlledRiskStopDistance"),
        ("minStopOrProfitDistance", "minNormalStopOrLimitDistance"),
        ("maxStopOrProfitDistance", "maxStopOrLimitDistance"),
    ]:
        assert rules[current] == rules[legacy]
        assert rules[current]["unit"] == "PERCENTAGE"
    assert rules["minDealSize"] == {"unit": "POINTS", "value": 1}
    assert snapshot["marketStatus"] == "TRADEABLE"
    assert snapshot["decimalPlacesFactor"] == 3
    assert round(snapshot["offer"] - snapshot["bid"], 3) == 0.02
    assert snapshot["low"] <= snapshot["bid"] <= snapshot["high"]


def test_unknown_market_and_trailing_slash(api: httpx.Client) -> None:
    assert code(api.get("/markets/INVALID")) == (404, "error.not-found.epic")
    assert api.get("/markets/SILVER/").status_code == 200


def test_search_lists_and_details(api: httpx.Client) -> None:
    found = api.get("/markets", params={"searchTerm": "SiLvEr"}).json()["markets"]
    assert [m["epic"] for m in found] == ["SILVER", "SI", "5CPSG"]
    shares = {m["epic"]: m for m in found}
    assert shares["5CPSG"]["marketStatus"] == "CLOSED"  # Singapore closes at 09:00 UTC
    assert shares["5CPSG"]["marketModes"] == ["VIEW_ONLY"]
    assert shares["SILVER"]["tickSize"] == 0.001
    assert {m["epic"] for m in api.get("/markets?searchTerm=btc").json()["markets"]} == {"BTCUSD"}
    everything = api.get("/markets").json()["markets"]
    assert len(everything) >= 50
    assert {m["instrumentType"] for m in everything} == {
        "CURRENCIES",
        "COMMODITIES",
        "INDICES",
        "SHARES",
        "CRYPTOCURRENCIES",
    }
    details = api.get("/markets?epics=SILVER,NATURALGAS").json()["marketDetails"]
    assert [d["instrument"]["epic"] for d in details] == ["SILVER", "NATURALGAS"]
    assert code(api.get("/markets?searchTerm=")) == (400, "error.null.searchTerm")
    assert code(api.get("/markets?epics=")) == (400, "error.null.epic")
    too_many = ",".join(["SILVER"] * 51)
    assert code(api.get(f"/markets?epics={too_many}"))[0] == 400


def test_navigation(api: httpx.Client) -> None:
    root = api.get("/marketnavigation").json()["nodes"]
    assert {"id": "hierarchy_v1.commodities_group", "name": "commodities_group"} in root
    commons = api.get("/marketnavigation/hierarchy_v1.commons_group").json()
    assert commons["nodes"][0] == {"id": "hierarchy_v1.commons.most_traded", "name": "Most Traded"}
    leaf = api.get("/marketnavigation/hierarchy_v1.commodities?limit=2").json()
    assert leaf["nodes"] == []
    assert [m["epic"] for m in leaf["markets"]] == ["NATURALGAS", "SILVER"]
    assert code(api.get("/marketnavigation/hierarchy_v1.commodities?limit=0")) == (
        400,
        "error.invalid.limit",
    )
    assert code(api.get("/marketnavigation/hierarchy_v1.commodities?limit=x"))[0] == 400
    assert api.get("/marketnavigation/nope").status_code == 404


def test_sentiment(api: httpx.Client) -> None:
    both = api.get("/clientsentiment/?marketIds=SILVER,NATURALGAS").json()["clientSentiments"]
    assert [s["marketId"] for s in both] == ["SILVER", "NATURALGAS"]
    for item in both:
        assert round(item["longPositionPercentage"] + item["shortPositionPercentage"], 2) == 100
    one = api.get("/clientsentiment/SILVER").json()
    assert one == both[0]
    assert code(api.get("/clientsentiment?marketIds=NOTFOUND")) == (404, "error.not-found.epic")
    assert code(api.get("/clientsentiment/NOTFOUND")) == (404, "error.not-found.epic")


def test_prices_default_and_from(api: httpx.Client) -> None:
    default = api.get("/prices/SILVER").json()
    assert default["instrumentType"] == "COMMODITIES"
    bars = default["prices"]
    assert len(bars) == 10
    assert bars[-1]["snapshotTimeUTC"] == "2026-11-25T12:00:00"  # the bar in progress
    assert bars[-1]["snapshotTime"] == "2026-11-25T15:00:00"  # timezoneOffset 3
    assert set(bars[0]) == {
        "snapshotTime",
        "snapshotTimeUTC",
        "openPrice",
        "closePrice",
        "highPrice",
        "lowPrice",
        "lastTradedVolume",
    }
    quarter = api.get("/prices/SILVER?resolution=MINUTE_15&max=4&from=2026-11-24T00:00:00").json()[
        "prices"
    ]
    assert [b["snapshotTimeUTC"][11:16] for b in quarter] == ["00:00", "00:15", "00:30", "00:45"]
    hour = api.get(
        "/prices/SILVER?resolution=HOUR&from=2026-11-24T10:00:00&to=2026-11-24T10:00:00"
    ).json()["prices"][0]
    minutes = api.get(
        "/prices/SILVER?resolution=MINUTE&max=60&from=2026-11-24T10:00:00&to=2026-11-24T10:59:00"
    ).json()["prices"]
    assert hour["highPrice"] == {
        "bid": max(m["highPrice"]["bid"] for m in minutes),
        "ask": max(m["highPrice"]["ask"] for m in minutes),
    }
    assert hour["lastTradedVolume"] == sum(m["lastTradedVolume"] for m in minutes)


def test_prices_errors(api: httpx.Client) -> None:
    cases = {
        "/prices/SILVER?resolution=MINUTE_3": (400, "error.invalid.resolution"),
        "/prices/SILVER?max=1001": (400, "error.invalid.max"),
        "/prices/SILVER?max=0": (400, "error.invalid.max"),
        "/prices/SILVER?from=2022-01-17": (400, "error.invalid.from"),
        "/prices/SILVER?from=2026-11-24T00:00:00Z": (400, "error.invalid.from"),
        "/prices/SILVER?to=1764000000000": (400, "error.invalid.to"),
        "/prices/SILVER?to=2026-11-26T00:00:00": (400, "error.invalid.daterange"),
        "/prices/SILVER?from=2026-11-24T02:00:00&to=2026-11-24T01:00:00": (
            400,
            "error.invalid.daterange",
        ),
        # 1000 periods = 1001 slots > max
        "/prices/SILVER?max=1000&from=2026-11-23T00:00:00&to=2026-11-23T16:40:00": (
            400,
            "error.invalid.max.daterange",
        ),
        # Saturday: SILVER is closed
        "/prices/SILVER?resolution=HOUR&max=20&from=2026-11-21T02:00:00&to=2026-11-21T12:00:00": (
            404,
            "error.prices.not-found",
        ),
        "/prices/NOPE": (404, "error.not-found.epic"),
    }
    for url, expected in cases.items():
        assert code(api.get(url)) == expected, url
    ok = api.get("/prices/SILVER?max=1000&from=2026-11-23T00:00:00&to=2026-11-23T16:39:00")
    assert len(ok.json()["prices"]) == 1000


def test_prices_follow_the_clock(sim: SimHandle, api: httpx.Client) -> None:
    sim.state.move_clock(advance_seconds=300)  # within the 10-minute session idle limit
    bars = api.get("/prices/SILVER").json()["prices"]
    assert bars[-1]["snapshotTimeUTC"] == "2026-11-25T12:05:00"
    assert sim.state.clock.now_ms() == WEDNESDAY_NOON + 300_000
    snapshot = api.get("/markets/SILVER").json()["snapshot"]
    assert snapshot["bid"] == bars[-1]["closePrice"]["bid"]


def test_a_thousand_old_bars_over_http(api: httpx.Client) -> None:
    began = time.perf_counter()
    response = api.get("/prices/BTCUSD?resolution=MINUTE_5&max=1000&from=2024-11-20T00:00:00")
    elapsed = time.perf_counter() - began
    bars = response.json()["prices"]
    assert len(bars) == 1000
    assert bars[0]["snapshotTimeUTC"] == "2024-11-20T00:00:00"
    assert bars[-1]["snapshotTimeUTC"] == "2024-11-23T11:15:00"
    assert elapsed < 2.0


def test_recently_traded_and_dynamic_leaves(api: httpx.Client) -> None:
    leaf = "/marketnavigation/hierarchy_v1.commons.recently_traded"
    assert api.get(leaf).json() == {"nodes": [], "markets": []}
    api.post("/positions", json={"epic": "GOLD", "direction": "BUY", "size": 1})
    assert [m["epic"] for m in api.get(leaf).json()["markets"]] == ["GOLD"]
    risers = api.get("/marketnavigation/hierarchy_v1.commons.top_gainers").json()["markets"]
    fallers = api.get("/marketnavigation/hierarchy_v1.commons.top_losers").json()["markets"]
    changes = [m.get("percentageChange", 0) for m in risers]
    assert changes == sorted(changes, reverse=True)
    assert risers[0]["epic"] != fallers[0]["epic"]
    weekend = api.get("/marketnavigation/hierarchy_v1.commons.weekend_trading").json()
    assert {m["instrumentType"] for m in weekend["markets"]} == {"CRYPTOCURRENCIES"}
