"""``capitalcom positions/orders/accounts/history/watchlists ...`` against the simulator."""

from __future__ import annotations

import csv
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from tests.sdk.cli.conftest import Cli


def _price(cli: Cli, epic: str) -> dict[str, Any]:
    snapshot: dict[str, Any] = cli.json("markets", "show", epic)["snapshot"]
    return snapshot


def test_position_lifecycle_open_list_update_close(cli: Cli) -> None:
    offer = _price(cli, "GOLD")["offer"]
    opened = cli.json(
        "positions",
        "open",
        "GOLD",
        "BUY",
        "1",
        "--stop-distance",
        str(round(offer * 0.02, 2)),
        "--profit-distance",
        str(round(offer * 0.02, 2)),
    )
    assert opened["dealStatus"] == "ACCEPTED"
    deal_id = next(d["dealId"] for d in opened["affectedDeals"] if d["status"] == "OPENED")

    listed = cli.json("positions", "list")
    mine = [p for p in listed["positions"] if p["position"]["dealId"] == deal_id]
    assert len(mine) == 1
    assert mine[0]["position"]["stopLevel"] < offer < mine[0]["position"]["profitLevel"]
    table = cli("positions", "list")
    assert table.exit_code == 0
    assert deal_id in table.stdout
    assert "P&L" in table.stdout

    shown = cli.json("positions", "show", deal_id)
    assert shown["position"]["dealId"] == deal_id

    new_stop = round(offer * 0.95, 2)
    updated = cli.json("positions", "update", deal_id, "--stop-level", str(new_stop))
    assert updated["dealStatus"] == "ACCEPTED"
    assert cli.json("positions", "show", deal_id)["position"]["stopLevel"] == new_stop

    closed = cli.json("positions", "close", deal_id)
    assert closed["dealStatus"] == "ACCEPTED"
    remaining = cli.json("positions", "list")["positions"]
    assert deal_id not in [p["position"]["dealId"] for p in remaining]


def test_positions_list_exports_csv(cli: Cli) -> None:
    opened = cli.json("positions", "open", "EURUSD", "SELL", "1000")
    deal_id = next(d["dealId"] for d in opened["affectedDeals"] if d["status"] == "OPENED")
    path = cli.workdir / "positions.csv"
    cli.json("positions", "list", "--csv", str(path))
    with path.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert deal_id in [r["deal_id"] for r in rows]
    cli.json("positions", "close", deal_id)


def test_open_with_invalid_size_exits_5_and_sends_nothing(cli: Cli) -> None:
    outcome = cli("positions", "open", "GOLD", "BUY", "0", "--json")
    assert outcome.exit_code == 5
    assert outcome.error["field"] == "size"


def test_close_unknown_position_exits_4(cli: Cli) -> None:
    outcome = cli("positions", "close", "00000000-0000-0000-0000-000000000000", "--json")
    assert outcome.exit_code == 4


def test_no_wait_prints_the_deal_reference(cli: Cli) -> None:
    document = cli.json("positions", "open", "GOLD", "BUY", "1", "--no-wait")
    assert document["dealReference"].startswith("o_")
    assert "dealStatus" not in document
    for item in cli.json("positions", "list")["positions"]:
        cli.json("positions", "close", item["position"]["dealId"])


def test_trading_on_live_needs_the_opt_in_and_sends_nothing(cli: Cli) -> None:
    env = cli.env(CAPITAL_BASE_URL=None, CAPITAL_ENV="live")
    outcome = cli("positions", "open", "GOLD", "BUY", "1", "--json", env=env)
    assert outcome.exit_code == 2
    assert "--i-understand-live-trading" in outcome.error["message"]
    outcome = cli("orders", "cancel", "x", env=env)
    assert outcome.exit_code == 2
    assert "LIVE" in outcome.stderr
    # an explicit --env outranks CAPITAL_BASE_URL from the environment
    outcome = cli("--env", "live", "positions", "close", "x", "--json")
    assert outcome.exit_code == 2
    assert "--i-understand-live-trading" in outcome.error["message"]


