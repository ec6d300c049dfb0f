"""Fail closed: a failed read is an error, never "no positions" (trade feed, reconcile, the
journal's pending writes)."""

from __future__ import annotations

from pathlib import Path

import pytest

from capitalcom_sdk import Client
from capitalcom_sdk import _endpoints as ep
from capitalcom_sdk._intent import OrderIntent
from capitalcom_sdk.errors import OrderOutcomeUnknown, ServerError
from capitalcom_sdk.streaming import TradeFeed
from capitalcom_sdk.trading import OrderJournal, Safety
from capitalcom_sim.config import SimConfig, single_user
from tests.conftest import SimHandle
from tests.sdk.trading.conftest import WEDNESDAY_1400_UTC


@pytest.fixture
def sim_config() -> SimConfig:
    """A running clock: reconcile maps the client's send time onto the server's clock, which a
    frozen clock would make ambiguous for a deal made a moment after the request."""
    return SimConfig(
        users=(single_user(),), rate_limits=False, seed=11, start_ms=WEDNESDAY_1400_UTC
    )


def _fail(sim: SimHandle, method: str, path: str, times: int = 5) -> None:
    sim.state.faults.add(
        {"method": method, "path": path, "kind": "status", "status": 503, "times": times}
    )


def test_trade_feed_poll_failure_raises_and_reports_no_close(sim: SimHandle) -> None:
    client = Client(**sim.client_kwargs(), rate_limit=False, max_retries=0)
    client.positions.open("BTCUSD", "BUY", 0.01)
    feed = TradeFeed(client, interval=0.05)
    feed.poll()
    _fail(sim, "GET", "/api/v1/positions", times=1)
    with pytest.raises(ServerError):
        feed.poll()
    assert feed.poll() == []  # the position is still there: nothing was "closed"


def test_reconcile_read_failure_is_an_error_not_not_placed(sim: SimHandle) -> None:
    client = Client(**sim.client_kwargs(), rate_limit=False, max_retries=0)
    client.positions.open("BTCUSD", "BUY", 0.01)
    intent = OrderIntent(
        endpoint=ep.OPEN_POSITION,
        path="/api/v1/positions",
        body={"epic": "BTCUSD", "direction": "BUY", "size": 0.01},
        account_id=None,
        sent_at=0.0,
    )
    lost = OrderOutcomeUnknown(intent, "test")
    _fail(sim, "GET", "/api/v1/positions")
    with pytest.raises(ServerError):
        client.reconcile(lost)


def test_reconcile_pending_failure_leaves_the_write_pending(sim: SimHandle, tmp_path: Path) -> None:
    journal = OrderJournal(tmp_path)
    client = Client(
        **sim.client_kwargs(), rate_limit=False, max_retries=0, safety=Safety(journal=journal)
    )
    sim.state.faults.add({"method": "POST", "path": "/api/v1/positions", "kind": "apply_then_drop"})
    with pytest.raises(OrderOutcomeUnknown):
        client.positions.open("BTCUSD", "BUY", 0.01)
    account = client.session.details().account_id
    _fail(sim, "GET", "/api/v1/positions")
    with pytest.raises(ServerError):
        client.reconcile_pending()
    assert [e.status for e in journal.pending(account)] == ["unknown"]
    sim.state.faults.clear()
    (settled,) = client.reconcile_pending()
    assert settled.verdict == "FOUND"
    assert journal.pending(account) == []
    assert journal.owned_deal_ids(account)


def test_a_failed_confirm_poll_is_journaled_pending_not_refused(
    sim: SimHandle, tmp_path: Path
) -> None:
    journal = OrderJournal(tmp_path)
    client = Client(
        **sim.client_kwargs(), rate_limit=False, max_retries=0, safety=Safety(journal=journal)
    )
    account = client.session.details().account_id
    _fail(sim, "GET", "/api/v1/confirms/")
    with pytest.raises((ServerError, OrderOutcomeUnknown)):
        client.positions.open("BTCUSD", "BUY", 0.01)
    (entry,) = journal.pending(account)
    assert entry.status == "unknown"
    assert entry.deal_reference is not None  # the write was answered
    sim.state.faults.clear()
    (settled,) = client.reconcile_pending()
    assert (settled.status, settled.verdict) == ("reconciled", "FOUND")
    assert journal.owned_deal_ids(account)
