"""TradingPolicy, dry-run, the journal and ownership through both clients against the simulator."""

from __future__ import annotations

from pathlib import Path

import pytest

from capitalcom_sdk import AsyncClient, Client
from capitalcom_sdk.errors import InvalidRequestError
from capitalcom_sdk.trading import (
    DealingRuleViolation,
    DryRunConfirm,
    OrderJournal,
    PolicyViolation,
    Safety,
    TradingPolicy,
    safety_overrides,
)
from tests.conftest import SimHandle


def _client(sim: SimHandle, **safety: object) -> Client:
    return Client(**sim.client_kwargs(), rate_limit=False, safety=Safety(**safety))  # type: ignore[arg-type]


def _open_positions(sim: SimHandle) -> int:
    return sum(len(a.positions) for a in sim.state.engine.accounts.values())


def test_policy_refuses_before_anything_is_sent(sim: SimHandle) -> None:
    policy = TradingPolicy(allowed_epics=frozenset({"BTCUSD"}), max_order_size=0.05)
    client = _client(sim, policy=policy)
    with pytest.raises(PolicyViolation) as not_allowed:
        client.positions.open("ETHUSD", "BUY", 0.01)
    assert not_allowed.value.rule == "allowed_epics"
    with pytest.raises(PolicyViolation) as too_big:
        client.positions.open("BTCUSD", "BUY", 0.06)
    assert too_big.value.rule == "max_order_size"
    assert "0.06" in str(too_big.value)
    assert _open_positions(sim) == 0
    client.positions.open("BTCUSD", "BUY", 0.05)
    assert _open_positions(sim) == 1


def test_max_open_positions_and_exposure_per_epic(sim: SimHandle) -> None:
    policy = TradingPolicy(max_open_positions=2, max_exposure_per_epic=0.03)
    client = _client(sim, policy=policy)
    client.positions.open("BTCUSD", "BUY", 0.02)
    with pytest.raises(PolicyViolation) as exposure:
        client.positions.open("BTCUSD", "SELL", 0.02)
    assert exposure.value.rule == "max_exposure_per_epic"
    client.positions.open("ETHUSD", "BUY", 0.01)
    with pytest.raises(PolicyViolation) as count:
        client.positions.open("LTCUSD", "BUY", 1)
    assert count.value.rule == "max_open_positions"
    assert _open_positions(sim) == 2


def test_orders_per_hour_counted_from_the_journal_across_clients(
    sim: SimHandle, tmp_path: Path
) -> None:
    policy = TradingPolicy(max_orders_per_hour=2)
    first = _client(sim, policy=policy, journal=OrderJournal(tmp_path))
    first.positions.open("BTCUSD", "BUY", 0.01)
    first.positions.open("BTCUSD", "BUY", 0.01)
    restarted = _client(sim, policy=policy, journal=OrderJournal(tmp_path))
    with pytest.raises(PolicyViolation) as exc:
        restarted.positions.open("BTCUSD", "BUY", 0.01)
    assert exc.value.rule == "max_orders_per_hour"


def test_daily_loss_stops_placements_but_not_closes(sim: SimHandle) -> None:
    client = _client(sim, policy=TradingPolicy(max_daily_loss=0.01))
    opened = client.positions.open("BTCUSD", "BUY", 0.01)
    client.positions.close(opened.opened_deal_ids[0])  # closing at the bid: the spread is lost
    with pytest.raises(PolicyViolation) as exc:
        client.positions.open("BTCUSD", "BUY", 0.01)
    assert exc.value.rule == "max_daily_loss"


def test_dry_run_checks_everything_and_sends_nothing(sim: SimHandle, tmp_path: Path) -> None:
    journal = OrderJournal(tmp_path)
    client = _client(sim, policy=TradingPolicy(dry_run=True), journal=journal)
    confirm = client.positions.open("BTCUSD", "BUY", 0.01, stop_distance=2000)
    assert isinstance(confirm, DryRunConfirm)
    assert confirm.dry_run
    assert confirm.deal_reference.startswith("dryrun-")
    with pytest.raises(DealingRuleViolation):
        client.positions.open("BTCUSD", "BUY", 0.0001)
    assert _open_positions(sim) == 0
    account = next(iter(sim.state.engine.accounts))
    assert [e.status for e in journal.entries(account)] == ["dry_run"]


