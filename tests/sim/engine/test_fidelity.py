"""The engine matches what the real servers were seen doing (issue 13): one test per difference."""

from __future__ import annotations

from dataclasses import replace

import pytest

from capitalcom_sim.config import ConfigError, SimConfig
from capitalcom_sim.engine import Clock, Engine
from capitalcom_sim.engine.costs import next_fee_after
from capitalcom_sim.engine.types import (
    OpenPositionRequest,
    StopsRequest,
    WorkingOrderAmend,
    WorkingOrderRequest,
)
from capitalcom_sim.errors import ApiError

from .conftest import DAY, HOUR, USD_ACCOUNT, WEDNESDAY_NOON, make_config

# Wednesday 2026-07-15 12:00 UTC: US (and UK) daylight saving time.
JULY_WEDNESDAY_NOON = 1_784_116_800_000


def order(direction: str, level: float, kind: str = "STOP") -> WorkingOrderRequest:
    return WorkingOrderRequest("SILVER", direction, 1, level, kind)  # type: ignore[arg-type]


def refused(engine: Engine, request: WorkingOrderRequest) -> str:
    with pytest.raises(ApiError) as caught:
        engine.create_working_order(USD_ACCOUNT, request)
    assert caught.value.status == 400
    return caught.value.error_code


# ---- 1. STOP orders inside the minimum distance or on the wrong side ------------------------
def test_stop_orders_on_the_wrong_side_or_too_near_are_refused_at_once(engine: Engine) -> None:
    bid, offer = engine.set_price("SILVER", mid=25.0)  # 24.99 / 25.01, min distance 0.01 %
    assert refused(engine, order("BUY", 24.5)) == "error.validation.stop.price"  # below
    assert refused(engine, order("BUY", offer)) == "error.validation.stop.price"  # at the offer
    assert refused(engine, order("BUY", 25.012)) == "error.validation.stop.price"  # < 0.01 % away
    assert refused(engine, order("SELL", 25.5)) == "error.validation.stop.price"
    assert refused(engine, order("SELL", bid)) == "error.validation.stop.price"
    assert engine.working_orders(USD_ACCOUNT) == []
    assert engine.activities(USD_ACCOUNT, 0, WEDNESDAY_NOON + DAY) == []  # nothing recorded
    reference = engine.create_working_order(USD_ACCOUNT, order("BUY", 25.02))
    assert engine.confirm(USD_ACCOUNT, reference).deal_status == "ACCEPTED"
    [pending] = engine.working_orders(USD_ACCOUNT)
    with pytest.raises(ApiError) as caught:  # amending it to the wrong side: refused too
        engine.update_working_order(USD_ACCOUNT, pending.deal_id, WorkingOrderAmend(level=24.0))
    assert caught.value.error_code == "error.validation.stop.price"
    assert engine.working_orders(USD_ACCOUNT)[0].level == 25.02


def test_a_buy_stop_just_above_the_market_no_longer_fills_at_once(
    engine: Engine, clock: Clock
) -> None:
    engine.set_price("SILVER", mid=25.0)
    with pytest.raises(ApiError):
        engine.create_working_order(USD_ACCOUNT, order("BUY", 25.011))
    clock.advance(5)
    engine.advance_to()
    assert engine.positions(USD_ACCOUNT) == []


def test_limit_orders_on_the_wrong_side_stay_a_rejected_confirm(engine: Engine) -> None:
    engine.set_price("SILVER", mid=25.0)
    reference = engine.create_working_order(USD_ACCOUNT, order("BUY", 26.0, "LIMIT"))
    confirm = engine.confirm(USD_ACCOUNT, reference)
    assert (confirm.deal_status, confirm.reason) == ("REJECTED", "LIMIT_ORDER_WRONG_SIDE_OF_MARKET")


# ---- 2. working-order fills in the activity history ----------------------------------------
def test_a_filled_order_records_position_and_executed_as_user(engine: Engine, clock: Clock) -> None:
    now = clock.now_ms()
    engine.set_price("SILVER", mid=25.0)
    engine.create_working_order(USD_ACCOUNT, order("BUY", 24.0, "LIMIT"))
    [pending] = engine.working_orders(USD_ACCOUNT)
    engine.set_path("SILVER", [(now + 1000, 25.0), (now + HOUR, 23.5)])
    clock.advance(2 * 3600)
    engine.advance_to()
    [position] = engine.positions(USD_ACCOUNT)
    fill = engine.activities(USD_ACCOUNT, now + 1, clock.now_ms())
    assert [(a.deal_id, a.type, a.status, a.source) for a in fill] == [
        (pending.deal_id, "WORKING_ORDER", "EXECUTED", "USER"),
        (position.deal_id, "POSITION", "ACCEPTED", "USER"),
    ]
    assert fill[1].details["workingOrderId"] == pending.deal_id == position.working_order_id
    assert "workingOrderId" not in fill[0].details