def test_working_order_lifecycle(cli: Cli) -> None:
    bid = _price(cli, "GOLD")["bid"]
    level = round(bid * 0.9, 2)
    created = cli.json(
        "orders", "create", "GOLD", "BUY", "1", str(level), "--type", "LIMIT", "--good-till", "2d"
    )
    assert created["dealStatus"] == "ACCEPTED"
    listed = cli.json("orders", "list")["workingOrders"]
    order = next(o for o in listed if o["workingOrderData"]["orderLevel"] == level)
    good_till = datetime.fromisoformat(order["workingOrderData"]["goodTillDateUTC"])
    now = cli.sim.state.clock.now()
    assert timedelta(days=1.9) < good_till.replace(tzinfo=UTC) - now < timedelta(days=2.1)
    deal_id = order["workingOrderData"]["dealId"]
    assert cli("orders", "list").exit_code == 0

    new_level = round(bid * 0.85, 2)
    cli.json("orders", "update", deal_id, "--level", str(new_level))
    listed = cli.json("orders", "list")["workingOrders"]
    assert [
        o["workingOrderData"]["orderLevel"]
        for o in listed
        if o["workingOrderData"]["dealId"] == deal_id
    ] == [new_level]

    cancelled = cli.json("orders", "cancel", deal_id)
    assert cancelled["dealStatus"] == "ACCEPTED"
    listed = cli.json("orders", "list")["workingOrders"]
    assert deal_id not in [o["workingOrderData"]["dealId"] for o in listed]


def test_order_with_expiry_in_the_past_is_rejected(cli: Cli) -> None:
    outcome = cli(
        "orders",
        "create",
        "GOLD",
        "BUY",
        "1",
        "100",
        "--good-till",
        "2001-01-01T00:00",
        "--json",
    )
    assert outcome.exit_code == 5


def test_accounts_list_preferences_and_top_up(cli: Cli) -> None:
    accounts = cli.json("accounts", "list")["accounts"]
    preferred = next(a for a in accounts if a["preferred"])
    before = preferred["balance"]["balance"]
    assert cli("accounts", "list").exit_code == 0

    prefs = cli.json("accounts", "preferences")
    assert "leverages" in prefs
    group, leverage = next(iter(prefs["leverages"].items()))
    choice = leverage["available"][0]
    assert (
        cli.json("accounts", "set-preferences", "--leverage", f"{group}={choice}")["status"]
        == "SUCCESS"
    )
    assert cli.json("accounts", "preferences")["leverages"][group]["current"] == choice

    result = cli.json("accounts", "top-up", "100")
    assert result["topUp"]["successful"] is True
    after = next(a for a in result["accounts"]["accounts"] if a["preferred"])
    assert after["balance"]["balance"] == before + 100


def test_bad_leverage_syntax_exits_5(cli: Cli) -> None:
    outcome = cli("accounts", "set-preferences", "--leverage", "SHARES", "--json")
    assert outcome.exit_code == 5


def test_history_shows_a_closed_trade(cli: Cli) -> None:
    opened = cli.json("positions", "open", "GOLD", "BUY", "1")
    deal_id = next(d["dealId"] for d in opened["affectedDeals"] if d["status"] == "OPENED")
    cli.json("positions", "close", deal_id)
    path = cli.workdir / "activity.csv"
    activity = cli.json("history", "activity", "--last", "600", "--csv", str(path))
    assert deal_id in [a["dealId"] for a in activity["activities"]]
    with path.open(newline="") as handle:
        assert deal_id in [r["deal_id"] for r in csv.DictReader(handle)]
    assert cli("history", "activity", "--from", "1h").exit_code == 0
    transactions = cli.json("history", "transactions", "--last", "600")
    assert any(t["transactionType"] == "TRADE" for t in transactions["transactions"])


def test_watchlist_lifecycle(cli: Cli) -> None:
    created = cli.json("watchlists", "create", "cli test", "GOLD", "SILVER")
    watchlist_id = created["watchlistId"]
    names = [w["name"] for w in cli.json("watchlists", "list")["watchlists"]]
    assert "cli test" in names
    assert cli("watchlists", "list").exit_code == 0
    epics = [m["epic"] for m in cli.json("watchlists", "show", watchlist_id)["markets"]]
    assert sorted(epics) == ["GOLD", "SILVER"]
    cli.json("watchlists", "add", watchlist_id, "EURUSD")
    cli.json("watchlists", "remove", watchlist_id, "GOLD")
    epics = [m["epic"] for m in cli.json("watchlists", "show", watchlist_id)["markets"]]
    assert sorted(epics) == ["EURUSD", "SILVER"]
    cli.json("watchlists", "delete", watchlist_id)
    outcome = cli("watchlists", "show", watchlist_id, "--json")
    assert outcome.exit_code == 4


def test_watchlist_name_too_long_exits_5(cli: Cli) -> None:
    outcome = cli("watchlists", "create", "x" * 30, "--json")
    assert outcome.exit_code == 5


def _fault(cli: Cli, kind: str, path: str, method: str = "POST") -> None:
    response = httpx.post(
        cli.sim.base_url + "/_sim/faults",
        json={"method": method, "path": path, "kind": kind, "times": 1},
        timeout=5,
    )
    assert response.status_code == 200, response.text