def test_live_trading_needs_the_explicit_flag() -> None:
    client = Client(
        "key",
        "id",
        "pw",
        env="live",
        base_url="http://127.0.0.1:9",
        safety=Safety(checks=False, policy=TradingPolicy()),
    )
    with pytest.raises(PolicyViolation) as exc:
        client.positions.open("BTCUSD", "BUY", 0.01)
    assert exc.value.rule == "allow_live"


def test_checks_off_per_client_and_per_call_and_rounding_only_when_asked(sim: SimHandle) -> None:
    client = _client(sim)
    with pytest.raises(DealingRuleViolation) as exc:
        client.positions.open("BTCUSD", "BUY", 0.0105)
    assert exc.value.rule == "minSizeIncrement"
    with safety_overrides(round_size=True):
        confirm = client.positions.open("BTCUSD", "BUY", 0.0105)
    assert confirm.size == pytest.approx(0.01)
    unchecked = _client(sim, checks=False)
    with pytest.raises(InvalidRequestError) as server:  # sent: the server refused it
        unchecked.positions.open("BTCUSD", "BUY", 0.0105)
    assert server.value.error_code == "error.invalid.size"


def test_journal_records_every_write_and_ownership(sim: SimHandle, tmp_path: Path) -> None:
    journal = OrderJournal(tmp_path)
    client = _client(sim, journal=journal)
    mine = client.positions.open("BTCUSD", "BUY", 0.01)
    order = client.orders.create("BTCUSD", "BUY", 0.01, 1000.0, "LIMIT")
    other = Client(**sim.client_kwargs(), rate_limit=False).positions.open("ETHUSD", "BUY", 1)
    account = next(iter(sim.state.engine.accounts))
    entries = journal.entries(account)
    assert [(e.endpoint, e.status, e.verdict) for e in entries] == [
        ("positions.open", "confirmed", "ACCEPTED"),
        ("orders.create", "confirmed", "ACCEPTED"),
    ]
    assert entries[0].deal_reference == mine.deal_reference
    owned = journal.owned_deal_ids(account)
    assert set(mine.opened_deal_ids) <= owned
    assert order.deal_id in owned
    assert not set(other.opened_deal_ids) & owned
    assert journal.path_for(account).exists()
    assert (tmp_path / f"{account}.sqlite3-wal").exists()  # WAL mode


async def test_async_client_runs_the_same_checks_and_policy(sim: SimHandle, tmp_path: Path) -> None:
    journal = OrderJournal(tmp_path)
    safety = Safety(policy=TradingPolicy(max_order_size=0.05), journal=journal)
    async with AsyncClient(**sim.client_kwargs(), rate_limit=False, safety=safety) as client:
        with pytest.raises(DealingRuleViolation):
            await client.positions.open("BTCUSD", "BUY", 0.0001)
        with pytest.raises(PolicyViolation):
            await client.positions.open("BTCUSD", "BUY", 0.5)
        confirm = await client.positions.open("BTCUSD", "BUY", 0.01)
        assert confirm.accepted
        assert await client.reconcile_pending() == []
    account = next(iter(sim.state.engine.accounts))
    assert [e.status for e in journal.entries(account)] == ["confirmed"]


def test_total_exposure_in_the_account_currency(sim: SimHandle) -> None:
    client = _client(sim, policy=TradingPolicy(max_total_exposure=3000.0))
    client.positions.open("DE40", "BUY", 0.1)  # ~1 800 EUR notional, ~1 950 USD
    with pytest.raises(PolicyViolation) as exc:
        client.positions.open("DE40", "BUY", 0.1)  # ~3 900 USD in total
    assert exc.value.rule == "max_total_exposure"
    assert 3500 < float(exc.value.value) < 4300  # type: ignore[arg-type]
    client.positions.open("BTCUSD", "BUY", 0.001)  # ~65 USD: still under the limit
