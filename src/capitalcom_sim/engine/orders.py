"""Working orders (LIMIT / STOP): create, amend, cancel, and what a fill or an expiry does.

:class:`WorkingOrders` works on an :class:`AccountState` at a given instant, like
:class:`~capitalcom_sim.engine.trading.Trading`, which it uses to execute a fill. When an order
triggers is found by :class:`~capitalcom_sim.engine.triggers.Triggers`.
"""

from __future__ import annotations

import math

from capitalcom_sim.engine.accounts import AccountState
from capitalcom_sim.engine.instruments import Instrument, InstrumentTable
from capitalcom_sim.engine.money import Money, closing_units, sides, sign_of, to_price
from capitalcom_sim.engine.records import (
    level_of,
    order_activity,
    order_confirm,
    reject,
    replace_confirm,
    signed_distance,
)
from capitalcom_sim.engine.stops import ResolvedStops, StopRules, positive, stop_rejection
from capitalcom_sim.engine.trading import Trading
from capitalcom_sim.engine.types import WorkingOrder, WorkingOrderAmend, WorkingOrderRequest
from capitalcom_sim.errors import ApiError

STOP_PRICE_INVALID = "error.validation.stop.price"


class WorkingOrders:
    """The rules of pending orders of one account at a time.

    Args:
        instruments: the instrument table.
        money: prices and leverage.
        stops: the stop / take-profit rules (an order's stops count from its level).
        trading: executes a filled order as a market deal at the fill price.
    """

    def __init__(
        self, instruments: InstrumentTable, money: Money, stops: StopRules, trading: Trading
    ) -> None:
        self.instruments = instruments
        self.money = money
        self.stops = stops
        self.trading = trading
        self.ids = trading.ids

    def checked_request(self, request: WorkingOrderRequest) -> tuple[Instrument, float]:
        """Instrument and rounded level of a new order (404 epic, 400 size or level)."""
        inst = self.trading.checked_instrument(request.epic, request.size)
        return inst, round(positive(request.level, "level"), inst.decimals)

    def create(self, account: AccountState, request: WorkingOrderRequest, now: int) -> str:
        """Create a LIMIT/STOP order; returns an ``o_`` reference."""
        inst, level = self.checked_request(request)
        if request.good_till_ms is not None and request.good_till_ms <= now:
            raise ApiError(400, "error.not-in-future.goodTillDate")
        self.check_stop_level(inst, request.direction, request.order_type, level, now)
        stops = self.stops.resolve(
            account, inst, request.direction, request.size, level, level, request.stops, now
        )
        self.trading.require_guaranteed_stop(inst, stops)
        reference = self.ids.order_reference()
        reason = stop_rejection(account, inst, stops) or self.wrong_side(
            inst, request.direction, request.order_type, level, now
        )
        if reason is not None:
            return reject(
                account,
                now,
                inst,
                reference,
                reason,
                request.direction,
                request.size,
                level,
                kind="WORKING_ORDER",
            )
        deal_id = self.ids.deal_id()
        order = WorkingOrder(
            deal_id=deal_id,
            account_id=account.account_id,
            epic=inst.epic,
            direction=request.direction,
            size=request.size,
            level=level,
            order_type=request.order_type,
            created_ms=now,
            leverage=self.money.leverage(account, inst),
            currency=inst.currency,
            good_till_ms=request.good_till_ms,
            guaranteed_stop=stops.guaranteed,
            trailing_stop=stops.trailing,
            stop_distance=signed_distance(inst, stops.stop_level, level),
            profit_distance=signed_distance(inst, stops.profit_level, level),
            watch_from_ms=self.trading.next_tick(now),
        )
        if stops.trailing and stops.trailing_distance is not None:
            order.stop_distance = -sign_of(order.direction) * stops.trailing_distance
        account.orders[deal_id] = order
        order_confirm(account, inst, order, reference, now, "OPEN", "OPENED")
        order_activity(account, inst, order, reference, now, "CREATED")
        return reference

    def check_stop_level(
        self, inst: Instrument, direction: str, order_type: str, level: float, now: int
    ) -> None:
        """A STOP order's level must lie beyond the market by the minimum distance.

        A BUY STOP waits above the offer, a SELL STOP below the bid, at least the instrument's
        minimum stop distance away; otherwise the real server refuses the request at once with
        400 ``error.validation.stop.price`` (LIMIT orders: see :meth:`wrong_side`).
        """
        if order_type != "STOP":
            return
        bid, ask = self.money.sides_now(inst, now)
        scale = inst.scale
        if direction == "BUY":
            nearest = math.ceil(ask * (1 + inst.min_stop_pct / 100) - 1e-6)
            if round(level * scale) < nearest:
                raise ApiError(400, STOP_PRICE_INVALID)
        else:
            nearest = math.floor(bid * (1 - inst.min_stop_pct / 100) + 1e-6)
            if round(level * scale) > nearest:
                raise ApiError(400, STOP_PRICE_INVALID)

    def wrong_side(
        self, inst: Instrument, direction: str, order_type: str, level: float, now: int
    ) -> str | None:
        """The rejection reason when ``level`` is on the wrong side of the market, else None.

        Reached by LIMIT orders only (STOP orders are refused before, see
        :meth:`check_stop_level`): recorded as a REJECTED confirm with
        ``LIMIT_ORDER_WRONG_SIDE_OF_MARKET``.
        """
        bid, ask = self.money.sides_now(inst, now)
        price = to_price(inst, ask if direction == "BUY" else bid)
        below = level < price
        # BUY LIMIT / SELL STOP wait below the market, BUY STOP / SELL LIMIT above it
        wants_below = (direction == "BUY") == (order_type == "LIMIT")
        if below != wants_below or level == price:
            return (
                "LIMIT_ORDER_WRONG_SIDE_OF_MARKET"
                if order_type == "LIMIT"
                else "WRONG_SIDE_OF_MARKET"
            )
        return None

    def update(
        self, account: AccountState, deal_id: str, amend: WorkingOrderAmend, now: int
    ) -> str:
        """Amend level, expiry or stops of an order; returns a new ``o_`` reference."""
        order = _pending(account, deal_id)
        inst = self.instruments.require(order.epic)
        level = order.level
        if amend.level is not None:
            level = round(positive(amend.level, "level"), inst.decimals)
        if amend.good_till_ms and amend.good_till_ms <= now:
            raise ApiError(400, "error.not-in-future.goodTillDate")
        if amend.level is not None:
            self.check_stop_level(inst, order.direction, order.order_type, level, now)
        keep = ResolvedStops(
            level_of(inst, level, order.stop_distance),
            level_of(inst, level, order.profit_distance),
            order.guaranteed_stop,
            order.trailing_stop,
            abs(order.stop_distance) if order.trailing_stop and order.stop_distance else None,
        )
        stops = self.stops.resolve(
            account, inst, order.direction, order.size, level, level, amend.stops, now, keep=keep
        )
        self.trading.require_guaranteed_stop(inst, stops)
        reference = self.ids.order_reference()
        reason = stop_rejection(account, inst, stops) or self.wrong_side(
            inst, order.direction, order.order_type, level, now
        )
        if reason is not None:
            order_confirm(account, inst, order, reference, now, "OPEN", "AMENDED")
            account.add_confirm(replace_confirm(account.confirms[reference], reason))
            order_activity(account, inst, order, reference, now, "MODIFY_REJECT")
            return reference
        order.level = level
        if amend.good_till_ms is not None:
            order.good_till_ms = amend.good_till_ms or None
        order.guaranteed_stop = stops.guaranteed
        order.trailing_stop = stops.trailing
        order.stop_distance = signed_distance(inst, stops.stop_level, level)
        order.profit_distance = signed_distance(inst, stops.profit_level, level)
        if stops.trailing and stops.trailing_distance is not None:
            order.stop_distance = -sign_of(order.direction) * stops.trailing_distance
        order_confirm(account, inst, order, reference, now, "AMENDED", "AMENDED")
        order_activity(account, inst, order, reference, now, "MODIFIED")
        return reference

    def delete(self, account: AccountState, deal_id: str, now: int) -> str:
        """Cancel an order; returns a new ``o_`` reference."""
        order = account.orders.pop(deal_id, None)
        if order is None:
            raise ApiError(404, "error.not-found.dealId")
        inst = self.instruments.require(order.epic)
        reference = self.ids.order_reference()
        order_confirm(account, inst, order, reference, now, "DELETED", "DELETED")
        order_activity(account, inst, order, reference, now, "CANCELLED")
        return reference

    # ---- what triggers do --------------------------------------------------------------------
    def expire(self, account: AccountState, deal_id: str, when: int) -> None:
        """A GOOD_TILL_DATE order reached its date: removed, recorded as EXPIRED."""
        order = account.orders.pop(deal_id)
        inst = self.instruments.require(order.epic)
        order_activity(account, inst, order, "o_" + order.deal_id, when, "EXPIRED", "SYSTEM")

    def fill(self, account: AccountState, deal_id: str, mid: int, when: int) -> None:
        """The market reached the order's level at mid ``mid``: executed as a market deal."""
        order = account.orders.pop(deal_id)
        inst = self.instruments.require(order.epic)
        spread = self.money.spread_at(inst, when)
        bid, ask = sides(mid, spread)
        fill = to_price(inst, ask if order.direction == "BUY" else bid)
        trailing_distance = (
            abs(order.stop_distance) if order.trailing_stop and order.stop_distance else None
        )
        stops = ResolvedStops(
            None if order.trailing_stop else level_of(inst, order.level, order.stop_distance),
            level_of(inst, order.level, order.profit_distance),
            order.guaranteed_stop,
            order.trailing_stop,
            trailing_distance,
        )
        if order.trailing_stop and trailing_distance is not None:
            # like a market deal: the trailing distance counts from the closing price
            closing = to_price(inst, closing_units(order.direction, mid, spread))
            stops = ResolvedStops(
                round(closing - sign_of(order.direction) * trailing_distance, inst.decimals),
                stops.profit_level,
                False,
                True,
                trailing_distance,
            )
        reference = "o_" + order.deal_id
        confirm = self.trading.execute(
            account,
            inst,
            order.direction,
            order.size,
            fill,
            stops,
            when,
            order.deal_id,
            reference,
            source="USER",
            from_working_order=True,
        )
        # a fill is the user's order executing (source USER, measured on the real server); a
        # fill refused for lack of funds is the system's doing
        if confirm is not None:
            order_activity(account, inst, order, reference, when, "EXECUTED", "USER")
        else:
            order_activity(account, inst, order, reference, when, "REJECTED", "SYSTEM")


def _pending(account: AccountState, deal_id: str) -> WorkingOrder:
    order = account.orders.get(deal_id)
    if order is None:
        raise ApiError(404, "error.not-found.dealId")
    return order