def test_lost_answer_of_a_placed_order_is_reconciled(cli: Cli) -> None:
    before = {p["position"]["dealId"] for p in cli.json("positions", "list")["positions"]}
    _fault(cli, "apply_then_drop", "/api/v1/positions")
    document = cli.json("positions", "open", "GOLD", "BUY", "1")
    assert document["reconciled"]["status"] == "FOUND"
    deal_id = document["reconciled"]["dealId"]
    after = {p["position"]["dealId"] for p in cli.json("positions", "list")["positions"]}
    assert after - before == {deal_id}
    cli.json("positions", "close", deal_id)


def test_lost_order_that_was_not_placed_exits_7(cli: Cli) -> None:
    before = cli.json("positions", "list")["positions"]
    _fault(cli, "drop", "/api/v1/positions")
    # No late-apply window: NOT_PLACED at once (the default waits 30 s for a late apply).
    outcome = cli(
        "positions",
        "open",
        "GOLD",
        "BUY",
        "1",
        "--json",
        env=cli.env(CAPITAL_LATE_APPLY_WINDOW="0"),
    )
    assert outcome.exit_code == 7, outcome.stderr
    assert "not placed" in outcome.error["message"]
    assert cli.json("positions", "list")["positions"] == before


def test_lost_answer_of_a_working_order_is_reconciled(cli: Cli) -> None:
    level = round(_price(cli, "GOLD")["bid"] * 0.8, 2)
    _fault(cli, "apply_then_drop", "/api/v1/workingorders")
    document = cli.json("orders", "create", "GOLD", "BUY", "1", str(level))
    assert document["reconciled"]["status"] == "FOUND"
    cli.json("orders", "cancel", document["reconciled"]["dealId"])


def test_lost_answer_of_a_close_is_reconciled(cli: Cli) -> None:
    deal_id = cli.json("positions", "open", "GOLD", "BUY", "1")["affectedDeals"][0]["dealId"]
    _fault(cli, "apply_then_drop", f"/api/v1/positions/{deal_id}", method="DELETE")
    document = cli.json("positions", "close", deal_id)
    assert document["reconciled"] == {
        "status": "FOUND",
        "dealId": deal_id,
        "position": None,
        "workingOrder": None,
        "activity": None,
    }
    open_ids = {p["position"]["dealId"] for p in cli.json("positions", "list")["positions"]}
    assert deal_id not in open_ids


def test_lost_cancel_that_was_not_applied_exits_7(cli: Cli) -> None:
    level = round(_price(cli, "GOLD")["bid"] * 0.8, 2)
    deal_id = cli.json("orders", "create", "GOLD", "BUY", "1", str(level))["dealId"]
    _fault(cli, "drop", f"/api/v1/workingorders/{deal_id}", method="DELETE")
    outcome = cli("orders", "cancel", deal_id, "--json", env=cli.env(CAPITAL_LATE_APPLY_WINDOW="0"))
    assert outcome.exit_code == 7, outcome.stderr
    assert "not applied" in outcome.error["message"]
    cli.json("orders", "cancel", deal_id)  # still pending: cancelling again is safe, and works


def test_a_failing_confirm_poll_after_an_open_is_reconciled_not_exit_7(cli: Cli) -> None:
    """Issue 12 item 1: the order is on the server; the CLI must not say 'sending again is safe'."""
    before = {p["position"]["dealId"] for p in cli.json("positions", "list")["positions"]}
    response = httpx.post(
        cli.sim.base_url + "/_sim/faults",
        json={"method": "GET", "path": "re:^/api/v1/confirms/", "kind": "status", "times": 4},
        timeout=5,
    )
    assert response.status_code == 200, response.text
    document = cli.json("positions", "open", "GOLD", "BUY", "1")
    assert document["reconciled"]["status"] == "FOUND"
    after = {p["position"]["dealId"] for p in cli.json("positions", "list")["positions"]}
    assert after - before == {document["reconciled"]["dealId"]}
    cli.json("positions", "close", document["reconciled"]["dealId"])


def test_a_bad_late_apply_window_is_named_and_the_unknown_outcome_said(cli: Cli) -> None:
    _fault(cli, "drop", "/api/v1/positions")
    outcome = cli(
        "positions",
        "open",
        "GOLD",
        "BUY",
        "1",
        "--json",
        env=cli.env(CAPITAL_LATE_APPLY_WINDOW="bad"),
    )
    assert outcome.exit_code == 2  # a bad window is a configuration error, named
    assert "CAPITAL_LATE_APPLY_WINDOW" in outcome.error["message"]
    assert "outcome is unknown" in outcome.error["message"]
