"""Order safety end to end: a lost answer raises OrderOutcomeUnknown, reconcile finds the truth."""

from __future__ import annotations

import httpx
import pytest

from capitalcom_sdk import AsyncClient, Client, OrderOutcomeUnknown
from capitalcom_sdk._reconcile import ReconcileStatus
from capitalcom_sim.config import SimConfig, single_user
from tests.conftest import SimHandle

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
        result = client.reconcile(info.value)
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
        result = client.reconcile(info.value)
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
        assert client.reconcile(info.value).status is ReconcileStatus.NOT_PLACED
    assert posts(sim) == 1


async def test_async_reconcile_finds_the_applied_order(sim: SimHandle) -> None:
    async with AsyncClient(**sim.client_kwargs()) as client:
        await client.session.login()
        fault(sim, "apply_then_drop")
        with pytest.raises(OrderOutcomeUnknown) as info:
            await client.positions.open(EPIC, "BUY", SIZE + 1)
        result = await client.reconcile(info.value)
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
        result = client.reconcile(info.value)
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
        assert client.reconcile(info.value).status is ReconcileStatus.NOT_PLACED
        fault(sim, "apply_then_drop")
        with pytest.raises(OrderOutcomeUnknown) as info:
            client.positions.open(EPIC, "BUY", SIZE)
        result = client.reconcile(info.value)
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
        result = client.reconcile(info.value)
    assert result.status is ReconcileStatus.FOUND
    assert result.activity is not None
    assert result.deal_id == entry.position.deal_id


def test_two_matching_new_positions_are_reported_as_ambiguous(sim: SimHandle) -> None:
    with Client(**sim.client_kwargs()) as client:
        client.session.login()
        fault(sim, "apply_then_drop")
        with pytest.raises(OrderOutcomeUnknown) as info:
            client.positions.open(EPIC, "BUY", SIZE)
        client.positions.open(EPIC, "BUY", SIZE)  # e.g. another process re-sent it
        result = client.reconcile(info.value)
    assert result.status is ReconcileStatus.AMBIGUOUS
    assert len(result.candidates) == 2


def test_only_order_creation_can_be_reconciled() -> None:
    exc = OrderOutcomeUnknown("positions.close", "/api/v1/positions/x", None, 0.0, "reset")
    with Client(base_url="http://127.0.0.1:9") as client, pytest.raises(ValueError, match="close"):
        client.reconcile(exc)
