"""Amendments, closes and cancels through the safety layer: checked from the deal's own
direction and reference, journaled, and agreeing with the simulator's verdict."""

from __future__ import annotations

from pathlib import Path

import pytest

from capitalcom_sdk import Client
from capitalcom_sdk.errors import DealRejectedError, InvalidRequestError
from capitalcom_sdk.trading import (
    DealingRuleViolation,
    MarketClosedError,
    MarketRules,
    OrderJournal,
    Safety,
    safety_overrides,
)
from capitalcom_sdk.trading.rules import next_opening
from tests.conftest import SimHandle


def _server_accepts(client: Client, deal_id: str, **stops: float) -> bool:
    try:
        with safety_overrides(checks=False):
            client.positions.update(deal_id, **stops)  # type: ignore[arg-type]
    except (InvalidRequestError, DealRejectedError):
        return False
    return True


def test_position_amendments_agree_with_the_server(sim: SimHandle, tmp_path: Path) -> None:
    client = Client(
        **sim.client_kwargs(), rate_limit=False, safety=Safety(journal=OrderJournal(tmp_path))
    )
    confirm = client.positions.open("BTCUSD", "SELL", 0.01)
    (deal_id,) = confirm.opened_deal_ids
    rules = MarketRules.from_details(client.markets.get("BTCUSD"))
    reference = rules.closing_price("SELL")
    assert reference is not None
    assert rules.min_distance is not None
    near = rules.min_distance.of(reference)
    verdicts = []
    for distance in (near * 0.5, near - 0.01, near + 0.01, near * 3, reference * 0.95):
        distance = round(distance, 2)
        for key in ("stop_distance", "profit_distance"):
            try:
                client.positions.update(deal_id, **{key: distance})  # type: ignore[arg-type]
            except DealingRuleViolation:
                predicted = False
            else:
                predicted = True
            actual = predicted or _server_accepts(client, deal_id, **{key: distance})
            verdicts.append((key, distance, predicted, actual))
    # Amounts (account currency) count from the position's open level and size.
    opened = client.positions.get(deal_id).position
    refusals: list[tuple[str, str]] = []
    for distance in (near * 0.5, near * 3):
        for key, level in (
            ("stop_amount", reference + distance),
            ("profit_amount", reference - distance),
        ):
            amount = round(abs(level - opened.level) * opened.size, 2)  # a USD market and account
            if amount <= 0:
                continue
            try:
                client.positions.update(deal_id, **{key: amount})  # type: ignore[arg-type]
            except DealingRuleViolation as exc:
                refusals.append((exc.field, str(exc)))
                predicted = False
            else:
                predicted = True
            actual = predicted or _server_accepts(client, deal_id, **{key: amount})
            verdicts.append((key, amount, predicted, actual))
    assert all(p == a for _, _, p, a in verdicts), verdicts
    assert {p for k, _, p, _ in verdicts if k.endswith("amount")} == {True, False}
    assert {field for field, _ in refusals} <= {"stopAmount", "profitAmount"}
    assert all("(account currency)" in text for _, text in refusals), refusals
    client.positions.close(deal_id)
    account = client.session.details().account_id
    statuses = {(e.endpoint, e.status) for e in OrderJournal(tmp_path).entries(account)}
    assert ("positions.update", "confirmed") in statuses
    assert ("positions.close", "confirmed") in statuses


def test_working_order_amendment_and_cancel(sim: SimHandle) -> None:
    client = Client(**sim.client_kwargs(), rate_limit=False, safety=Safety())
    rules = MarketRules.from_details(client.markets.get("BTCUSD"))
    assert rules.bid is not None
    level = round(rules.bid * 0.9, 2)
    order = client.orders.create("BTCUSD", "BUY", 0.01, level, "LIMIT")
    assert order.deal_id is not None
    with pytest.raises(DealingRuleViolation) as exc:
        client.orders.update(order.deal_id, stop_distance=0.01)
    assert exc.value.rule == "minStopOrProfitDistance"
    client.orders.update(order.deal_id, stop_distance=round(level * 0.05, 2))
    client.orders.delete(order.deal_id)
    assert client.orders.list().working_orders == []


def test_closed_market_names_the_next_opening(sim: SimHandle) -> None:
    client = Client(**sim.client_kwargs(), rate_limit=False, safety=Safety())
    with pytest.raises(MarketClosedError) as exc:
        client.positions.open("5CPSG", "BUY", 1)  # Singapore shares: 01:00-09:00 UTC
    next_open = exc.value.next_open
    assert next_open is not None
    now = sim.state.clock.now()
    assert next_open > now
    assert (next_open.hour, next_open.minute) == (1, 0)
    inst = sim.state.engine.instruments.require("5CPSG")
    assert int(next_open.timestamp() * 1000) == inst.opening_hours.next_open_after(
        sim.state.clock.now_ms()
    )
    assert next_opening(None, now) is None
