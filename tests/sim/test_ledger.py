"""GET /_sim/ledger and POST /_sim/ledger/close-all: trades with their costs, equity on moves."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from capitalcom_sdk import Client
from capitalcom_sim.config import SimConfig, single_user
from tests.conftest import SimHandle, handle_for, start_sim

START_MS = 1_735_819_200_000  # 2025-01-02 12:00 UTC, GOLD open
END_MS = START_MS + 3_600_000


def _config(**options: Any) -> SimConfig:
    return SimConfig(
        users=(single_user(),),
        rate_limits=False,
        seed=11,
        start_ms=START_MS,
        clock_speed=0.0,
        **options,
    )


@pytest.fixture
def sim_config() -> SimConfig:
    return _config(end_ms=END_MS, equity_sample_ms=0, deterministic_ids=True)


@pytest.fixture
def client(sim: SimHandle) -> Iterator[Client]:
    with Client(sim.api_key, sim.identifier, sim.password, base_url=sim.base_url) as c:
        yield c


def _post(sim: SimHandle, path: str, body: dict[str, Any]) -> httpx.Response:
    return httpx.post(sim.base_url + path, json=body, trust_env=False)


def _ledger(sim: SimHandle, query: str = "") -> dict[str, Any]:
    response = httpx.get(sim.base_url + "/_sim/ledger" + query, trust_env=False)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def test_a_stop_hit_inside_a_move_is_a_stop_trade(sim: SimHandle, client: Client) -> None:
    _post(sim, "/_sim/prices/GOLD", {"mid": 2000.0})
    confirm = client.positions.open("GOLD", "BUY", 2.0, stop_level=1990.0)
    # The mid walks down to 1980 over the next ten minutes: the stop triggers on the way.
    _post(sim, "/_sim/prices/GOLD", {"path": [[START_MS, 2000.0], [START_MS + 600_000, 1980.0]]})
    _post(sim, "/_sim/clock", {"advance": 900})

    ledger = _ledger(sim)

    [trade] = ledger["closed"]
    assert trade["dealId"] == confirm.affected_deals[0].deal_id
    assert trade["closeReason"] == "STOP"
    assert (trade["epic"], trade["direction"], trade["size"]) == ("GOLD", "BUY", 2.0)
    assert trade["openedMs"] == START_MS
    assert START_MS < trade["closedMs"] < START_MS + 600_000
    assert trade["closeLevel"] <= 1990.0
    assert trade["pnl"] == pytest.approx((trade["closeLevel"] - trade["openLevel"]) * 2, abs=0.01)
    assert ledger["open"] == []
    assert ledger["currency"] == "USD"


def test_close_all_closes_open_positions_as_end_trades(sim: SimHandle, client: Client) -> None:
    client.positions.open("GOLD", "SELL", 1.0)
    _post(sim, "/_sim/clock", {"advance": 60})
    assert len(_ledger(sim)["open"]) == 1

    answer = _post(sim, "/_sim/ledger/close-all", {})

    assert answer.json() == {"closed": 1}
    ledger = _ledger(sim)
    assert [t["closeReason"] for t in ledger["closed"]] == ["END"]
    assert ledger["closed"][0]["closedMs"] == START_MS + 60_000
    assert client.positions.list().positions == []
    last = ledger["equity"][-1]
    assert last["t"] == START_MS + 60_000
    assert last["balance"] == last["equity"]  # nothing open any more


def test_equity_is_sampled_once_per_clock_move(sim: SimHandle, client: Client) -> None:
    _post(sim, "/_sim/prices/GOLD", {"mid": 2000.0})
    client.positions.open("GOLD", "BUY", 1.0)
    _post(sim, "/_sim/prices/GOLD", {"path": [[START_MS, 2000.0], [START_MS + 120_000, 2010.0]]})
    for _ in range(3):
        _post(sim, "/_sim/clock", {"advance": 60})

    points = _ledger(sim)["equity"]

    assert [p["t"] for p in points] == [START_MS + 60_000 * i for i in (1, 2, 3)]
    assert all(p["balance"] == 10_000.0 for p in points)
    assert points[0]["equity"] < points[1]["equity"] == points[2]["equity"]


def test_clock_stops_at_the_end(sim: SimHandle) -> None:
    moved = _post(sim, "/_sim/clock", {"advance": 7200})
    assert moved.json()["now"] == END_MS

    refused = _post(sim, "/_sim/clock", {"set": END_MS + 1})

    assert refused.status_code == 409
    assert refused.json() == {"errorCode": "error.sim.clock.end"}
    assert _post(sim, "/_sim/clock", {"set": START_MS}).json()["now"] == START_MS  # back is fine
    assert _ledger(sim)["clockEndRefused"] == 1


def test_deterministic_ids_repeat_with_the_same_seed() -> None:
    ids = []
    for _ in range(2):
        server = start_sim(_config(deterministic_ids=True))
        try:
            handle = handle_for(server)
            with Client(
                handle.api_key, handle.identifier, handle.password, base_url=handle.base_url
            ) as client:
                ids.append(client.positions.open("GOLD", "BUY", 1.0).affected_deals[0].deal_id)
        finally:
            server.stop()
    assert ids[0] == ids[1]


@pytest.mark.parametrize(
    ("method", "path", "body", "code"),
    [
        ("GET", "/_sim/ledger?accountId=nope", None, "error.sim.invalid.accountId"),
        ("GET", "/_sim/ledger?limit=3", None, "error.sim.invalid.limit"),
        ("POST", "/_sim/ledger/close-all", {"accountId": 5}, "error.sim.invalid.accountId"),
        ("POST", "/_sim/ledger/close-all", {"reason": "X"}, "error.sim.invalid.reason"),
        ("POST", "/_sim/ledger/close-all", "[1]", "error.malformed.request"),
    ],
)
def test_bad_input_is_a_400(
    sim: SimHandle, method: str, path: str, body: object, code: str
) -> None:
    content = body if isinstance(body, str) else None
    response = httpx.request(
        method,
        sim.base_url + path,
        json=None if content is not None else body,
        content=content,
        trust_env=False,
    )
    assert (response.status_code, response.json()) == (400, {"errorCode": code})


def test_overnight_funding_and_a_partial_close_share_the_costs() -> None:
    server = start_sim(_config(equity_sample_ms=3_600_000))
    try:
        sim = handle_for(server)
        with Client(sim.api_key, sim.identifier, sim.password, base_url=sim.base_url) as client:
            deal_id = client.positions.open("GOLD", "BUY", 3.0).affected_deals[0].deal_id
            _post(sim, "/_sim/clock", {"advance": 24 * 3600})  # past Thursday's 22:00 UTC fee
            client.positions.open("GOLD", "SELL", 1.0)  # netting: closes 1 of the 3
            account = server.state.engine.accounts[server.config.users[0].accounts[0].account_id]
            [swap] = [t.amount for t in account.transactions if t.transaction_type == "SWAP"]

            ledger = _ledger(sim)
    finally:
        server.stop()

    [part] = ledger["closed"]
    [rest] = ledger["open"]
    assert swap < 0
    assert (part["dealId"], part["size"], part["closeReason"]) == (deal_id, 1.0, "CLOSED")
    assert (rest["dealId"], rest["size"]) == (deal_id, 2.0)
    assert part["funding"] == pytest.approx(swap / 3, abs=0.01)
    assert part["funding"] + rest["funding"] == pytest.approx(swap, abs=0.005)
    # One equity point per hour of simulated time at most: the 24-hour move gave one.
    assert [p["t"] for p in ledger["equity"]] == [START_MS + 24 * 3_600_000]
