"""The simulator's open questions, put to the real demo server (issue 13, docs/simulator.md).

Every check asserts what the simulator does by default and records what it saw (``observe``).
Run against the simulator (tests/test_live_suite.py) they all pass; run against the real demo
server a failure names the choice in docs/simulator.md "Evidence and choices" that the real
server contradicts, and CAPITAL_LIVE_REPORT keeps the observations for the docs. Checks that
write (orders, positions, top-ups) run only with CAPITAL_LIVE_TRADING=1, on the demo account,
with the smallest size, and undo what they did.
"""

from __future__ import annotations

import math
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from capitalcom_sdk import AsyncClient, Client, Quote
from tests.live.conftest import RawSession, observe

pytestmark = pytest.mark.live

EPIC = "BTCUSD"  # trades around the clock
WEEKDAY_EPIC = "GOLD"  # closed on Saturdays, on the real platform and in the simulator
API = "/api/v1"

# dealReference of the position opened with stops, for the confirm-expiry check at the end
_REFERENCES: dict[str, tuple[str, float]] = {}


def _kind(value: Any) -> str:
    """How a JSON number was written: "int" (10) or "float" (10.0 / 10.5)."""
    return "int" if isinstance(value, int) and not isinstance(value, bool) else "float"


def _session_headers(response: Any) -> dict[str, bool]:
    names = {k.lower() for k in response.headers}
    return {
        "CST": "cst" in names,
        "X-SECURITY-TOKEN": "x-security-token" in names,
        "Access-Control-Expose-Headers": "access-control-expose-headers" in names,
    }


def _market(raw: RawSession, epic: str = EPIC) -> dict[str, Any]:
    response = raw.request("GET", f"{API}/markets/{epic}")
    assert response.status_code == 200, response.text[:200]
    market: dict[str, Any] = response.json()
    return market


def _min_size(market: dict[str, Any]) -> float:
    rule = market["dealingRules"].get("minDealSize") or {}
    return float(rule.get("value") or 0.01)


def _distance(market: dict[str, Any], price: float) -> float:
    """A stop/profit distance comfortably inside the market's min/max rules, in price units."""

    def points(rule: dict[str, Any] | None, default: float) -> float:
        if not rule:
            return default
        value = float(rule["value"])
        return price * value / 100 if rule.get("unit") == "PERCENTAGE" else value

    rules = market["dealingRules"]
    low = points(rules.get("minStopOrProfitDistance"), price * 0.001)
    high = points(rules.get("maxStopOrProfitDistance"), price * 0.5)
    return min(max(low * 3, price * 0.02), (low + high) / 2)


def _round(market: dict[str, Any], value: float) -> float:
    decimals = int(market["snapshot"].get("decimalPlacesFactor") or 2)
    return round(value, decimals)


def _confirm(raw: RawSession, reference: str) -> dict[str, Any]:
    for _ in range(20):  # the real server can answer 404 for a moment after the write
        response = raw.request("GET", f"{API}/confirms/{reference}")
        if response.status_code == 200:
            confirm: dict[str, Any] = response.json()
            return confirm
        time.sleep(0.25)
    raise AssertionError(f"no confirm for {reference}: {response.status_code} {response.text}")


def _close_everything_opened(raw: RawSession, deal_ids: list[str]) -> None:
    for deal_id in deal_ids:
        if raw.request("GET", f"{API}/positions/{deal_id}").status_code == 200:
            raw.request("DELETE", f"{API}/positions/{deal_id}")


# ---- session and account shapes (issue 13 items 5, 6, 13) -----------------------------------


def test_login_flags_and_account_shapes(raw: RawSession) -> None:
    """Sim: hasActiveDemoAccounts and hasActiveLiveAccounts both true on demo; account ids are
    digit strings (18 digits by default), names may be empty; trailingStopsEnabled a bool."""
    body = raw.login_body
    accounts = body["accounts"]
    observe(
        "login flags and account shapes",
        has_active_demo=body.get("hasActiveDemoAccounts"),
        has_active_live=body.get("hasActiveLiveAccounts"),
        trailing_stops_enabled=body.get("trailingStopsEnabled"),
        account_count=len(accounts),
        account_id_lengths=sorted({len(a["accountId"]) for a in accounts}),
        empty_names=sum(a.get("accountName") == "" for a in accounts),
    )
    assert body["hasActiveDemoAccounts"] is True
    assert body["hasActiveLiveAccounts"] is True, "docs/simulator.md: hasActiveLiveAccounts"
    assert isinstance(body["trailingStopsEnabled"], bool)
    assert all(a["accountId"].isdigit() for a in accounts)
    assert all(isinstance(a["accountName"], str) for a in accounts)


