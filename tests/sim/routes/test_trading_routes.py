"""Positions, working orders, confirms, accounts, history and watchlists over HTTP."""

from __future__ import annotations

from typing import Any

import httpx

from capitalcom_sdk.models.history import ActivityHistory
from tests.conftest import SimHandle


def code(response: httpx.Response) -> tuple[int, str]:
    return response.status_code, response.json()["errorCode"]


def open_silver(api: httpx.Client, **body: Any) -> dict[str, Any]:
    response = api.post(
        "/positions", json={"epic": "SILVER", "direction": "BUY", "size": 1, **body}
    )
    assert response.status_code == 200, response.text
    reference = response.json()["dealReference"]
    assert reference.startswith("o_")
    confirm: dict[str, Any] = api.get(f"/confirms/{reference}").json()
    return confirm


def test_position_lifecycle(sim: SimHandle, api: httpx.Client) -> None:
    sim.state.engine.set_price("SILVER", mid=25.0)
    confirm = open_silver(api, stopLevel=None, profitDistance=1, guaranteedStop=None)
    assert (confirm["dealStatus"], confirm["status"], confirm["reason"]) == (
        "ACCEPTED",
        "OPEN",
        "SUCCESS",
    )
    assert confirm["level"] == 25.01
    deal_id = confirm["affectedDeals"][0]["dealId"]
    [item] = api.get("/positions").json()["positions"]
    position = item["position"]
    assert position["dealReference"] == "p_" + deal_id
    assert position["workingOrderId"] == confirm["dealId"]
    assert position["createdDateUTC"] == "2026-11-25T12:00:00.000"
    assert position["createdDate"] == "2026-11-25T15:00:00.000"
    assert position["profitLevel"] == 25.99
    assert item["market"]["epic"] == "SILVER"
    assert api.get(f"/positions/{deal_id}").json()["position"]["dealId"] == deal_id
    assert code(api.put(f"/positions/{deal_id}", json={"stopLevel": 1000})) == (
        400,
        "error.invalid.stoploss.maxvalue: 24.987",
    )
    assert code(api.put(f"/positions/{deal_id}", json={"profitLevel": 1})) == (
        400,
        "error.invalid.takeprofit.minvalue: 24.993",
    )
    amended = api.put(f"/positions/{deal_id}", json={"stopDistance": 1}).json()
    assert amended == {"dealReference": "p_" + deal_id}
    assert api.get(f"/confirms/p_{deal_id}").json()["status"] == "AMENDED"
    closed = api.delete(f"/positions/{deal_id}").json()
    assert closed == {"dealReference": "p_" + deal_id}
    closing = api.get(f"/confirms/p_{deal_id}").json()
    assert (closing["status"], closing["affectedDeals"][0]["status"]) == ("CLOSED", "FULLY_CLOSED")
    assert api.get("/positions").json() == {"positions": []}
    for method in ("GET", "PUT", "DELETE"):
        response = api.request(
            method, f"/positions/{deal_id}", json={} if method == "PUT" else None
        )
        assert code(response) == (404, "error.not-found.dealId")
    assert code(api.get("/confirms/o_nope")) == (404, "error.not-found.dealReference")


def test_rejection_confirm_names_the_reason(api: httpx.Client) -> None:
    reference = api.post("/positions", json={"epic": "AAPL", "direction": "BUY", "size": 1}).json()
    confirm = api.get(f"/confirms/{reference['dealReference']}").json()
    assert (confirm["dealStatus"], confirm["reason"], confirm["rejectReason"]) == (
        "REJECTED",
        "MARKET_CLOSED",
        "MARKET_CLOSED",
    )
    assert confirm["affectedDeals"] == []