# ---- 3. a market order's three records ------------------------------------------------------
def test_a_market_order_leaves_three_records_at_one_instant(engine: Engine) -> None:
    engine.set_price("GOLD", mid=2000.0)
    reference = engine.open_position(USD_ACCOUNT, OpenPositionRequest("GOLD", "BUY", 1))
    confirm = engine.confirm(USD_ACCOUNT, reference)
    records = engine.activities(USD_ACCOUNT, 0, WEDNESDAY_NOON + DAY)
    position_id = confirm.affected_deals[0].deal_id
    assert [(a.deal_id, a.type, a.source, a.status) for a in records] == [
        (position_id, "POSITION", "USER", "ACCEPTED"),
        (confirm.deal_id, "WORKING_ORDER", "SYSTEM", "ACCEPTED"),
        (confirm.deal_id, "WORKING_ORDER", "USER", "ACCEPTED"),
    ]
    assert len({a.date_ms for a in records}) == 1
    assert confirm.deal_id != position_id  # 14: the top-level dealId is the order's


def test_a_rejected_market_order_leaves_only_its_rejection(engine: Engine) -> None:
    engine.open_position(USD_ACCOUNT, OpenPositionRequest("BTCUSD", "BUY", 1))  # no funds
    [record] = engine.activities(USD_ACCOUNT, 0, WEDNESDAY_NOON + DAY)
    assert (record.type, record.status) == ("POSITION", "REJECTED")


# ---- 4. transactions newest first -----------------------------------------------------------
def test_transactions_come_newest_first(engine: Engine, clock: Clock) -> None:
    engine.top_up(USD_ACCOUNT, 100)
    clock.advance(1)
    engine.top_up(USD_ACCOUNT, -50)
    amounts = [t.amount for t in engine.transactions(USD_ACCOUNT, 0, clock.now_ms())]
    assert amounts == [-50.0, 100.0]


# ---- 9. a size off the increment -------------------------------------------------------------
def test_a_size_off_the_increment_is_a_bare_invalid_size(engine: Engine) -> None:
    with pytest.raises(ApiError) as caught:
        engine.open_position(USD_ACCOUNT, OpenPositionRequest("EURUSD", "BUY", 100.5))
    assert (caught.value.status, caught.value.error_code) == (400, "error.invalid.size")


# ---- 10. costs -------------------------------------------------------------------------------
def test_a_triggered_guaranteed_stop_charges_its_premium(engine: Engine, clock: Clock) -> None:
    now = clock.now_ms()
    engine.set_price("GOLD", mid=2000.0)  # offer 2000.15; min guaranteed distance 1 %
    stops = StopsRequest(guaranteed_stop=True, stop_level=1970.0)
    engine.open_position(USD_ACCOUNT, OpenPositionRequest("GOLD", "BUY", 2, stops))
    engine.set_path("GOLD", [(now + 1000, 2000.0), (now + HOUR, 1950.0)])
    clock.advance(2 * 3600)
    engine.advance_to()
    assert engine.positions(USD_ACCOUNT) == []
    fee, trade = engine.transactions(USD_ACCOUNT, 0, clock.now_ms())
    # premium 0.03 % (commodities) x open price 2000.15 x 2 = 1.20009
    assert (fee.transaction_type, fee.amount) == ("TRADE_COMMISSION_GSL", -1.2)
    assert trade.amount == round((1970.0 - 2000.15) * 2, 2)
    assert engine.balance(USD_ACCOUNT).deposit == round(10_000 + trade.amount - 1.2, 2)


def test_an_ordinary_stop_or_an_untriggered_guaranteed_one_charges_nothing(
    engine: Engine, clock: Clock
) -> None:
    now = clock.now_ms()
    engine.set_price("GOLD", mid=2000.0)
    engine.open_position(
        USD_ACCOUNT, OpenPositionRequest("GOLD", "BUY", 1, StopsRequest(stop_level=1970.0))
    )
    engine.open_position(
        USD_ACCOUNT,
        OpenPositionRequest(
            "SILVER", "BUY", 1, StopsRequest(guaranteed_stop=True, stop_distance=1.0)
        ),
    )
    engine.set_path("GOLD", [(now + 1000, 2000.0), (now + HOUR, 1950.0)])
    clock.advance(2 * 3600)
    engine.advance_to()
    kinds = {t.transaction_type for t in engine.transactions(USD_ACCOUNT, 0, clock.now_ms())}
    assert kinds == {"TRADE"}


def test_overnight_fee_follows_new_york_daylight_saving() -> None:
    winter, summer = WEDNESDAY_NOON, JULY_WEDNESDAY_NOON
    assert next_fee_after(winter) == winter + 10 * HOUR  # 22:00 UTC = 17:00 EST
    assert next_fee_after(summer) == summer + 9 * HOUR  # 21:00 UTC = 17:00 EDT
    assert next_fee_after(summer, "utc") == summer + 10 * HOUR
    # 2026: US summer time from 8 March, UK from 29 March
    march_16 = 1_773_662_400_000  # Monday 2026-03-16 12:00 UTC
    assert next_fee_after(march_16) == march_16 + 9 * HOUR
    assert next_fee_after(march_16, "london") == march_16 + 10 * HOUR