def test_the_replaced_security_token_keeps_working_after_an_account_switch(
    raw: RawSession,
) -> None:
    """Sim (accept_previous_security_token=True): after PUT /session the old X-SECURITY-TOKEN
    still authenticates, for the now active account; answers carry the new one."""
    accounts = [a["accountId"] for a in raw.login_body["accounts"]]
    if len(accounts) < 2:
        pytest.skip("this login has one account: nothing to switch to")
    start = raw.login_body["currentAccountId"]
    other = next(a for a in accounts if a != start)
    old = dict(raw.tokens)
    switched = raw.request("PUT", f"{API}/session", json={"accountId": other})
    assert switched.status_code == 200, switched.text[:200]
    new = {"CST": switched.headers.get("CST", old["CST"]), "X-SECURITY-TOKEN": ""}
    new["X-SECURITY-TOKEN"] = switched.headers.get("X-SECURITY-TOKEN", old["X-SECURITY-TOKEN"])
    try:
        with_old = raw.request("GET", f"{API}/session", tokens=old)
        observe(
            "previous X-SECURITY-TOKEN after PUT /session",
            token_rotated=new["X-SECURITY-TOKEN"] != old["X-SECURITY-TOKEN"],
            cst_kept=new["CST"] == old["CST"],
            old_token_status=with_old.status_code,
            old_token_account_is_new=with_old.status_code == 200
            and with_old.json().get("accountId") == other,
            switch_flags=(
                switched.json().get("hasActiveDemoAccounts"),
                switched.json().get("hasActiveLiveAccounts"),
                switched.json().get("trailingStopsEnabled"),
            ),
        )
        # the official "Account switched" example, recorded on demo: demo false, live true
        assert switched.json().get("hasActiveLiveAccounts") is True
        assert switched.json().get("hasActiveDemoAccounts") is False
        assert with_old.status_code == 200, "docs/simulator.md: accept_previous_security_token"
        assert with_old.json()["accountId"] == other
    finally:
        raw.tokens = new
        raw.request("PUT", f"{API}/session", json={"accountId": start})
        raw.login()


# ---- errors and number formats (items 8, 12) ------------------------------------------------


def test_error_answers_carry_the_session_headers(raw: RawSession) -> None:
    """Sim: an error after authentication carries CST, X-SECURITY-TOKEN and
    Access-Control-Expose-Headers; the navigation limit check only the last one."""
    missing = raw.request("GET", f"{API}/positions/no-such-deal-id")
    nodes = raw.request("GET", f"{API}/marketnavigation").json()["nodes"]
    limit = raw.request("GET", f"{API}/marketnavigation/{nodes[0]['id']}?limit=501")
    observe(
        "session headers on error answers",
        not_found=(missing.status_code, missing.text[:100], _session_headers(missing)),
        limit=(limit.status_code, limit.text[:100], _session_headers(limit)),
    )
    assert missing.status_code == 404
    assert all(_session_headers(missing).values()), "docs/simulator.md: error answers"
    assert limit.status_code == 400
    assert _session_headers(limit) == {
        "CST": False,
        "X-SECURITY-TOKEN": False,
        "Access-Control-Expose-Headers": True,
    }


