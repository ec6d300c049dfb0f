"""Trading on the engine: fills, P&L/margin (with FX), netting/hedging, stops, orders, checks."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from capitalcom_sim.engine import Clock, Engine
from capitalcom_sim.engine.types import (
    OpenPositionRequest,
    StopsRequest,
    WorkingOrderAmend,
    WorkingOrderRequest,
)
from capitalcom_sim.errors import ApiError

from .conftest import EUR_ACCOUNT, HOUR, USD_ACCOUNT, WEDNESDAY_NOON, make_config


def buy(epic: str, size: float, **stops: object) -> OpenPositionRequest:
    return OpenPositionRequest(epic, "BUY", size, StopsRequest(**stops))  # type: ignore[arg-type]


def sell(epic: str, size: float, **stops: object) -> OpenPositionRequest:
    return OpenPositionRequest(epic, "SELL", size, StopsRequest(**stops))  # type: ignore[arg-type]


def test_buy_fills_at_offer_sell_at_bid(engine: Engine) -> None:
    bid, offer = engine.set_price("SILVER", mid=25.0)
    confirm = engine.confirm(USD_ACCOUNT, engine.open_position(USD_ACCOUNT, buy("SILVER", 1)))
    assert (confirm.deal_status, confirm.status, confirm.level) == ("ACCEPTED", "OPEN", offer)
    engine.set_preferences(USD_ACCOUNT, hedging_mode=True)
    short = engine.confirm(USD_ACCOUNT, engine.open_position(USD_ACCOUNT, sell("SILVER", 1)))
    assert short.level == bid
    [opened] = confirm.affected_deals
    position = engine.position(USD_ACCOUNT, opened.deal_id)
    assert opened.status == "OPENED"
    assert position.working_order_id == confirm.deal_id
    assert position.deal_reference == "p_" + position.deal_id


def test_pnl_and_margin_in_a_eur_account_on_a_usd_index(engine: Engine, clock: Clock) -> None:
    engine.set_price("EURUSD", mid=1.25)
    engine.set_price("US500", mid=5000.0)  # spread 0.4: bid 4999.8, offer 5000.2
    reference = engine.open_position(EUR_ACCOUNT, buy("US500", 2))
    deal_id = engine.confirm(EUR_ACCOUNT, reference).affected_deals[0].deal_id
    engine.set_price("US500", mid=5100.0)  # bid 5099.8
    clock.advance(1)
    position = engine.position(EUR_ACCOUNT, deal_id)
    # (5099.8 - 5000.2) * 2 = 199.2 USD = 159.36 EUR at 1.25
    assert position.upl == 159.36
    # leverage 20 on indices: margin 5099.8 * 2 / 20 = 509.98 USD = 407.984 EUR
    balance = engine.balance(EUR_ACCOUNT)
    assert (balance.deposit, balance.profit_loss, balance.balance) == (5000.0, 159.36, 5159.36)
    assert balance.available == round(5159.36 - 407.984, 2)
    engine.close_position(EUR_ACCOUNT, deal_id)
    after = engine.balance(EUR_ACCOUNT)
    assert (after.deposit, after.available, after.profit_loss) == (5159.36, 5159.36, 0.0)
    [trade] = engine.transactions(EUR_ACCOUNT, 0, clock.now_ms())
    assert (trade.transaction_type, trade.amount, trade.currency) == ("TRADE", 159.36, "EUR")


def test_netting_reduces_then_reverses(engine: Engine) -> None:
    engine.set_price("GOLD", mid=2000.0)
    first = engine.confirm(USD_ACCOUNT, engine.open_position(USD_ACCOUNT, buy("GOLD", 2)))
    deal_id = first.affected_deals[0].deal_id
    reduce = engine.confirm(USD_ACCOUNT, engine.open_position(USD_ACCOUNT, sell("GOLD", 1)))
    assert reduce.status == "PARTIALLY_CLOSED"
    assert [(a.deal_id, a.status) for a in reduce.affected_deals] == [(deal_id, "PARTIALLY_CLOSED")]
    assert engine.position(USD_ACCOUNT, deal_id).size == 1
    reverse = engine.confirm(USD_ACCOUNT, engine.open_position(USD_ACCOUNT, sell("GOLD", 3)))
    statuses = [a.status for a in reverse.affected_deals]
    assert statuses == ["FULLY_CLOSED", "OPENED"]
    [position] = engine.positions(USD_ACCOUNT)
    assert (position.direction, position.size) == ("SELL", 2)
    # spread 0.3 paid on each closed unit: 2 units bought at 2000.15, sold at 1999.85
    assert engine.balance(USD_ACCOUNT).deposit == 10_000.0 - 0.6


def test_hedging_keeps_both_directions(engine: Engine) -> None:
    engine.set_preferences(USD_ACCOUNT, hedging_mode=True)
    engine.open_position(USD_ACCOUNT, buy("GOLD", 1))
    engine.open_position(USD_ACCOUNT, sell("GOLD", 1))
    assert sorted(p.direction for p in engine.positions(USD_ACCOUNT)) == ["BUY", "SELL"]
    with pytest.raises(ApiError) as caught:  # cannot leave hedging with both sides open
        engine.set_preferences(USD_ACCOUNT, hedging_mode=False)
    assert caught.value.error_code == "error.invalid.hedgingMode"


def test_stop_triggers_inside_a_clock_jump_not_only_at_its_end(
    engine: Engine, clock: Clock
) -> None:
    now = clock.now_ms()
    engine.set_price("SILVER", mid=25.0)
    reference = engine.open_position(USD_ACCOUNT, buy("SILVER", 1, stop_level=24.0))
    deal_id = engine.confirm(USD_ACCOUNT, reference).affected_deals[0].deal_id
    # dips to 23 and comes back to 25.5: the end of the jump is above the stop
    engine.set_path("SILVER", [(now + 60_000, 25.0), (now + HOUR, 23.0), (now + 2 * HOUR, 25.5)])
    clock.advance(3 * 3600)
    engine.advance_to()
    assert engine.positions(USD_ACCOUNT) == []
    [closing, _] = engine.activities(USD_ACCOUNT, now, clock.now_ms(), deal_id=deal_id)
    assert (closing.source, closing.details["level"], closing.details["direction"]) == (
        "SL",
        24.0,
        "SELL",
    )
    # mid 24.01 (bid 24.00) is reached 0.99/2.0 of the way down the first leg
    expected = now + 60_000 + round(0.99 / 2.0 * (HOUR - 60_000) / 1000) * 1000
    assert abs(closing.date_ms - expected) <= 2000
    assert engine.balance(USD_ACCOUNT).deposit == round(10_000 + (24.0 - 25.01), 2)


def test_take_profit_and_its_confirm(engine: Engine, clock: Clock) -> None:
    now = clock.now_ms()
    engine.set_price("SILVER", mid=25.0)
    reference = engine.open_position(USD_ACCOUNT, sell("SILVER", 2, profit_distance=1.0))
    confirm = engine.confirm(USD_ACCOUNT, reference)
    assert confirm.profit_level == 24.01  # ask 25.01 - 1.0
    deal_id = confirm.affected_deals[0].deal_id
    engine.set_path("SILVER", [(now + 1000, 25.0), (now + 101_000, 24.0)])
    clock.advance(200)
    engine.advance_to()
    closed = engine.confirm(USD_ACCOUNT, "p_" + deal_id)
    assert (closed.status, closed.level, closed.profit) == ("CLOSED", 24.01, 1.96)  # sold at 24.99
    assert closed.affected_deals[0].status == "FULLY_CLOSED"
    records = [(a.type, a.source) for a in engine.activities(USD_ACCOUNT, 0, clock.now_ms())]
    assert records == [
        ("POSITION", "TP"),
        ("POSITION", "USER"),
        ("WORKING_ORDER", "SYSTEM"),  # the market order's own records (#13.3)
        ("WORKING_ORDER", "USER"),
    ]


def test_guaranteed_stop_fills_at_its_level_on_a_gap(engine: Engine, clock: Clock) -> None:
    engine.set_price("SILVER", mid=25.0)
    engine.open_position(USD_ACCOUNT, buy("SILVER", 1, stop_level=24.0, guaranteed_stop=True))
    engine.set_preferences(USD_ACCOUNT, hedging_mode=True)
    engine.open_position(USD_ACCOUNT, buy("SILVER", 1, stop_level=24.0))
    clock.advance(1)
    engine.set_price("SILVER", mid=20.0)  # gap straight through both stops
    clock.advance(1)
    engine.advance_to()
    levels = sorted(
        a.details["level"]
        for a in engine.activities(USD_ACCOUNT, 0, clock.now_ms())
        if a.source == "SL"
    )
    assert levels == [19.99, 24.0]  # normal stop slips to the market, guaranteed does not


def test_trailing_stop_follows_the_price(engine: Engine, clock: Clock) -> None:
    now = clock.now_ms()
    engine.set_price("GOLD", mid=2000.0)  # bid 1999.85 offer 2000.15
    reference = engine.open_position(
        USD_ACCOUNT, buy("GOLD", 1, trailing_stop=True, stop_distance=10.0)
    )
    deal_id = engine.confirm(USD_ACCOUNT, reference).affected_deals[0].deal_id
    assert engine.position(USD_ACCOUNT, deal_id).stop_level == 1989.85
    engine.set_path("GOLD", [(now + 1000, 2000.0), (now + HOUR, 2050.0)])
    clock.advance(2 * 3600)
    engine.advance_to()
    assert engine.position(USD_ACCOUNT, deal_id).stop_level == 2039.85
    later = clock.now_ms()
    engine.set_path("GOLD", [(later + 1000, 2050.0), (later + HOUR, 1950.0)])
    clock.advance(2 * 3600)
    engine.advance_to()
    closed = engine.confirm(USD_ACCOUNT, "p_" + deal_id)
    assert (closed.status, closed.level, closed.profit) == ("CLOSED", 2039.85, 39.7)


def test_stop_and_profit_bands_name_the_nearest_allowed_level(engine: Engine) -> None:
    engine.set_price("SILVER", mid=25.0)  # bid 24.99: band 0.01 % .. 60 %
    cases = {
        "error.invalid.stoploss.minvalue: 9.996": {"stop_level": 1.0},
        "error.invalid.stoploss.maxvalue: 24.987": {"stop_level": 30.0},
        "error.invalid.takeprofit.minvalue: 24.993": {"profit_level": 20.0},
        "error.invalid.takeprofit.maxvalue: 39.984": {"profit_level": 100.0},
    }
    for code, stops in cases.items():
        with pytest.raises(ApiError) as caught:
            engine.open_position(USD_ACCOUNT, buy("SILVER", 1, **stops))
        assert (caught.value.status, caught.value.error_code) == (400, code)
    assert engine.positions(USD_ACCOUNT) == []


def test_size_rules_are_checked_with_their_values(engine: Engine) -> None:
    cases = {
        0.5: "error.invalid.size.minvalue: 1",
        200_000: "error.invalid.size.maxvalue: 100000",
        1.05: "error.invalid.size",  # as the real server reports it (#13.9)
        -1: "error.invalid.size",
    }
    for size, code in cases.items():
        with pytest.raises(ApiError) as caught:
            engine.open_position(USD_ACCOUNT, buy("SILVER", size))
        assert caught.value.error_code == code


def test_business_rejections_go_through_the_confirm(engine: Engine) -> None:
    expectations = [
        (buy("BTCUSD", 1), "INSUFFICIENT_FUNDS"),  # ~85k notional at leverage 2
        (buy("AAPL", 1), "MARKET_CLOSED"),  # US shares open at 13:30 UTC
    ]
    for request, reason in expectations:
        confirm = engine.confirm(USD_ACCOUNT, engine.open_position(USD_ACCOUNT, request))
        assert (confirm.deal_status, confirm.reason, confirm.affected_deals) == (
            "REJECTED",
            reason,
            (),
        )
    engine.set_preferences(USD_ACCOUNT, hedging_mode=True)
    guaranteed = engine.open_position(
        USD_ACCOUNT, buy("GOLD", 1, guaranteed_stop=True, stop_distance=100)
    )
    assert engine.confirm(USD_ACCOUNT, guaranteed).reason == "STOP_OR_LIMIT_NOT_ALLOWED"
    trailing = engine.open_position(
        USD_ACCOUNT, buy("SILVER", 1, trailing_stop=True, stop_distance=1)
    )
    assert engine.confirm(USD_ACCOUNT, trailing).reason == "TRAILING_STOP_NOT_ALLOWED"
    assert engine.positions(USD_ACCOUNT) == []
    assert engine.balance(USD_ACCOUNT).deposit == 10_000.0
    statuses = {a.status for a in engine.activities(USD_ACCOUNT, 0, WEDNESDAY_NOON)}
    assert statuses == {"REJECTED"}


def test_limit_order_fills_when_the_price_dips_and_carries_its_stops(
    engine: Engine, clock: Clock
) -> None:
    now = clock.now_ms()
    engine.set_price("SILVER", mid=25.0)
    reference = engine.create_working_order(
        USD_ACCOUNT,
        WorkingOrderRequest(
            "SILVER",
            "BUY",
            1,
            24.0,
            "LIMIT",
            stops=StopsRequest(stop_level=23.0, profit_level=26.0),
        ),
    )
    created = engine.confirm(USD_ACCOUNT, reference)
    assert (created.status, created.affected_deals[0].status) == ("OPEN", "OPENED")
    [order] = engine.working_orders(USD_ACCOUNT)
    assert (order.stop_distance, order.profit_distance) == (-1.0, 2.0)
    engine.set_path("SILVER", [(now + 1000, 25.0), (now + HOUR, 23.5), (now + 2 * HOUR, 25.0)])
    clock.advance(3 * 3600)
    engine.advance_to()
    assert engine.working_orders(USD_ACCOUNT) == []
    [position] = engine.positions(USD_ACCOUNT)
    assert (position.level, position.stop_level, position.profit_level) == (24.0, 23.0, 26.0)
    assert position.working_order_id == order.deal_id
    kinds = [(a.type, a.status) for a in engine.activities(USD_ACCOUNT, now, clock.now_ms())]
    assert ("WORKING_ORDER", "EXECUTED") in kinds
    assert ("WORKING_ORDER", "CREATED") in kinds


def test_orders_on_the_wrong_side_are_rejected_and_expiry_cancels(
    engine: Engine, clock: Clock
) -> None:
    engine.set_price("SILVER", mid=25.0)
    wrong = engine.create_working_order(
        USD_ACCOUNT, WorkingOrderRequest("SILVER", "BUY", 1, 26.0, "LIMIT")
    )
    assert engine.confirm(USD_ACCOUNT, wrong).reason == "LIMIT_ORDER_WRONG_SIDE_OF_MARKET"
    with pytest.raises(ApiError) as caught:
        engine.create_working_order(
            USD_ACCOUNT,
            WorkingOrderRequest("SILVER", "BUY", 1, 26.0, "STOP", good_till_ms=clock.now_ms()),
        )
    assert caught.value.error_code == "error.not-in-future.goodTillDate"
    engine.create_working_order(
        USD_ACCOUNT,
        WorkingOrderRequest("SILVER", "BUY", 1, 26.0, "STOP", good_till_ms=clock.now_ms() + HOUR),
    )
    clock.advance(2 * 3600)
    engine.advance_to()
    assert engine.working_orders(USD_ACCOUNT) == []
    [expired] = [
        a for a in engine.activities(USD_ACCOUNT, 0, clock.now_ms()) if a.status == "EXPIRED"
    ]
    assert (expired.source, expired.date_ms) == ("SYSTEM", WEDNESDAY_NOON + HOUR)


def test_amend_and_delete_working_orders(engine: Engine) -> None:
    engine.set_price("SILVER", mid=25.0)
    engine.create_working_order(
        USD_ACCOUNT, WorkingOrderRequest("SILVER", "SELL", 2, 26.0, "LIMIT")
    )
    [order] = engine.working_orders(USD_ACCOUNT)
    reference = engine.update_working_order(
        USD_ACCOUNT,
        order.deal_id,
        WorkingOrderAmend(level=27.0, stops=StopsRequest(stop_distance=1)),
    )
    assert reference.startswith("o_")
    assert engine.confirm(USD_ACCOUNT, reference).status == "AMENDED"
    [amended] = engine.working_orders(USD_ACCOUNT)
    assert (amended.level, amended.stop_distance) == (27.0, 1.0)
    deleted = engine.delete_working_order(USD_ACCOUNT, order.deal_id)
    assert engine.confirm(USD_ACCOUNT, deleted).affected_deals[0].status == "DELETED"
    with pytest.raises(ApiError) as caught:
        engine.delete_working_order(USD_ACCOUNT, order.deal_id)
    assert (caught.value.status, caught.value.error_code) == (404, "error.not-found.dealId")


def test_position_amendment_is_recorded(engine: Engine) -> None:
    engine.set_price("SILVER", mid=25.0)
    reference = engine.open_position(USD_ACCOUNT, buy("SILVER", 1))
    deal_id = engine.confirm(USD_ACCOUNT, reference).affected_deals[0].deal_id
    amend = engine.update_position(USD_ACCOUNT, deal_id, StopsRequest(stop_distance=1.0))
    assert amend == "p_" + deal_id
    assert engine.confirm(USD_ACCOUNT, amend).status == "AMENDED"
    assert engine.position(USD_ACCOUNT, deal_id).stop_level == 23.99
    engine.update_position(USD_ACCOUNT, deal_id, StopsRequest(profit_amount=5.0))
    position = engine.position(USD_ACCOUNT, deal_id)
    assert (position.stop_level, position.profit_level) == (23.99, 30.01)  # 25.01 + 5 / 1
    edits = engine.activities(
        USD_ACCOUNT, 0, WEDNESDAY_NOON, filters=[("type", True, frozenset({"EDIT_STOP_AND_LIMIT"}))]
    )
    assert len(edits) == 2


def test_top_up_limits(clock: Clock) -> None:
    engine = Engine(make_config(), clock)
    engine.top_up(USD_ACCOUNT, 1000)
    assert engine.balance(USD_ACCOUNT).deposit == 11_000.0
    for amount, code in [
        (400_001, "error.invalid.amount"),
        (-400_001, "error.invalid.amount"),
        (90_000, "error.invalid.balance.maxvalue: 100000.0"),
        (-20_000, "error.invalid.balance.minvalue: 0.0"),
    ]:
        with pytest.raises(ApiError) as caught:
            engine.top_up(USD_ACCOUNT, amount)
        assert caught.value.error_code == code
    [deposit] = engine.transactions(USD_ACCOUNT, 0, clock.now_ms(), "DEPOSIT")
    assert deposit.amount == 1000
    live = make_config()
    live.demo = False
    with pytest.raises(ApiError):
        Engine(live, clock).top_up(USD_ACCOUNT, 10)


def test_leverage_preferences_change_the_margin(engine: Engine) -> None:
    with pytest.raises(ApiError) as caught:
        engine.set_preferences(USD_ACCOUNT, {"INDICES": 600})
    assert caught.value.error_code == "error.invalid.leverage.value"
    engine.set_preferences(USD_ACCOUNT, {"INDICES": 10})
    assert engine.preferences(USD_ACCOUNT).leverages["INDICES"].current == 10
    engine.open_position(USD_ACCOUNT, buy("US500", 1))
    [position] = engine.positions(USD_ACCOUNT)
    assert position.leverage == 10


def test_overnight_fee_is_charged_daily_at_22_utc_in_winter(engine: Engine, clock: Clock) -> None:
    engine.set_price("SILVER", mid=25.0)  # bid 24.99
    engine.open_position(USD_ACCOUNT, buy("SILVER", 100))
    clock.advance(9 * 3600)  # 21:00: nothing yet
    engine.advance_to()
    assert engine.transactions(USD_ACCOUNT, 0, clock.now_ms()) == []
    clock.advance(2 * 24 * 3600)  # crosses 22:00 twice
    engine.advance_to()
    swaps = engine.transactions(USD_ACCOUNT, 0, clock.now_ms(), "SWAP")
    # 24.99 x 100 x -0.0199715 % = -0.49909 USD per night; newest first (#13.4); a commodity
    # pays the weekend's nights on Wednesday: three of them.
    assert [(s.amount, s.date_ms) for s in swaps] == [
        (-0.5, WEDNESDAY_NOON + 34 * HOUR),
        (-1.5, WEDNESDAY_NOON + 10 * HOUR),
    ]
    assert engine.balance(USD_ACCOUNT).deposit == 9998.0
    assert Engine(make_config(), clock, overnight_fees=False).overnight_fees is False


@pytest.mark.parametrize(
    ("epic", "weekend_fees", "tripled_on", "charged_days"),
    [
        ("EURUSD", "triple", "Wed", ["Wed", "Thu", "Fri", "Mon", "Tue"]),
        ("US500", "triple", "Fri", ["Wed", "Thu", "Fri", "Mon", "Tue"]),
        ("OIL_CRUDE", "triple", "Fri", ["Wed", "Thu", "Fri", "Mon", "Tue"]),
        ("BTCUSD", "triple", None, ["Wed", "Thu", "Fri", "Sat", "Sun", "Mon", "Tue"]),
        ("US500", "daily", None, ["Wed", "Thu", "Fri", "Sat", "Sun", "Mon", "Tue"]),
    ],
)
def test_the_weekend_is_paid_on_one_weekday_except_for_crypto(
    clock: Clock, epic: str, weekend_fees: str, tripled_on: str | None, charged_days: list[str]
) -> None:
    # Capital.com's help pages: no overnight fee on Saturdays and Sundays except for crypto,
    # and a triple one on Wednesday (currencies, most commodities) or Friday (shares, indices,
    # oil, natural gas). SimConfig(weekend_fees="daily") keeps every day alike.
    config = make_config()
    config.weekend_fees = weekend_fees
    engine = Engine(config, clock)
    engine.open_position(USD_ACCOUNT, buy(epic, engine.instruments.require(epic).min_deal_size))
    clock.advance(7 * 24 * 3600)  # Wednesday noon to Wednesday noon
    engine.advance_to()
    swaps = sorted(
        engine.transactions(USD_ACCOUNT, 0, clock.now_ms(), "SWAP"), key=lambda s: s.date_ms
    )
    days = [datetime.fromtimestamp(s.date_ms / 1000, UTC).strftime("%a") for s in swaps]
    assert days == charged_days
    amounts = {day: s.amount for day, s in zip(days, swaps, strict=True)}
    single = amounts["Thu"]
    assert single != 0
    for day, amount in amounts.items():
        expected = 3 * single if day == tripled_on else single
        assert amount == pytest.approx(expected, rel=0.05, abs=0.011), (day, amounts)


def test_confirm_lag_makes_pollers_wait(clock: Clock) -> None:
    engine = Engine(make_config(), clock, confirm_lag_ms=500)
    reference = engine.open_position(USD_ACCOUNT, buy("GOLD", 1))
    with pytest.raises(ApiError) as caught:
        engine.confirm(USD_ACCOUNT, reference)
    assert caught.value.error_code == "error.not-found.dealReference"
    clock.advance(0.5)
    assert engine.confirm(USD_ACCOUNT, reference).deal_status == "ACCEPTED"


def test_stop_out_closes_the_worst_position_below_half_the_margin(
    engine: Engine, clock: Clock
) -> None:
    engine.set_price("GOLD", mid=2000.0)
    engine.set_price("SILVER", mid=25.0)
    # GOLD 80 x 2000 / 20 = 8000 USD margin; SILVER 10 x 25 / 10 = 25 USD margin
    gold = engine.confirm(USD_ACCOUNT, engine.open_position(USD_ACCOUNT, buy("GOLD", 80)))
    engine.open_position(USD_ACCOUNT, buy("SILVER", 10))
    clock.advance(1)
    engine.set_price("GOLD", mid=1950.0)  # -4000: equity ~6000 >= half of ~7800
    clock.advance(1)
    engine.advance_to()
    assert len(engine.positions(USD_ACCOUNT)) == 2
    engine.set_price("GOLD", mid=1900.0)  # -8000: equity ~2000 < half of ~7600
    clock.advance(1)
    engine.advance_to()
    [left] = engine.positions(USD_ACCOUNT)
    assert left.epic == "SILVER"
    gold_id = gold.affected_deals[0].deal_id
    [closing, _] = engine.activities(USD_ACCOUNT, 0, clock.now_ms(), deal_id=gold_id)
    assert (closing.source, closing.details["level"]) == ("CLOSE_OUT", 1899.85)
    assert Engine(make_config(), clock, stop_out_level=None).stop_out_level is None


def test_close_and_amend_rejections_keep_the_position(engine: Engine, clock: Clock) -> None:
    engine.set_price("SILVER", mid=25.0)
    reference = engine.open_position(USD_ACCOUNT, buy("SILVER", 1))
    deal_id = engine.confirm(USD_ACCOUNT, reference).affected_deals[0].deal_id
    engine.set_preferences(USD_ACCOUNT, hedging_mode=True)
    amend = engine.update_position(
        USD_ACCOUNT, deal_id, StopsRequest(guaranteed_stop=True, stop_level=24.0)
    )
    assert (
        engine.confirm(USD_ACCOUNT, amend).deal_status,
        engine.confirm(USD_ACCOUNT, amend).reason,
    ) == (
        "REJECTED",
        "STOP_OR_LIMIT_NOT_ALLOWED",
    )
    assert engine.position(USD_ACCOUNT, deal_id).stop_level is None
    clock.advance(3 * 24 * 3600)  # Saturday: SILVER is closed
    close = engine.close_position(USD_ACCOUNT, deal_id)
    assert engine.confirm(USD_ACCOUNT, close).reason == "MARKET_CLOSED"
    assert engine.position(USD_ACCOUNT, deal_id).size == 1


def test_trailing_order_fills_into_a_trailing_position(engine: Engine, clock: Clock) -> None:
    now = clock.now_ms()
    engine.set_price("GOLD", mid=2000.0)
    engine.create_working_order(
        USD_ACCOUNT,
        WorkingOrderRequest(
            "GOLD",
            "SELL",
            1,
            1990.0,
            "STOP",
            stops=StopsRequest(trailing_stop=True, stop_distance=20.0),
        ),
    )
    [order] = engine.working_orders(USD_ACCOUNT)
    assert (order.trailing_stop, order.stop_distance) == (True, 20.0)
    engine.set_path("GOLD", [(now + 1000, 2000.0), (now + HOUR, 1980.0)])
    clock.advance(2 * 3600)
    engine.advance_to()
    [position] = engine.positions(USD_ACCOUNT)
    assert position.direction == "SELL"
    assert position.trailing_stop
    assert position.stop_distance == 20.0
    # the trailing stop followed the fall to 1980 (ask 1980.15): 1980.15 + 20
    assert position.stop_level == 2000.15


def test_an_order_without_funds_at_fill_time_is_rejected(engine: Engine, clock: Clock) -> None:
    now = clock.now_ms()
    engine.set_price("GOLD", mid=2000.0)
    engine.create_working_order(
        USD_ACCOUNT, WorkingOrderRequest("GOLD", "BUY", 200, 1990.0, "LIMIT")
    )  # 200 x 1990 / 20 = 19900 USD margin > 10000
    engine.set_path("GOLD", [(now + 1000, 2000.0), (now + HOUR, 1980.0)])
    clock.advance(2 * 3600)
    engine.advance_to()
    assert engine.working_orders(USD_ACCOUNT) == []
    assert engine.positions(USD_ACCOUNT) == []
    statuses = [a.status for a in engine.activities(USD_ACCOUNT, now, clock.now_ms())]
    assert statuses[0] == "REJECTED"
