"""Safety layer: the added cost per order write of the pre-trade checks and the journal.

The order-write flow is driven in-process with canned answers (no network), once plain
(``deal_flow``) and once through the safety layer (warm market cache, checks on, a policy with
per-order limits, the SQLite journal on a temporary directory: intent, sent and outcome rows
committed per write). The figure is the difference per write: what the safety layer adds on top
of the request itself, which it never changes.
"""

from __future__ import annotations

import tempfile
import time
from typing import Any

from bench._common import Figure, Section, median
from capitalcom_sdk import _endpoints as ep
from capitalcom_sdk._flow import OrderWrite, SentWrite
from capitalcom_sdk._intent import OrderIntent
from capitalcom_sdk.models.general import DealReference
from capitalcom_sdk.models.markets import MarketDetails
from capitalcom_sdk.models.trading import Confirm
from capitalcom_sdk.resources import _trading as trading
from capitalcom_sdk.resources._trading import deal_flow
from capitalcom_sdk.trading import Guard, OrderJournal, Safety, TradingPolicy

TARGET_MS = 2.0
MARKET = MarketDetails.model_validate(
    {
        "instrument": {"epic": "BTCUSD", "currency": "USD", "guaranteedStopAllowed": False},
        "dealingRules": {
            "minDealSize": {"unit": "POINTS", "value": 0.001},
            "maxDealSize": {"unit": "POINTS", "value": 1000},
            "minSizeIncrement": {"unit": "POINTS", "value": 0.001},
            "minStopOrProfitDistance": {"unit": "PERCENTAGE", "value": 0.5},
            "maxStopOrProfitDistance": {"unit": "PERCENTAGE", "value": 90},
            "trailingStopsPreference": "AVAILABLE",
        },
        "snapshot": {
            "marketStatus": "TRADEABLE",
            "bid": 65000.0,
            "offer": 65030.0,
            "decimalPlacesFactor": 2,
        },
    }
)
REFERENCE = DealReference(dealReference="o_bench")
CONFIRM = Confirm.model_validate(
    {
        "dealReference": "o_bench",
        "dealStatus": "ACCEPTED",
        "dealId": "order-1",
        "affectedDeals": [{"dealId": "position-1", "status": "OPENED"}],
    }
)


class _Core:
    account_id = "bench-account"
    login_response = None


def _drive(flow: Any) -> Any:
    answer: Any = None
    while True:
        try:
            action = flow.send(answer)
        except StopIteration as stop:
            return stop.value
        if isinstance(action, OrderWrite):
            intent = OrderIntent(
                action.call.endpoint, action.call.path, action.call.body or {}, None, time.time()
            )
            answer = SentWrite(REFERENCE, intent)
            continue
        endpoint = action.endpoint
        if endpoint is ep.MARKET:
            answer = MARKET
        elif endpoint is ep.CONFIRM:
            answer = CONFIRM
        else:
            answer = REFERENCE


def _per_write_ms(make_flow: Any, writes: int) -> float:
    started = time.perf_counter()
    for _ in range(writes):
        _drive(make_flow())
    return (time.perf_counter() - started) * 1000.0 / writes


def run(writes: int = 2000, rounds: int = 5) -> Section:
    """Median over ``rounds`` of the added milliseconds per order write."""
    section = Section("8. Safety layer per order write")
    with tempfile.TemporaryDirectory() as directory:
        journal = OrderJournal(directory)
        policy = TradingPolicy(allowed_epics=frozenset({"BTCUSD"}), max_order_size=1.0)
        guard = Guard(Safety(policy=policy, journal=journal), live=False)
        core = _Core()

        def call() -> Any:
            return trading.open_position("BTCUSD", "BUY", 0.01, {"stop_distance": 1000.0})

        def plain() -> Any:
            return deal_flow(call(), confirm=True, timeout=5.0)

        def guarded() -> Any:
            return guard.deal_flow(core, call(), confirm=True, timeout=5.0)

        _drive(guarded())  # warm the market cache
        added, base = [], []
        for _ in range(rounds):
            plain_ms = _per_write_ms(plain, writes)
            guarded_ms = _per_write_ms(guarded, writes)
            base.append(plain_ms)
            added.append(guarded_ms - plain_ms)
        journal.close()
    value = median(added)
    section.figures.append(
        Figure(
            section.title,
            "checks + policy + journal (SQLite WAL), warm market cache, added per write",
            value,
            "ms",
            baseline=median(base),
            baseline_name="the plain write flow (no network)",
            target=f"< {TARGET_MS:g} ms",
            met=value < TARGET_MS,
            note=f"{writes} writes x {rounds} rounds, median round",
        )
    )
    section.notes.append(
        "Measured by bench/trading.py: the order-write flow driven in-process with canned"
        " answers, so the figure is the safety layer's own cost (dealing-rule checks, policy"
        " limits, three journal commits), not the network."
    )
    return section
