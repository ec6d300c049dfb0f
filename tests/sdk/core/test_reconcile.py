"""Order safety end to end: a lost answer raises OrderOutcomeUnknown, reconcile finds the truth."""

from __future__ import annotations

import httpx
import pytest

from capitalcom_sdk import AsyncClient, Client, OrderOutcomeUnknown
from capitalcom_sdk import _endpoints as ep
from capitalcom_sdk._intent import OrderIntent
from capitalcom_sdk._reconcile import ReconcileStatus
from capitalcom_sim.config import SimConfig, single_user
from tests.conftest import SimHandle, handle_for, start_sim

EPIC = "EURUSD"
SIZE = 100.0
# 2026-11-18 (a Wednesday) 12:00 UTC: every simulated market is open.
START_MS = 1_795_003_200_000
POSITIONS = "POST /api/v1/positions"


@pytest.fixture
def sim_config() -> SimConfig:
    return SimConfig(users=(single_user(),), rate_limits=False, seed=7, start_ms=START_MS)


def fault(sim: SimHandle, kind: str, path: str = "/api/v1/positions", **extra: object) -> None:
    sim.state.faults.add({"method": "POST", "path": f"re:^{path}$", "kind": kind, **extra})


def open_positions(sim: SimHandle) -> list[object]:
    return list(sim.state.engine.positions(sim.state.config.users[0].accounts[0].account_id))


def posts(sim: SimHandle, key: str = POSITIONS) -> int:
    return int(sim.state.stats.snapshot()["requests"].get(key, 0))


def test_dropped_answer_after_applying_is_found_not_duplicated(sim: SimHandle) -> None:
    with Client(**sim.client_kwargs()) as client:
        client.session.login()
        fault(sim, "apply_then_drop")
        with pytest.raises(OrderOutcomeUnknown) as info:
            client.positions.open(EPIC, "BUY", SIZE)
        assert posts(sim) == 1  # never sent twice
        positions = client.positions.list().positions
        assert len(positions) == 1  # no duplicate
        result = client.reconcile(info.value, late_apply_window=0)
    assert result.status is ReconcileStatus.FOUND
    assert result.found
    assert result.deal_id == positions[0].position.deal_id
    assert result.position is not None
    assert result.request["body"]["epic"] == EPIC


@pytest.mark.parametrize(
    "spec",
    [
        {"kind": "drop"},
        {"kind": "status", "status": 503},
        {"kind": "status", "status": 500, "errorCode": "error.internal"},
    ],
)
def test_ambiguous_failure_without_effect_reconciles_as_not_placed(
    sim: SimHandle, spec: dict[str, object]
) -> None:
    with Client(**sim.client_kwargs()) as client:
        client.session.login()
        fault(sim, **spec)  # type: ignore[arg-type]
        with pytest.raises(OrderOutcomeUnknown) as info:
            client.positions.open(EPIC, "SELL", SIZE, confirm=False)
        result = client.reconcile(info.value, late_apply_window=0)
        assert client.positions.list().positions == []
    assert result.status is ReconcileStatus.NOT_PLACED
    assert posts(sim) == 1


def test_timeout_after_sending_an_order_is_not_retried(sim: SimHandle) -> None:
    fault(sim, "timeout", latencyMs=3000)
    with Client(**sim.client_kwargs(), timeout=httpx.Timeout(0.5, connect=2.0)) as client:
        client.session.login()
        with pytest.raises(OrderOutcomeUnknown) as info:
            client.positions.open(EPIC, "BUY", SIZE)
        assert "timed out" in info.value.cause
        verdict = client.reconcile(info.value, late_apply_window=0)
        assert verdict.status is ReconcileStatus.NOT_PLACED
    assert posts(sim) == 1


async def test_async_reconcile_finds_the_applied_order(sim: SimHandle) -> None:
    async with AsyncClient(**sim.client_kwargs()) as client:
        await client.session.login()
        fault(sim, "apply_then_drop")
        with pytest.raises(OrderOutcomeUnknown) as info:
            await client.positions.open(EPIC, "BUY", SIZE + 1)
        result = await client.reconcile(info.value, late_apply_window=0)
        positions = (await client.positions.list()).positions
    assert result.status is ReconcileStatus.FOUND
    assert [p.position.deal_id for p in positions] == [result.deal_id]
    assert posts(sim) == 1