def test_working_order_lifecycle(sim: SimHandle, api: httpx.Client) -> None:
    sim.state.engine.set_price("SILVER", mid=25.0)
    body = {
        "epic": "SILVER",
        "direction": "BUY",
        "size": 1,
        "level": 20,
        "type": "LIMIT",
        "goodTillDate": "2026-12-09T01:01:00",
        "guaranteedStop": True,
        "stopLevel": 17,
        "profitLevel": 23,
    }
    created = api.post("/workingorders", json=body).json()["dealReference"]
    assert created.startswith("o_")
    [item] = api.get("/workingorders").json()["workingOrders"]
    data = item["workingOrderData"]
    assert (data["stopDistance"], data["profitDistance"]) == (-3, 3)
    assert (data["timeInForce"], data["goodTillDateUTC"], data["goodTillDate"]) == (
        "GOOD_TILL_DATE",
        "2026-12-09T01:01:00.000",
        "2026-12-09T04:01:00.000",
    )
    assert (data["orderType"], data["orderLevel"], data["orderSize"]) == ("LIMIT", 20, 1)
    assert item["marketData"]["epic"] == "SILVER"
    deal_id = data["dealId"]
    past = {**body, "goodTillDate": "2020-06-09T01:01:00"}
    assert code(api.post("/workingorders", json=past)) == (400, "error.not-in-future.goodTillDate")
    zulu = {**body, "goodTillDate": "2026-12-09T01:01:00Z"}
    assert code(api.post("/workingorders", json=zulu))[0] == 400
    amend = api.put(
        f"/workingorders/{deal_id}", json={"timeInForce": "GOOD_TILL_CANCELLED", "level": 21}
    ).json()["dealReference"]
    assert amend.startswith("o_")
    assert amend != created
    data = api.get("/workingorders").json()["workingOrders"][0]["workingOrderData"]
    assert (data["timeInForce"], data["orderLevel"]) == ("GOOD_TILL_CANCELLED", 21)
    assert "goodTillDate" not in data
    deleted = api.delete(f"/workingorders/{deal_id}").json()["dealReference"]
    assert api.get(f"/confirms/{deleted}").json()["status"] == "DELETED"
    assert code(api.delete(f"/workingorders/{deal_id}")) == (404, "error.not-found.dealId")
    assert code(api.put(f"/workingorders/{deal_id}", json={})) == (404, "error.not-found.dealId")


def test_accounts_preferences_and_top_up(api: httpx.Client) -> None:
    accounts = api.get("/accounts").json()["accounts"]
    assert [a["currency"] for a in accounts] == ["USD", "EUR"]
    assert accounts[1]["symbol"] == "€"
    assert accounts[0]["balance"] == {
        "balance": 10000.0,
        "deposit": 10000.0,
        "profitLoss": 0.0,
        "available": 10000.0,
    }
    prefs = api.get("/accounts/preferences").json()
    assert prefs["hedgingMode"] is False
    assert prefs["leverages"]["SHARES"] == {"current": 5, "available": [1, 2, 3, 5]}
    assert api.put(
        "/accounts/preferences", json={"leverages": {"SHARES": 2}, "hedgingMode": True}
    ).json() == {"status": "SUCCESS"}
    prefs = api.get("/accounts/preferences").json()
    assert (prefs["hedgingMode"], prefs["leverages"]["SHARES"]["current"]) == (True, 2)
    assert code(api.put("/accounts/preferences", json={"leverages": {"INDICES": 600}})) == (
        400,
        "error.invalid.leverage.value",
    )
    assert api.post("/accounts/topUp", json={"amount": 1000}).json() == {"successful": True}
    assert api.get("/accounts").json()["accounts"][0]["balance"]["deposit"] == 11000.0
    assert code(api.post("/accounts/topUp", json={"amount": 500_000})) == (
        400,
        "error.invalid.amount",
    )
    assert code(api.post("/accounts/topUp", json={})) == (400, "error.null.amount")
    transactions = api.get("/history/transactions?type=DEPOSIT").json()["transactions"]
    assert [(t["transactionType"], t["size"]) for t in transactions] == [("DEPOSIT", "1000.0")]
    assert "instrumentName" not in transactions[0]
    assert transactions[0]["dateUtc"] == "2026-11-25T12:00:00.000"


def test_activity_history_filters(sim: SimHandle, api: httpx.Client) -> None:
    sim.state.engine.set_price("SILVER", mid=25.0)
    deal_id = open_silver(api)["affectedDeals"][0]["dealId"]
    api.delete(f"/positions/{deal_id}")
    api.post("/positions", json={"epic": "AAPL", "direction": "BUY", "size": 1})  # rejected
    sim.state.move_clock(advance_seconds=5)
    everything = api.get("/history/activity").json()["activities"]
    assert [(a["type"], a["source"], a["status"]) for a in everything] == [
        ("POSITION", "USER", "REJECTED"),
        ("POSITION", "USER", "ACCEPTED"),  # the close
        ("POSITION", "USER", "ACCEPTED"),  # the open, then its market order's records (#13.3)
        ("WORKING_ORDER", "SYSTEM", "ACCEPTED"),
        ("WORKING_ORDER", "USER", "ACCEPTED"),
    ]
    assert "details" not in everything[0]
    detailed = api.get(f"/history/activity?detailed=true&dealId={deal_id}").json()["activities"]
    assert [a["details"]["direction"] for a in detailed] == ["SELL", "BUY"]
    assert {a["dealId"] for a in detailed} == {deal_id}
    fiql = "source!=DEALER;status==REJECTED;epic==OIL_CRUDE,AAPL"
    rejected = api.get("/history/activity", params={"filter": fiql}).json()["activities"]
    assert [a["epic"] for a in rejected] == ["AAPL"]
    window = api.get("/history/activity?from=2026-11-25T11:59:00&to=2026-11-25T12:00:00").json()[
        "activities"
    ]
    assert len(window) == 5
    assert api.get("/history/activity?from=2026-11-25T11:00:00&to=2026-11-25T11:59:00").json() == {
        "activities": []
    }
    errors = {
        "/history/activity?lastPeriod=172800": (400, "error.invalid.lastPeriod"),
        "/history/activity?from=2022-01-17": (400, "error.invalid.from"),
        "/history/activity?from=2026-11-20T00:00:00&to=2026-11-25T00:00:00": (
            400,
            "error.invalid.daterange",
        ),
        "/history/activity?filter=colour==red": (400, "error.invalid.filter"),
        "/history/activity?filter=status==MAYBE": (400, "error.invalid.filter"),
        "/history/activity?detailed=yes": (400, "error.invalid.detailed"),
        "/history/transactions?type=LOTTERY": (400, "error.invalid.type"),
        "/history/transactions?lastPeriod=86401": (400, "error.invalid.lastPeriod"),
    }
    for url, expected in errors.items():
        assert code(api.get(url)) == expected, url
    trades = api.get("/history/transactions?type=TRADE").json()["transactions"]
    assert [(t["instrumentName"], t["note"]) for t in trades] == [("Silver", "Trade closed")]