def test_whole_numbers_are_written_as_recorded(raw: RawSession) -> None:
    """Sim: marginFactor and dealing-rule values are integers when whole; balances floats."""
    market = _market(raw)
    margin = market["instrument"]["marginFactor"]
    rules = {
        name: rule["value"]
        for name, rule in market["dealingRules"].items()
        if isinstance(rule, dict) and isinstance(rule.get("value"), int | float)
    }
    balances = raw.request("GET", f"{API}/accounts").json()["accounts"][0]["balance"]
    observe(
        "number formats",
        margin_factor=(margin, _kind(margin)),
        rules={k: (v, _kind(v)) for k, v in rules.items()},
        balances={k: (v, _kind(v)) for k, v in balances.items()},
    )
    if float(margin).is_integer():
        assert _kind(margin) == "int", "docs/simulator.md: number formats (marginFactor)"
    for name, value in rules.items():
        if float(value).is_integer():
            assert _kind(value) == "int", f"dealingRules.{name}.value written as {value!r}"
    for name, value in balances.items():
        if isinstance(value, int | float) and float(value).is_integer():
            assert _kind(value) == "float", f"balance.{name} written as {value!r}"


# ---- prices and paths (item 14) -------------------------------------------------------------


def _last_saturday_noon() -> datetime:
    now = datetime.now(UTC)
    days = (now.weekday() - 5) % 7 or 7
    return (now - timedelta(days=days)).replace(hour=12, minute=0, second=0, microsecond=0)


def test_a_price_window_without_bars(raw: RawSession) -> None:
    """Sim (prices_not_found="error-code"): 404 {"errorCode": "error.prices.not-found"}."""
    start = _last_saturday_noon()
    window = f"from={start:%Y-%m-%dT%H:%M:%S}&to={start + timedelta(hours=1):%Y-%m-%dT%H:%M:%S}"
    response = raw.request("GET", f"{API}/prices/{WEEKDAY_EPIC}?resolution=MINUTE&max=100&{window}")
    observe("empty price window", status=response.status_code, body=response.text[:200])
    assert response.status_code == 404
    assert response.json() == {"errorCode": "error.prices.not-found"}