def test_summer_overnight_fee_at_21_utc_and_none_at_one_to_one(clock: Clock) -> None:
    clock.set(JULY_WEDNESDAY_NOON)
    engine = Engine(make_config(), clock)
    engine.set_price("SILVER", mid=25.0)
    engine.open_position(USD_ACCOUNT, OpenPositionRequest("SILVER", "BUY", 100))
    engine.set_preferences(USD_ACCOUNT, leverages={"SHARES": 1})
    engine.set_price("AAPL", mid=200.0)
    clock.advance(2 * 3600)  # 14:00: US shares open
    engine.open_position(USD_ACCOUNT, OpenPositionRequest("AAPL", "BUY", 1))  # 1:1
    clock.advance(24 * 3600)
    engine.advance_to()
    swaps = engine.transactions(USD_ACCOUNT, 0, clock.now_ms(), "SWAP")
    assert [(s.instrument_name, s.date_ms) for s in swaps] == [
        ("Silver", JULY_WEDNESDAY_NOON + 9 * HOUR)
    ]


# ---- 14. open questions, behind options -----------------------------------------------------
def test_confirms_expire_when_configured_while_the_deal_lives_on(clock: Clock) -> None:
    engine = Engine(replace(make_config(), confirm_ttl_ms=60_000), clock)
    reference = engine.open_position(USD_ACCOUNT, OpenPositionRequest("GOLD", "BUY", 1))
    clock.advance(59.999)
    deal_id = engine.confirm(USD_ACCOUNT, reference).affected_deals[0].deal_id
    clock.advance(0.001)
    with pytest.raises(ApiError) as caught:
        engine.confirm(USD_ACCOUNT, reference)
    assert (caught.value.status, caught.value.error_code) == (404, "error.not-found.dealReference")
    assert engine.position(USD_ACCOUNT, deal_id).size == 1
    default = Engine(make_config(), clock)
    kept = default.open_position(USD_ACCOUNT, OpenPositionRequest("GOLD", "BUY", 1))
    clock.advance(30 * 24 * 3600)
    assert default.confirm(USD_ACCOUNT, kept).deal_status == "ACCEPTED"


def test_markets_configured_to_require_a_guaranteed_stop(clock: Clock) -> None:
    config = replace(make_config(), guaranteed_stop_required_epics=("ETHUSD",))
    engine = Engine(config, clock)
    engine.set_price("ETHUSD", mid=3000.0)
    code = "error.vallidation.guaranteed-stop-loss.required"
    with pytest.raises(ApiError) as caught:
        engine.open_position(USD_ACCOUNT, OpenPositionRequest("ETHUSD", "BUY", 1))
    assert (caught.value.status, caught.value.error_code) == (400, code)
    with pytest.raises(ApiError) as caught:
        engine.create_working_order(
            USD_ACCOUNT, WorkingOrderRequest("ETHUSD", "BUY", 1, 2900.0, "LIMIT")
        )
    assert caught.value.error_code == code
    stops = StopsRequest(guaranteed_stop=True, stop_distance=300.0)
    reference = engine.open_position(USD_ACCOUNT, OpenPositionRequest("ETHUSD", "BUY", 1, stops))
    deal_id = engine.confirm(USD_ACCOUNT, reference).affected_deals[0].deal_id
    with pytest.raises(ApiError) as caught:  # an amendment that drops the flag
        engine.update_position(USD_ACCOUNT, deal_id, StopsRequest(stop_distance=400.0))
    assert caught.value.error_code == code
    assert engine.position(USD_ACCOUNT, deal_id).guaranteed_stop
    engine.open_position(USD_ACCOUNT, OpenPositionRequest("GOLD", "BUY", 1))  # other markets: free


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("confirm_ttl_ms", 0),
        ("confirm_ttl_ms", 1.5),
        ("overnight_fee_clock", "tokyo"),
        ("guaranteed_stop_required_epics", "BTCUSD"),
    ],
)
def test_engine_options_are_checked(field: str, value: object) -> None:
    with pytest.raises(ConfigError, match=field):
        replace(make_config(), **{field: value})


def test_engine_options_come_from_a_users_file() -> None:
    raw = {
        "users": [{"identifier": "a@example.com", "apiKey": "k", "password": "p"}],
        "confirmTtlMs": 30_000,
        "overnightFeeClock": "london",
        "guaranteedStopRequiredEpics": ["BTCUSD", "ETHUSD"],
    }
    config = SimConfig.from_dict(raw)
    assert (config.confirm_ttl_ms, config.overnight_fee_clock) == (30_000, "london")
    assert config.guaranteed_stop_required_epics == ("BTCUSD", "ETHUSD")
    assert SimConfig().confirm_ttl_ms is None  # defaults: off
    assert SimConfig().guaranteed_stop_required_epics == ()


def test_an_unknown_epic_requiring_a_guaranteed_stop_is_named(clock: Clock) -> None:
    with pytest.raises(ValueError, match="NOPE"):
        Engine(replace(make_config(), guaranteed_stop_required_epics=("NOPE",)), clock)
