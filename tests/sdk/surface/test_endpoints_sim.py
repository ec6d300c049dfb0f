"""Every endpoint of endpoints.tsv, exercised against the simulator by both clients.

One scenario is written once as a coroutine; the async client runs it directly, the sync client
through a proxy that makes its (blocking) methods awaitable. The simulator's request statistics
then prove that every documented route was hit, by each client on its own simulator.
"""

from __future__ import annotations

import asyncio
import csv
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from capitalcom_sdk import (
    AsyncClient,
    Client,
    Confirm,
    DealReference,
    Direction,
    OrderType,
    Resolution,
)
from capitalcom_sdk.models import DealStatus, LeverageGroup, MarketDetails
from capitalcom_sim.config import SimConfig, single_user
from tests.conftest import SimHandle

REPO = Path(__file__).resolve().parents[3]
TSV = REPO.parent / "shared" / "api" / "endpoints.tsv"
# Wednesday 2026-03-04 12:00 UTC: commodities and FX are open.
WEDNESDAY_NOON_MS = int(datetime(2026, 3, 4, 12, 0, tzinfo=UTC).timestamp() * 1000)


@pytest.fixture
def sim_config() -> SimConfig:
    return SimConfig(users=(single_user(),), rate_limits=False, seed=7, start_ms=WEDNESDAY_NOON_MS)


class _Recorded:
    """Proxy of a client that records every result; makes a sync client's methods awaitable so
    one scenario serves both clients."""

    def __init__(self, target: Any, results: list[Any], sync: bool) -> None:
        self._target = target
        self._results = results
        self._sync = sync

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._target, name)
        if not callable(value):
            return _Recorded(value, self._results, self._sync)

        async def call(*args: Any, **kwargs: Any) -> Any:
            result = value(*args, **kwargs) if self._sync else await value(*args, **kwargs)
            self._results.append(result)
            return result

        return call


LEGACY_NAMES = {
    "controlledRiskAllowed",
    "minControlledRiskStopDistance",
    "minNormalStopOrLimitDistance",
    "maxStopOrLimitDistance",
}


def unknown_fields(value: Any, where: str = "") -> set[str]:
    """Wire names kept as extras anywhere in ``value`` (fields no model declares)."""
    found: set[str] = set()
    if isinstance(value, BaseModel):
        name = type(value).__name__
        found |= {f"{name}.{key}" for key in value.model_extra or {} if key not in LEGACY_NAMES}
        for field in type(value).model_fields:
            found |= unknown_fields(getattr(value, field))
    elif isinstance(value, list | tuple):
        for item in value:
            found |= unknown_fields(item)
    elif isinstance(value, dict):
        for item in value.values():
            found |= unknown_fields(item)
    return found


def _template(key: str) -> str:
    return re.sub(r"\{[^}]+\}", "{}", key)


def _documented_routes() -> set[str]:
    with TSV.open(encoding="utf-8", newline="") as handle:
        return {
            _template(f"{row['method']} {row['path']}")
            for row in csv.DictReader(handle, delimiter="\t")
        }