def test_how_soon_a_new_bar_is_served(raw: RawSession) -> None:
    """Sim (closed_bar_lag_ms=0): two seconds into a minute GET /prices already has that
    minute's bar. Waits for the next minute boundary (up to a minute, real time; against the
    simulator its clock is moved there instead, the same observation without the wait)."""
    server_ms = raw.request("GET", f"{API}/time").json()["serverTime"]
    into = server_ms % 60_000
    wait = ((62_000 - into) % 60_000) / 1000  # two seconds past the next boundary
    simulator = raw.http.get("/_sim/clock")  # 404 (or anything else) on a real server
    if simulator.status_code == 200 and "now" in simulator.json():
        moved = raw.http.post("/_sim/clock", json={"advance": wait})
        assert moved.status_code == 200, moved.text
    else:
        time.sleep(wait)
    probe_ms = raw.request("GET", f"{API}/time").json()["serverTime"]
    bars = raw.request("GET", f"{API}/prices/{EPIC}?resolution=MINUTE&max=2").json()["prices"]
    newest = datetime.fromisoformat(bars[-1]["snapshotTimeUTC"]).replace(tzinfo=UTC)
    minute = datetime.fromtimestamp(probe_ms // 60_000 * 60, tz=UTC)
    observe(
        "closed-bar lag",
        seconds_into_minute=(probe_ms % 60_000) / 1000,
        newest_bar=bars[-1]["snapshotTimeUTC"],
        newest_is_current_minute=newest == minute,
    )
    assert newest == minute, "docs/simulator.md: closed_bar_lag_ms"


def test_double_slash_paths(raw: RawSession) -> None:
    """Sim (double_slash_paths="not-found"): //api/v1/ping is a 404."""
    response = raw.request("GET", "//api/v1/ping")
    observe("double-slash path", status=response.status_code, body=response.text[:200])
    assert response.status_code == 404, "docs/simulator.md: double_slash_paths"


def test_a_burst_of_requests(raw: RawSession) -> None:
    """Sim (rate_limit_mode="window"): at most 10 requests in any second. The real server must
    admit at least that many of a burst, or the strict default would be too lax."""
    time.sleep(1.5)  # an empty window / full bucket
    began = time.monotonic()
    codes = []
    for _ in range(20):
        codes.append(raw.http.get(f"{API}/ping", headers=raw.tokens).status_code)
    elapsed = time.monotonic() - began
    admitted = codes.count(200)
    observe("rate-limit burst", sent=20, admitted=admitted, seconds=round(elapsed, 3))
    time.sleep(1.5)  # leave the limiter as we found it
    assert set(codes) <= {200, 429}
    assert admitted >= min(10, len(codes)), "docs/simulator.md: rate_limit_mode"


async def test_quote_quantities_are_equal(async_client: AsyncClient) -> None:
    """Sim: bidQty == ofrQty on every quote, as on every recorded real quote."""
    seen: list[tuple[float | None, float | None]] = []
    async with async_client, async_client.stream() as stream:
        await stream.subscribe_quotes([EPIC])
        async for event in stream:
            if isinstance(event, Quote):
                seen.append((event.bid_qty, event.offer_qty))
                if len(seen) == 3:
                    break
    observe("quote quantities", quantities=seen)
    assert all(bid == offer for bid, offer in seen), "docs/simulator.md: bidQty / ofrQty"


# ---- writes on the demo account (CAPITAL_LIVE_TRADING=1) ------------------------------------


def test_numbers_sent_as_strings(raw: RawSession, trading: None) -> None:
    """Sim: "size": "<n>" is accepted like n; "size": "abc" is 400 error.invalid.size."""
    size = _min_size(_market(raw))
    bad = raw.request(
        "POST", f"{API}/positions", json={"epic": EPIC, "direction": "BUY", "size": "abc"}
    )
    opened = raw.request(
        "POST", f"{API}/positions", json={"epic": EPIC, "direction": "BUY", "size": str(size)}
    )
    deal_ids: list[str] = []
    try:
        confirm = _confirm(raw, opened.json()["dealReference"]) if opened.is_success else {}
        deal_ids = [d["dealId"] for d in confirm.get("affectedDeals", [])]
        observe(
            "numbers sent as strings",
            non_numeric=(bad.status_code, bad.text[:100]),
            numeric=(opened.status_code, opened.text[:100], confirm.get("dealStatus")),
        )
        assert (bad.status_code, bad.json().get("errorCode")) == (400, "error.invalid.size")
        assert opened.status_code == 200, "docs/simulator.md: numbers sent as strings"
        assert confirm["dealStatus"] == "ACCEPTED"
    finally:
        _close_everything_opened(raw, deal_ids)


def test_open_with_stop_and_profit_levels(client: Client, raw: RawSession, trading: None) -> None:
    """One client claims the demo server ignores stopLevel/profitLevel on POST /positions; the
    simulator keeps them. Also: a position's size is written as a float, and the confirm's
    top-level dealId (recorded for sim-engine's question)."""
    market = _market(raw)
    size = _min_size(market)
    offer = float(market["snapshot"]["offer"])
    distance = _distance(market, offer)
    stop, profit = _round(market, offer - distance), _round(market, offer + distance)
    try:
        confirm = client.positions.open(EPIC, "BUY", size, stop_level=stop, profit_level=profit)
    except Exception as exc:  # e.g. the demo server demanding a guaranteed stop on crypto
        observe(
            "open with stop and profit levels",
            refused=type(exc).__name__,
            error_code=getattr(exc, "error_code", None),
            guaranteed_stop_allowed=market["instrument"].get("guaranteedStopAllowed"),
        )
        raise
    deal_id = confirm.affected_deals[0].deal_id
    _REFERENCES["position"] = (confirm.deal_reference, time.monotonic())
    try:
        held = raw.request("GET", f"{API}/positions/{deal_id}").json()["position"]
        observe(
            "open with stop and profit levels",
            sent=(stop, profit),
            held=(held.get("stopLevel"), held.get("profitLevel")),
            size=(held["size"], _kind(held["size"])),
            confirm_deal_id_is_position=confirm.deal_id == deal_id,
            guaranteed_stop=held.get("guaranteedStop"),
            guaranteed_stop_allowed=market["instrument"].get("guaranteedStopAllowed"),
        )
        assert str(confirm.deal_status) == "ACCEPTED"
        assert held.get("stopLevel") == pytest.approx(stop), "stop level not kept"
        assert held.get("profitLevel") == pytest.approx(profit), "profit level not kept"
        assert _kind(held["size"]) == "float", "docs/simulator.md: number formats (size)"
    finally:
        client.positions.close(deal_id)


def test_place_amend_and_cancel_a_working_order(
    client: Client, raw: RawSession, trading: None
) -> None:
    """A BUY LIMIT below the market: placed, its level amended, then cancelled."""
    market = _market(raw)
    size = _min_size(market)
    bid = float(market["snapshot"]["bid"])
    level = _round(market, bid * 0.95)
    placed = client.orders.create(EPIC, "BUY", size, level, "LIMIT")
    order_id = placed.deal_id or placed.affected_deals[0].deal_id
    assert order_id
    try:
        listed = raw.request("GET", f"{API}/workingorders").json()["workingOrders"]
        mine = [
            o["workingOrderData"] for o in listed if o["workingOrderData"]["dealId"] == order_id
        ]
        assert mine, "the order is not listed"
        assert mine[0]["orderLevel"] == pytest.approx(level)
        amended_level = _round(market, bid * 0.94)
        amended = client.orders.update(order_id, level=amended_level)
        assert str(amended.deal_status) == "ACCEPTED"
        listed = raw.request("GET", f"{API}/workingorders").json()["workingOrders"]
        now = [o["workingOrderData"] for o in listed if o["workingOrderData"]["dealId"] == order_id]
        observe(
            "working order place / amend / cancel",
            placed_level=level,
            amended_level=now[0]["orderLevel"] if now else None,
            level_kind=_kind(now[0]["orderLevel"]) if now else None,
        )
        assert now, "the amended order is not listed"
        assert now[0]["orderLevel"] == pytest.approx(amended_level)
    finally:
        cancelled = client.orders.delete(order_id)
    assert str(cancelled.deal_status) == "ACCEPTED"
    left = raw.request("GET", f"{API}/workingorders").json()["workingOrders"]
    assert order_id not in {o["workingOrderData"]["dealId"] for o in left}


def test_close_with_a_size_body(raw: RawSession, trading: None) -> None:
    """Sim (close_with_body="close"): DELETE /positions/{id} with {"size": n} closes it all."""
    size = _min_size(_market(raw))
    body = {"epic": EPIC, "direction": "BUY", "size": size * 2}
    opened = raw.request("POST", f"{API}/positions", json=body)
    assert opened.status_code == 200, opened.text[:200]
    confirm = _confirm(raw, opened.json()["dealReference"])
    deal_id = confirm["affectedDeals"][0]["dealId"]
    try:
        response = raw.request("DELETE", f"{API}/positions/{deal_id}", json={"size": size})
        after = raw.request("GET", f"{API}/positions/{deal_id}")
        observe(
            "DELETE /positions/{id} with a size body",
            status=response.status_code,
            body=response.text[:200],
            position_after=(after.status_code, after.text[:200]),
        )
        assert response.status_code == 200, "docs/simulator.md: close_with_body"
        assert after.status_code == 404  # closed in full
    finally:
        _close_everything_opened(raw, [deal_id])


def test_a_top_up_past_the_demo_cap(raw: RawSession, trading: None) -> None:
    """Sim (top_up_cap_error="balance-maxvalue"): 400 error.invalid.balance.maxvalue: 100000.0.
    The amount alone exceeds the documented 100000 cap; a success is undone at once."""
    response = raw.request("POST", f"{API}/accounts/topUp", json={"amount": 100_001})
    if response.status_code == 200:
        raw.request("POST", f"{API}/accounts/topUp", json={"amount": -100_001})
    observe("top-up past the cap", status=response.status_code, body=response.text[:200])
    assert response.status_code == 400
    code = str(response.json().get("errorCode", ""))
    assert code.split(":")[0] == "error.invalid.balance.maxvalue", (
        "docs/simulator.md: top_up_cap_error"
    )


def test_the_confirm_is_still_served_later(raw: RawSession, trading: None) -> None:
    """Sim: a confirm stays available (no expiry). Runs last; the position's confirm is by now
    as old as the rest of this module took (recorded)."""
    if "position" not in _REFERENCES:
        pytest.skip("the position check did not run")
    reference, opened_at = _REFERENCES["position"]
    response = raw.request("GET", f"{API}/confirms/{reference}")
    age = time.monotonic() - opened_at
    observe("confirm expiry", age_seconds=round(age, 1), status=response.status_code)
    assert math.isfinite(age)
    assert response.status_code == 200, f"confirm gone after {age:.0f} s (sim-engine's choice)"