def test_working_order_lost_answer_is_found(sim: SimHandle) -> None:
    with Client(**sim.client_kwargs()) as client:
        market = client.markets.get(EPIC)
        level = round(market.snapshot.bid * 0.95, 4)  # a BUY LIMIT well below the market
        fault(sim, "apply_then_drop", path="/api/v1/workingorders")
        with pytest.raises(OrderOutcomeUnknown) as info:
            client.orders.create(EPIC, "BUY", SIZE, level=level, type="LIMIT")
        result = client.reconcile(info.value, late_apply_window=0)
        orders = client.orders.list().working_orders
    assert result.status is ReconcileStatus.FOUND
    assert result.working_order is not None
    assert [o.working_order_data.deal_id for o in orders] == [result.deal_id]
    assert posts(sim, "POST /api/v1/workingorders") == 1


def test_an_older_identical_position_is_not_mistaken_for_the_lost_one(sim: SimHandle) -> None:
    with Client(**sim.client_kwargs()) as client:
        older = client.positions.open(EPIC, "BUY", SIZE)
        sim.state.move_clock(advance_seconds=30)
        fault(sim, "drop")
        with pytest.raises(OrderOutcomeUnknown) as info:
            client.positions.open(EPIC, "BUY", SIZE)
        verdict = client.reconcile(info.value, late_apply_window=0)
        assert verdict.status is ReconcileStatus.NOT_PLACED
        fault(sim, "apply_then_drop")
        with pytest.raises(OrderOutcomeUnknown) as info:
            client.positions.open(EPIC, "BUY", SIZE)
        result = client.reconcile(info.value, late_apply_window=0)
    assert result.status is ReconcileStatus.FOUND
    assert result.deal_id not in older.opened_deal_ids


def test_a_position_closed_before_reconcile_is_found_in_the_activity(sim: SimHandle) -> None:
    with Client(**sim.client_kwargs()) as client:
        client.session.login()
        fault(sim, "apply_then_drop")
        with pytest.raises(OrderOutcomeUnknown) as info:
            client.positions.open(EPIC, "BUY", SIZE)
        (entry,) = client.positions.list().positions
        client.positions.close(entry.position.deal_id)
        result = client.reconcile(info.value, late_apply_window=0)
    assert result.status is ReconcileStatus.FOUND
    assert result.activity is not None
    assert result.deal_id == entry.position.deal_id


def test_two_matching_new_positions_are_reported_as_ambiguous(sim: SimHandle) -> None:
    with Client(**sim.client_kwargs()) as client:
        client.session.login()
        fault(sim, "apply_then_drop")
        with pytest.raises(OrderOutcomeUnknown) as info:
            client.positions.open(EPIC, "BUY", SIZE)
        with Client(**sim.client_kwargs()) as other:  # e.g. another process re-sent it
            other.positions.open(EPIC, "BUY", SIZE)
        result = client.reconcile(info.value, late_apply_window=0)
    assert result.status is ReconcileStatus.AMBIGUOUS
    assert len(result.candidates) == 2


def test_only_order_writes_can_be_reconciled() -> None:
    intent = OrderIntent(ep.CREATE_WATCHLIST, "/api/v1/watchlists", {}, None, 0.0)
    exc = OrderOutcomeUnknown(intent, "reset")
    with Client(base_url="http://127.0.0.1:9") as client, pytest.raises(ValueError, match="order"):
        client.reconcile(exc)


# ---- amendments, closes and cancels --------------------------------------------------------
def change_fault(sim: SimHandle, method: str, path: str, kind: str) -> None:
    sim.state.faults.add({"method": method, "path": f"re:^{path}$", "kind": kind})


def requests(sim: SimHandle, key: str) -> int:
    return int(sim.state.stats.snapshot()["requests"].get(key, 0))


@pytest.mark.parametrize(
    ("kind", "expected"),
    [("apply_then_drop", ReconcileStatus.FOUND), ("drop", ReconcileStatus.NOT_PLACED)],
)
def test_a_lost_close_is_reconciled_by_reading_the_position_back(
    sim: SimHandle, kind: str, expected: ReconcileStatus
) -> None:
    with Client(**sim.client_kwargs()) as client:
        deal_id = client.positions.open(EPIC, "BUY", SIZE).affected_deals[0].deal_id
        change_fault(sim, "DELETE", f"/api/v1/positions/{deal_id}", kind)
        with pytest.raises(OrderOutcomeUnknown) as info:
            client.positions.close(deal_id)
        assert requests(sim, "DELETE /api/v1/positions/{deal_id}") == 1  # never sent twice
        result = client.reconcile(info.value, late_apply_window=0)
        still_open = [p.position.deal_id for p in client.positions.list().positions]
    assert result.status is expected
    assert result.deal_id == deal_id
    assert (deal_id in still_open) is (expected is ReconcileStatus.NOT_PLACED)