def test_watchlist_rules(api: httpx.Client) -> None:
    assert api.get("/watchlists").json() == {"watchlists": []}
    created = api.post("/watchlists", json={"name": "Lorem", "epics": ["SILVER", "NATURALGAS"]})
    assert created.json()["status"] == "SUCCESS"
    watchlist_id = created.json()["watchlistId"]
    partial = api.post("/watchlists", json={"name": "x", "epics": ["SILVER", "NOTFOUND"]}).json()
    assert partial["status"] == "SUCCESS_NOT_ALL_INSTRUMENTS_ADDED"
    assert code(api.post("/watchlists", json={"name": "a" * 21})) == (
        400,
        "error.size.createwatchlistrequest.name",
    )
    assert code(api.post("/watchlists", json={"name": ""}))[0] == 400
    listing = api.get("/watchlists").json()["watchlists"]
    assert listing[0] == {
        "id": watchlist_id,
        "name": "Lorem",
        "editable": True,
        "deleteable": True,
        "defaultSystemWatchlist": False,
    }
    markets = api.get(f"/watchlists/{watchlist_id}").json()["markets"]
    assert [m["epic"] for m in markets] == ["SILVER", "NATURALGAS"]
    assert api.put(f"/watchlists/{watchlist_id}", json={"epic": "GOLD"}).json() == {
        "status": "SUCCESS"
    }
    assert code(api.put(f"/watchlists/{watchlist_id}", json={"epic": "NOTFOUND"})) == (
        404,
        "error.not-found.epic",
    )
    assert api.delete(f"/watchlists/{watchlist_id}/GOLD").json() == {"status": "SUCCESS"}
    assert code(api.delete(f"/watchlists/{watchlist_id}/GOLD")) == (404, "error.not-found.epic")
    assert code(api.get("/watchlists/00001")) == (404, "error.invalid.watchlist")
    assert code(api.delete("/watchlists/123450")) == (404, "error.not-found.watchlist")
    assert api.delete(f"/watchlists/{watchlist_id}").json() == {"status": "SUCCESS"}
    assert len(api.get("/watchlists").json()["watchlists"]) == 1


def test_stop_order_on_the_wrong_side_is_a_400_and_a_fill_is_typed_in_the_sdk(
    sim: SimHandle, api: httpx.Client
) -> None:
    sim.state.engine.set_price("SILVER", mid=25.0)
    wrong = {"epic": "SILVER", "direction": "BUY", "size": 1, "level": 24.0, "type": "STOP"}
    response = api.post("/workingorders", json=wrong)
    assert (response.status_code, response.json()) == (
        400,
        {"errorCode": "error.validation.stop.price"},
    )
    limit = {**wrong, "type": "LIMIT"}
    reference = api.post("/workingorders", json=limit).json()["dealReference"]
    order_id = api.get(f"/confirms/{reference}").json()["dealId"]
    sim.state.engine.set_price("SILVER", mid=23.5)
    sim.state.move_clock(advance_seconds=2)
    [item] = api.get("/positions").json()["positions"]
    position_id = item["position"]["dealId"]
    body = api.get(f"/history/activity?detailed=true&dealId={position_id}").content
    [fill] = ActivityHistory.model_validate_json(body).activities
    assert fill.source == "USER"
    assert fill.details is not None
    assert fill.details.working_order_id == order_id
