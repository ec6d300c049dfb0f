"""The engine's parts used alone, without an Engine: each built from its own dependencies."""

from __future__ import annotations

import pytest

from capitalcom_sim.engine import Engine
from capitalcom_sim.engine.accounts import AccountState
from capitalcom_sim.engine.costs import Costs
from capitalcom_sim.engine.instruments import InstrumentTable
from capitalcom_sim.engine.money import Money
from capitalcom_sim.engine.orders import WorkingOrders
from capitalcom_sim.engine.overrides import Overrides
from capitalcom_sim.engine.pathsearch import PathSearch
from capitalcom_sim.engine.prices import PriceEngine
from capitalcom_sim.engine.seeded import SeededTree
from capitalcom_sim.engine.stops import StopRules
from capitalcom_sim.engine.trading import Trading
from capitalcom_sim.engine.triggers import Triggers
from capitalcom_sim.engine.types import OpenPositionRequest, StopsRequest
from capitalcom_sim.errors import ApiError

from .conftest import WEDNESDAY_NOON

TABLE = InstrumentTable.default()
NOW = WEDNESDAY_NOON


class Parts:
    """The collaborators an Engine would wire, wired by hand."""

    def __init__(self) -> None:
        self.prices = PriceEngine(TABLE, seed=5, tick_ms=1000)
        self.money = Money(TABLE, self.prices)
        self.stops = StopRules(self.money)
        self.costs = Costs(TABLE, self.money, overnight_fees=False)
        self.trading = Trading(TABLE, self.money, self.stops, self.costs, tick_ms=1000)
        self.orders = WorkingOrders(TABLE, self.money, self.stops, self.trading)
        self.account = AccountState("A1", "C1", "USD", 10_000.0)
        self.accounts = {"A1": self.account}
        self.triggers = Triggers(
            self.accounts,
            TABLE,
            self.prices,
            self.money,
            self.trading,
            self.orders,
            self.costs,
            stop_out_level=None,
            start_ms=NOW,
        )

    def pin(self, epic: str, mid: float, at: int = NOW) -> None:
        self.prices.pin(epic, at, round(mid * TABLE.require(epic).scale))


@pytest.fixture
def parts() -> Parts:
    return Parts()


def test_money_converts_through_the_inverse_pair_and_prices_pnl(parts: Parts) -> None:
    parts.pin("EURUSD", 1.25)
    assert parts.money.fx_rate("USD", "EUR", NOW) == pytest.approx(0.8)
    parts.pin("GOLD", 2000.0)
    reference = parts.trading.open_position(
        parts.account, OpenPositionRequest("GOLD", "BUY", 2), NOW
    )
    [position] = parts.account.positions.values()
    assert parts.account.confirms[reference].level == position.level == 2000.15
    parts.pin("GOLD", 2010.0, NOW + 1000)  # bid 2009.85
    assert parts.money.upl(parts.account, position, NOW + 1000) == pytest.approx(19.4)


def test_stop_rules_turn_a_distance_into_a_level_and_refuse_one_too_far(parts: Parts) -> None:
    gold = TABLE.require("GOLD")
    resolved = parts.stops.resolve(
        parts.account, gold, "BUY", 1, 2000.0, 2000.0, StopsRequest(stop_distance=10), NOW
    )
    assert resolved.stop_level == 1990.0
    with pytest.raises(ApiError) as caught:
        parts.stops.resolve(
            parts.account, gold, "BUY", 1, 2000.0, 2000.0, StopsRequest(stop_level=1.0), NOW
        )
    assert (caught.value.code, caught.value.value) == ("error.invalid.stoploss.minvalue", "800.0")


def test_triggers_close_a_position_at_its_stop_on_the_price_path(parts: Parts) -> None:
    parts.pin("GOLD", 2000.0)
    parts.trading.open_position(
        parts.account, OpenPositionRequest("GOLD", "BUY", 1, StopsRequest(stop_level=1990.0)), NOW
    )
    [deal_id] = parts.account.positions
    inst = TABLE.require("GOLD")
    parts.prices.set_path(
        "GOLD", [(NOW + 10_000, 2000 * inst.scale), (NOW + 70_000, 1980 * inst.scale)]
    )
    parts.triggers.run(NOW + 120_000)
    assert deal_id not in parts.account.positions
    closing = parts.account.activities[-1]
    assert (closing.deal_id, closing.source, closing.type) == (deal_id, "SL", "POSITION")
    assert parts.triggers.processed_ms == NOW + 120_000


def test_overrides_and_path_search_work_without_a_price_engine() -> None:
    tree = SeededTree(TABLE, seed=5, tick_ms=1000)
    overrides = Overrides(1000)
    search = PathSearch(TABLE, tree, overrides)
    overrides.set_path("SILVER", [(NOW, 2500), (NOW + 60_000, 2560)])
    assert overrides.value_at("SILVER", NOW + 30_000) == 2530
    assert search.first_cross("SILVER", NOW, NOW + 60_000, None, 2550) == (NOW + 50_000, 2550)
    overrides.release("SILVER", NOW + 40_000)
    assert overrides.value_at("SILVER", NOW + 50_000) is None
    assert overrides.within("SILVER", NOW, NOW + 40_000)
    assert overrides.within("SILVER", NOW + 40_000, NOW + 60_000) == []


def test_engine_and_price_engine_are_facades_not_mixin_chains() -> None:
    assert Engine.__bases__ == (object,)
    assert PriceEngine.__bases__ == (object,)
    for part in (Money, StopRules, Costs, Trading, WorkingOrders, Triggers, PathSearch):
        assert part.__bases__ == (object,), part