@pytest.mark.parametrize(
    ("kind", "stop", "expected"),
    [
        ("apply_then_drop", {"stop_level": 1.0}, ReconcileStatus.FOUND),
        ("drop", {"stop_level": 1.0}, ReconcileStatus.NOT_PLACED),
        # An amount is turned into a level by the server: nothing to compare it with.
        ("apply_then_drop", {"stop_amount": 0.5}, ReconcileStatus.AMBIGUOUS),
    ],
)
async def test_a_lost_amendment_is_reconciled_by_comparing_the_levels_in_force(
    sim: SimHandle, kind: str, stop: dict[str, float], expected: ReconcileStatus
) -> None:
    async with AsyncClient(**sim.client_kwargs()) as client:
        opened = await client.positions.open(EPIC, "BUY", SIZE)
        deal_id = opened.affected_deals[0].deal_id
        level = opened.level or 1.1
        levels = {k: level - 0.01 if k == "stop_level" else v for k, v in stop.items()}
        change_fault(sim, "PUT", f"/api/v1/positions/{deal_id}", kind)
        with pytest.raises(OrderOutcomeUnknown) as info:
            await client.positions.update(deal_id, **levels)  # type: ignore[arg-type]
        result = await client.reconcile(info.value, late_apply_window=0)
    assert result.status is expected
    assert result.deal_id == deal_id


def test_an_amendment_of_a_position_closed_since_cannot_be_told(sim: SimHandle) -> None:
    with Client(**sim.client_kwargs()) as client:
        opened = client.positions.open(EPIC, "BUY", SIZE)
        deal_id = opened.affected_deals[0].deal_id
        change_fault(sim, "PUT", f"/api/v1/positions/{deal_id}", "apply_then_drop")
        with pytest.raises(OrderOutcomeUnknown) as info:
            client.positions.update(deal_id, profit_level=(opened.level or 1.0) + 0.01)
        client.positions.close(deal_id)
        result = client.reconcile(info.value, late_apply_window=0)
    assert (result.status, result.deal_id) == (ReconcileStatus.AMBIGUOUS, deal_id)


@pytest.mark.parametrize(
    ("kind", "expected"),
    [("apply_then_drop", ReconcileStatus.FOUND), ("drop", ReconcileStatus.NOT_PLACED)],
)
def test_lost_working_order_changes_are_reconciled(
    sim: SimHandle, kind: str, expected: ReconcileStatus
) -> None:
    with Client(**sim.client_kwargs()) as client:
        deal_id = client.orders.create(EPIC, "BUY", SIZE, 0.5, "LIMIT").deal_id
        assert deal_id is not None
        path = f"/api/v1/workingorders/{deal_id}"
        change_fault(sim, "PUT", path, kind)
        with pytest.raises(OrderOutcomeUnknown) as amended:
            client.orders.update(deal_id, level=0.6)
        amend = client.reconcile(amended.value, late_apply_window=0)
        change_fault(sim, "DELETE", path, kind)
        with pytest.raises(OrderOutcomeUnknown) as cancelled:
            client.orders.delete(deal_id)
        cancel = client.reconcile(cancelled.value, late_apply_window=0)
    assert (amend.status, cancel.status) == (expected, expected)
    assert requests(sim, "PUT /api/v1/workingorders/{deal_id}") == 1
    assert requests(sim, "DELETE /api/v1/workingorders/{deal_id}") == 1


def test_the_client_waits_out_a_slow_confirmation() -> None:
    """--confirm-lag-ms: confirmations answer 404 for a while; the client polls until they come."""
    config = SimConfig(
        users=(single_user(),),
        rate_limits=False,
        start_ms=START_MS,
        clock_speed=10.0,
        confirm_lag_ms=3000,  # 0.3 s of real time at speed 10
    )
    server = start_sim(config)
    try:
        sim = handle_for(server)
        with Client(**sim.client_kwargs(), confirm_timeout=10.0) as client:
            confirm = client.positions.open(EPIC, "BUY", SIZE)
        polls = requests(sim, "GET /api/v1/confirms/{deal_reference}")
    finally:
        server.stop()
    assert confirm.deal_status == "ACCEPTED"
    assert polls > 1  # 404 "not yet" at least once before the confirmation existed
