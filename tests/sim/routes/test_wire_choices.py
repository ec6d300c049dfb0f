"""The route/wire-level fidelity choices of issue 13 item 14, each in its default and its option.

Each option is switched on the running simulator's config (routes read it per request).
docs/simulator.md "Evidence and choices" gives the evidence behind every default.
"""

from __future__ import annotations

import json

import httpx
import pytest

from capitalcom_sim.stream_feed import quote_frame
from tests.conftest import SimHandle
from tests.sim.routes.conftest import WEDNESDAY_NOON

SATURDAY = "resolution=HOUR&max=20&from=2026-11-21T02:00:00&to=2026-11-21T12:00:00"


def test_an_empty_price_window_is_error_prices_not_found_by_default(api: httpx.Client) -> None:
    response = api.get(f"/prices/SILVER?{SATURDAY}")
    assert (response.status_code, response.json()) == (404, {"errorCode": "error.prices.not-found"})
    assert response.headers["CST"] == api.headers["CST"]  # an error after authentication


def test_an_empty_price_window_can_be_a_bare_404(api: httpx.Client, sim: SimHandle) -> None:
    sim.state.config.prices_not_found = "bare"
    response = api.get(f"/prices/SILVER?{SATURDAY}")
    assert (response.status_code, response.content) == (404, b"")
    assert api.get("/prices/SILVER").status_code == 200  # only empty windows change


def test_without_lag_the_bar_that_just_opened_is_served(api: httpx.Client, sim: SimHandle) -> None:
    sim.state.move_clock(advance_seconds=5)  # 12:00:05, five seconds into the 12:00 bar
    bars = api.get("/prices/SILVER?max=2").json()["prices"]
    assert [b["snapshotTimeUTC"] for b in bars] == ["2026-11-25T11:59:00", "2026-11-25T12:00:00"]


def test_closed_bar_lag_serves_bars_as_of_that_long_ago(api: httpx.Client, sim: SimHandle) -> None:
    sim.state.config.closed_bar_lag_ms = 10_000
    sim.state.move_clock(advance_seconds=5)  # 12:00:05: as of 11:59:55
    lagged = api.get("/prices/SILVER?max=2").json()["prices"]
    assert [b["snapshotTimeUTC"] for b in lagged] == ["2026-11-25T11:58:00", "2026-11-25T11:59:00"]
    sim.state.move_clock(advance_seconds=10)  # 12:00:15: as of 12:00:05
    later = api.get("/prices/SILVER?max=2").json()["prices"]
    assert later[-1]["snapshotTimeUTC"] == "2026-11-25T12:00:00"
    # the 11:59 bar seen unfinished at 11:59:55 is the closed bar now
    closed = api.get("/prices/SILVER?from=2026-11-25T11:59:00&to=2026-11-25T11:59:00").json()
    assert closed["prices"][0]["snapshotTimeUTC"] == "2026-11-25T11:59:00"
    # requests are still checked against the present
    assert api.get("/prices/SILVER?to=2026-11-25T12:00:10").status_code == 200
    assert api.get("/prices/SILVER?to=2026-11-25T12:00:20").status_code == 400


def test_double_slash_paths_are_404_by_default(sim: SimHandle, api: httpx.Client) -> None:
    headers = {"CST": api.headers["CST"], "X-SECURITY-TOKEN": api.headers["X-SECURITY-TOKEN"]}
    response = httpx.get(f"{sim.base_url}//api/v1/ping", headers=headers)
    assert (response.status_code, response.json()) == (404, {"errorCode": "error.not-found.route"})


def test_double_slash_paths_can_be_served(sim: SimHandle, api: httpx.Client) -> None:
    sim.state.config.double_slash_paths = "serve"
    headers = {"CST": api.headers["CST"], "X-SECURITY-TOKEN": api.headers["X-SECURITY-TOKEN"]}
    for path in ("//api/v1/ping", "/api/v1//ping", "//api//v1///markets/SILVER/"):
        response = httpx.get(f"{sim.base_url}{path}", headers=headers)
        assert response.status_code == 200, (path, response.text)
    stats = httpx.get(f"{sim.base_url}/_sim/stats").json()["requests"]
    assert stats["GET /api/v1/ping"] >= 2  # counted under the real route


def _open(api: httpx.Client) -> str:
    reference = api.post("/positions", json={"epic": "SILVER", "direction": "BUY", "size": 2})
    confirm = api.get(f"/confirms/{reference.json()['dealReference']}").json()
    return str(confirm["affectedDeals"][0]["dealId"])


def test_close_with_a_size_body_closes_the_whole_position_by_default(api: httpx.Client) -> None:
    deal_id = _open(api)
    response = api.request("DELETE", f"/positions/{deal_id}", json={"size": 1})
    assert response.status_code == 200, response.text
    assert api.get(f"/positions/{deal_id}").status_code == 404


def test_close_with_a_size_body_can_be_refused_with_404(api: httpx.Client, sim: SimHandle) -> None:
    sim.state.config.close_with_body = "not-found"
    deal_id = _open(api)
    response = api.request("DELETE", f"/positions/{deal_id}", json={"size": 1})
    assert (response.status_code, response.json()) == (404, {"errorCode": "error.not-found.dealId"})
    assert api.get(f"/positions/{deal_id}").json()["position"]["size"] == 2.0  # still open
    assert api.request("DELETE", f"/positions/{deal_id}", content=b"").status_code == 200


@pytest.mark.parametrize(
    ("mode", "code"),
    [
        ("balance-maxvalue", "error.invalid.balance.maxvalue: 100000.0"),
        ("account-limit", "account.limit.reached"),
    ],
)
def test_top_up_past_the_demo_cap(api: httpx.Client, sim: SimHandle, mode: str, code: str) -> None:
    sim.state.config.top_up_cap_error = mode
    response = api.post("/accounts/topUp", json={"amount": 95_000})
    assert (response.status_code, response.json()) == (400, {"errorCode": code})
    # other top-up errors keep their codes in either mode
    assert api.post("/accounts/topUp", json={"amount": "x"}).json() == {
        "errorCode": "error.invalid.amount"
    }


def test_quote_quantities_are_equal_on_both_sides() -> None:
    for step in range(50):
        payload = json.loads(quote_frame("US500", 7448.6, 7449.0, WEDNESDAY_NOON + step, 1))[
            "payload"
        ]
        assert payload["bidQty"] == payload["ofrQty"] >= 1000