async def scenario(c: Any) -> None:
    """Calls every endpoint at least once, checking the answers make sense."""
    server_time = (await c.general.server_time()).server_time
    assert abs(server_time - WEDNESDAY_NOON_MS) < 600_000  # sim clock started there
    key = await c.session.encryption_key()
    assert key.time_stamp > 0
    login = await c.session.login(encrypted=True)
    login = await c.session.login(encrypted=False)
    assert (await c.general.ping()).status == "OK"
    details = await c.session.details()
    assert details.account_id == login.current_account_id

    accounts = (await c.accounts.list()).accounts
    assert {a.account_id for a in accounts} >= {login.current_account_id}
    preferences = await c.accounts.preferences()
    shares = preferences.leverages[LeverageGroup.SHARES]
    assert (await c.accounts.update_preferences(leverages={"SHARES": shares.current})).status
    assert (await c.accounts.top_up(100)).successful

    nodes = (await c.markets.navigation()).nodes
    assert nodes
    child = await c.markets.navigation(nodes[0].id, limit=10)
    assert child.nodes or child.markets
    assert (await c.markets.search()).markets
    found = (await c.markets.search("silver")).markets
    assert "SILVER" in {m.epic for m in found}
    details_list = (await c.markets.search(epics=["SILVER", "GOLD"])).market_details
    assert [d.instrument.epic for d in details_list] == ["SILVER", "GOLD"]
    silver: MarketDetails = await c.markets.get("SILVER")
    assert silver.snapshot is not None
    assert silver.snapshot.bid is not None

    bars = (await c.prices.get("SILVER", Resolution.MINUTE, max_bars=5)).prices
    assert 1 <= len(bars) <= 5
    assert all(b.snapshot_time_utc.tzinfo is UTC for b in bars)

    sentiments = (await c.sentiment.list(["SILVER", "GOLD"])).client_sentiments
    assert {s.market_id for s in sentiments} == {"SILVER", "GOLD"}
    one = await c.sentiment.get("SILVER")
    assert abs(one.long_position_percentage + one.short_position_percentage - 100) < 0.01

    created = await c.watchlists.create("Metals", epics=["GOLD"])
    assert created.watchlist_id in {w.id for w in (await c.watchlists.list()).watchlists}
    assert (await c.watchlists.add_market(created.watchlist_id, "SILVER")).status == "SUCCESS"
    listed = {m.epic for m in (await c.watchlists.get(created.watchlist_id)).markets}
    assert listed == {"GOLD", "SILVER"}
    await c.watchlists.remove_market(created.watchlist_id, "GOLD")
    await c.watchlists.delete(created.watchlist_id)

    confirm: Confirm = await c.positions.open("SILVER", Direction.BUY, 1, stop_distance=2)
    assert confirm.deal_status == DealStatus.ACCEPTED
    (deal_id,) = confirm.opened_deal_ids
    assert deal_id in {p.position.deal_id for p in (await c.positions.list()).positions}
    position = (await c.positions.get(deal_id)).position
    assert position.direction == Direction.BUY
    assert (await c.positions.update(deal_id, profit_distance=3)).accepted
    reference: DealReference = await c.positions.close(deal_id, confirm=False)
    assert (await c.confirms.get(reference.deal_reference)).deal_reference == (
        reference.deal_reference
    )

    level = round(silver.snapshot.bid * 0.8, 2)
    expiry = datetime.fromtimestamp(WEDNESDAY_NOON_MS / 1000, UTC) + timedelta(days=365 * 20)
    order = await c.orders.create("SILVER", "BUY", 1, level, OrderType.LIMIT, good_till_date=expiry)
    orders = (await c.orders.list()).working_orders
    assert order.deal_id in {o.working_order_data.deal_id for o in orders}
    await c.orders.update(order.deal_id, level=round(level * 0.99, 2))
    await c.orders.delete(order.deal_id)
    assert order.deal_id not in {
        o.working_order_data.deal_id for o in (await c.orders.list()).working_orders
    }

    activity = (await c.history.activity(last_period=3600, detailed=True)).activities
    assert activity
    await c.history.transactions(last_period=3600)

    other = next((a.account_id for a in accounts if a.account_id != details.account_id), None)
    if other is not None:
        await c.session.switch_account(other)
        assert (await c.session.details()).account_id == other
    assert (await c.session.logout()).status in {"SUCCESS", None}


def _hit_routes(sim: SimHandle) -> set[str]:
    return {_template(key) for key in sim.state.stats.snapshot()["requests"]}


def test_sync_client_exercises_every_endpoint(sim: SimHandle) -> None:
    results: list[Any] = []
    with Client(**sim.client_kwargs(), rate_limit=False) as client:
        asyncio.run(scenario(_Recorded(client, results, sync=True)))
    assert _documented_routes() - _hit_routes(sim) == set()
    assert unknown_fields(results) == set(), "the models declare every field the simulator sends"


async def test_async_client_exercises_every_endpoint(sim: SimHandle) -> None:
    results: list[Any] = []
    async with AsyncClient(**sim.client_kwargs(), rate_limit=False) as client:
        await scenario(_Recorded(client, results, sync=False))
    assert _documented_routes() - _hit_routes(sim) == set()
    assert unknown_fields(results) == set()
    assert len(results) >= 40  # one per client call of the scenario


def test_unknown_fields_finds_extras_but_not_legacy_names() -> None:
    market = MarketDetails.model_validate(
        {"instrument": {"epic": "X", "controlledRiskAllowed": True, "newThing": 1}}
    )
    assert unknown_fields([market]) == {"Instrument.newThing"}
