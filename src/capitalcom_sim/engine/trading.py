"""Trading rules of the engine: market orders, netting/hedging, closes, working orders."""

from __future__ import annotations

import uuid
from dataclasses import replace

from capitalcom_sim.engine.accounts import AccountState
from capitalcom_sim.engine.instruments import Instrument
from capitalcom_sim.engine.money import next_swap_after, opposite, sign_of
from capitalcom_sim.engine.stops import ResolvedStops, StopsMixin, positive
from capitalcom_sim.engine.types import (
    Activity,
    AffectedDeal,
    Confirm,
    Direction,
    OpenPositionRequest,
    Position,
    StopsRequest,
    Transaction,
    WorkingOrder,
    WorkingOrderAmend,
    WorkingOrderRequest,
)
from capitalcom_sim.errors import ApiError


def new_deal_id() -> str:
    return str(uuid.uuid4())


def new_order_reference() -> str:
    return "o_" + str(uuid.uuid4())


class TradingMixin(StopsMixin):
    """Positions, working orders and their confirms and records."""

    def _remember_traded(self, client_id: str, epic: str) -> None:
        """The client's recently traded epics (navigation), the last 50 deals."""
        recent = self._recent.setdefault(client_id, [])
        recent.append(epic)
        del recent[:-50]

    def _run_triggers(self, now: int) -> None:  # pragma: no cover - TriggersMixin's
        raise NotImplementedError

    def _charge_overnight_fee(self, account: AccountState, position: Position, when: int) -> None:
        raise NotImplementedError  # pragma: no cover - TriggersMixin's

    def _details(
        self,
        inst: Instrument,
        reference: str,
        size: float,
        direction: str,
        level: float,
        guaranteed: bool,
        stop_level: float | None = None,
        profit_level: float | None = None,
    ) -> dict[str, object]:
        details: dict[str, object] = {
            "dealReference": reference,
            "marketName": inst.name,
            "currency": inst.currency,
            "size": size,
            "direction": direction,
            "level": level,
            "guaranteedStop": guaranteed,
        }
        if stop_level is not None:
            details["stopLevel"] = stop_level
        if profit_level is not None:
            details["profitLevel"] = profit_level
        return details

    def _activity(
        self,
        account: AccountState,
        now: int,
        inst: Instrument,
        deal_id: str,
        source: str,
        kind: str,
        status: str,
        details: dict[str, object],
    ) -> None:
        account.add_activity(Activity(now, inst.epic, deal_id, source, kind, status, details))

    def _reject(
        self,
        account: AccountState,
        now: int,
        inst: Instrument,
        reference: str,
        reason: str,
        direction: str | None,
        size: float | None,
        level: float | None,
        kind: str = "POSITION",
        deal_id: str | None = None,
    ) -> str:
        deal_id = deal_id or new_deal_id()
        account.add_confirm(
            Confirm(
                deal_reference=reference,
                date_ms=now,
                deal_status="REJECTED",
                status="REJECTED",
                reason=reason,
                epic=inst.epic,
                deal_id=deal_id,
                affected_deals=(),
                level=level,
                size=size,
                direction=direction,
            )
        )
        details = self._details(inst, reference, size or 0, direction or "", level or 0, False)
        self._activity(account, now, inst, deal_id, "USER", kind, "REJECTED", details)
        return reference

    # ---- positions -----------------------------------------------------------------------
    def open_position(self, account_id: str, request: OpenPositionRequest) -> str:
        """Place a market order; returns its ``o_`` deal reference (outcome in the confirm)."""
        inst = self.instruments.require(request.epic)
        self._check_size(inst, request.size)
        with self.lock:
            now = self.clock.now_ms()
            self._run_triggers(now)
            account = self._account(account_id)
            mid = self._mid_now(inst, now)
            bid, ask = self._sides(inst, mid)
            fill = self._price(inst, ask if request.direction == "BUY" else bid)
            closing = self._price(inst, bid if request.direction == "BUY" else ask)
            stops = self._resolve_stops(
                account, inst, request.direction, request.size, closing, fill, request.stops
            )
            reference = new_order_reference()
            reason = None
            if inst.market_order_preference == "NOT_AVAILABLE":
                reason = "MARKET_ORDERS_NOT_ALLOWED_ON_INSTRUMENT"
            elif not inst.opening_hours.is_open(now):
                reason = "MARKET_CLOSED"
            else:
                reason = self._stop_rejection(account, inst, stops)
            if reason is not None:
                return self._reject(
                    account, now, inst, reference, reason, request.direction, request.size, fill
                )
            order_id = new_deal_id()
            result = self._execute(
                account,
                inst,
                request.direction,
                request.size,
                fill,
                stops,
                now,
                order_id,
                reference,
                source="USER",
            )
            if result is None:
                return self._reject(
                    account,
                    now,
                    inst,
                    reference,
                    "INSUFFICIENT_FUNDS",
                    request.direction,
                    request.size,
                    fill,
                    deal_id=order_id,
                )
            self._remember_traded(account.client_id, inst.epic)
            return reference

    def _execute(
        self,
        account: AccountState,
        inst: Instrument,
        direction: Direction,
        size: float,
        fill: float,
        stops: ResolvedStops,
        now: int,
        order_id: str,
        reference: str,
        source: str,
    ) -> Confirm | None:
        """Fill a market deal (netting against opposite positions unless hedging).

        Returns the confirm, or None (nothing changed) when funds are insufficient.
        """
        remaining = size
        plan: list[tuple[Position, float]] = []
        if not account.preferences.hedging_mode:
            for pos in account.positions.values():
                if remaining <= 1e-12:
                    break
                if pos.epic == inst.epic and pos.direction != direction:
                    part = min(pos.size, remaining)
                    plan.append((pos, part))
                    remaining = round(remaining - part, 10)
        leverage = self._leverage(account, inst)
        if remaining > 1e-12:
            rate = self._fx_rate(inst.currency, account.currency, now)
            needed = fill * remaining / leverage * rate
            released = 0.0
            for pos, part in plan:
                released += self._margin(account, pos, now) * part / pos.size
            if self._available(account, now) + released < needed - 1e-9:
                return None
        affected: list[AffectedDeal] = []
        for pos, part in plan:
            status = self._close(account, inst, pos, part, fill, now, source)
            affected.append(AffectedDeal(pos.deal_id, status))
        position = None
        if remaining > 1e-12:
            deal_id = new_deal_id()
            position = Position(
                deal_id=deal_id,
                working_order_id=order_id,
                account_id=account.account_id,
                epic=inst.epic,
                direction=direction,
                size=remaining,
                level=fill,
                created_ms=now,
                leverage=leverage,
                currency=inst.currency,
                guaranteed_stop=stops.guaranteed,
                trailing_stop=stops.trailing,
                stop_level=stops.stop_level,
                stop_distance=stops.trailing_distance,
                profit_level=stops.profit_level,
                watch_from_ms=self._next_tick(now),
                next_swap_ms=next_swap_after(now) if self.overnight_fees else None,
            )
            account.positions[deal_id] = position
            affected.append(AffectedDeal(deal_id, "OPENED"))
            details = self._details(
                inst,
                position.deal_reference,
                remaining,
                direction,
                fill,
                stops.guaranteed,
                stops.stop_level,
                stops.profit_level,
            )
            self._activity(account, now, inst, deal_id, source, "POSITION", "ACCEPTED", details)
            account.add_confirm(self._position_confirm(position, now, "OPEN", "OPENED"))
        if position is not None:
            status = "OPEN"
        elif all(a.status == "FULLY_CLOSED" for a in affected):
            status = "CLOSED"
        else:
            status = "PARTIALLY_CLOSED"
        confirm = Confirm(
            deal_reference=reference,
            date_ms=now,
            deal_status="ACCEPTED",
            status=status,
            reason="SUCCESS",
            epic=inst.epic,
            deal_id=order_id,
            affected_deals=tuple(affected),
            level=fill,
            size=size,
            direction=direction,
            guaranteed_stop=stops.guaranteed,
            trailing_stop=stops.trailing,
            stop_level=stops.stop_level if position else None,
            profit_level=stops.profit_level if position else None,
        )
        account.add_confirm(confirm)
        return confirm

    def _position_confirm(
        self,
        position: Position,
        now: int,
        status: str,
        affected: str,
        level: float | None = None,
        size: float | None = None,
        profit: float | None = None,
        profit_currency: str | None = None,
        direction: str | None = None,
    ) -> Confirm:
        return Confirm(
            deal_reference=position.deal_reference,
            date_ms=now,
            deal_status="ACCEPTED",
            status=status,
            reason="SUCCESS",
            epic=position.epic,
            deal_id=position.deal_id,
            affected_deals=(AffectedDeal(position.deal_id, affected),),
            level=position.level if level is None else level,
            size=position.size if size is None else size,
            direction=direction or position.direction,
            guaranteed_stop=position.guaranteed_stop,
            trailing_stop=position.trailing_stop,
            stop_level=position.stop_level,
            profit_level=position.profit_level,
            profit=profit,
            profit_currency=profit_currency,
        )

    def _close(
        self,
        account: AccountState,
        inst: Instrument,
        position: Position,
        size: float,
        price: float,
        now: int,
        source: str,
    ) -> str:
        """Close ``size`` of a position at ``price``; realises P&L; returns the deal status."""
        pnl_instrument = (price - position.level) * size * sign_of(position.direction)
        pnl = round(pnl_instrument * self._fx_rate(inst.currency, account.currency, now), 2)
        account.deposit += pnl
        full = size >= position.size - 1e-12
        if full:
            del account.positions[position.deal_id]
        else:
            position.size = round(position.size - size, 10)
        closing_direction = opposite(position.direction)
        details = self._details(
            inst, position.deal_reference, size, closing_direction, price, position.guaranteed_stop
        )
        self._activity(
            account, now, inst, position.deal_id, source, "POSITION", "ACCEPTED", details
        )
        account.add_transaction(
            Transaction(
                date_ms=now,
                instrument_name=inst.name,
                transaction_type="TRADE",
                note="Trade closed" if full else "Trade partially closed",
                reference=position.deal_id.split("-")[0],
                amount=pnl,
                currency=account.currency,
            )
        )
        status = "FULLY_CLOSED" if full else "PARTIALLY_CLOSED"
        account.add_confirm(
            self._position_confirm(
                position,
                now,
                "CLOSED" if full else "PARTIALLY_CLOSED",
                status,
                level=price,
                size=size,
                profit=pnl,
                profit_currency=account.currency,
                direction=closing_direction,
            )
        )
        return status

    def update_position(self, account_id: str, deal_id: str, stops: StopsRequest) -> str:
        """Amend stops/limits of a position; returns ``p_<dealId>``."""
        with self.lock:
            now = self.clock.now_ms()
            self._run_triggers(now)
            account = self._account(account_id)
            position = account.positions.get(deal_id)
            if position is None:
                raise ApiError(404, "error.not-found.dealId")
            inst = self.instruments.require(position.epic)
            closing = self._price(
                inst, self._closing_units(inst, position.direction, self._mid_now(inst, now))
            )
            current = ResolvedStops(
                position.stop_level,
                position.profit_level,
                position.guaranteed_stop,
                position.trailing_stop,
                position.stop_distance,
            )
            resolved = self._resolve_stops(
                account,
                inst,
                position.direction,
                position.size,
                closing,
                position.level,
                stops,
                keep=current,
            )
            reason = self._stop_rejection(account, inst, resolved)
            if reason is not None:
                account.add_confirm(
                    replace_confirm(
                        self._position_confirm(position, now, "OPEN", "AMENDED"), reason
                    )
                )
                details = self._details(
                    inst,
                    position.deal_reference,
                    position.size,
                    position.direction,
                    position.level,
                    position.guaranteed_stop,
                )
                self._activity(
                    account,
                    now,
                    inst,
                    deal_id,
                    "USER",
                    "EDIT_STOP_AND_LIMIT",
                    "REJECTED",
                    details,
                )
                return position.deal_reference
            position.stop_level = resolved.stop_level
            position.profit_level = resolved.profit_level
            position.guaranteed_stop = resolved.guaranteed
            position.trailing_stop = resolved.trailing
            position.stop_distance = resolved.trailing_distance
            position.watch_from_ms = self._next_tick(now)
            details = self._details(
                inst,
                position.deal_reference,
                position.size,
                position.direction,
                position.level,
                position.guaranteed_stop,
                position.stop_level,
                position.profit_level,
            )
            self._activity(
                account, now, inst, deal_id, "USER", "EDIT_STOP_AND_LIMIT", "ACCEPTED", details
            )
            account.add_confirm(self._position_confirm(position, now, "AMENDED", "AMENDED"))
            return position.deal_reference

    def close_position(self, account_id: str, deal_id: str) -> str:
        """Close a whole position at market; returns ``p_<dealId>``."""
        with self.lock:
            now = self.clock.now_ms()
            self._run_triggers(now)
            account = self._account(account_id)
            position = account.positions.get(deal_id)
            if position is None:
                raise ApiError(404, "error.not-found.dealId")
            inst = self.instruments.require(position.epic)
            if not inst.opening_hours.is_open(now):
                account.add_confirm(
                    replace_confirm(
                        self._position_confirm(position, now, "OPEN", "AMENDED"), "MARKET_CLOSED"
                    )
                )
                return position.deal_reference
            price = self._price(
                inst, self._closing_units(inst, position.direction, self._mid_now(inst, now))
            )
            self._close(account, inst, position, position.size, price, now, "USER")
            self._remember_traded(account.client_id, inst.epic)
            return position.deal_reference

    # ---- working orders ------------------------------------------------------------------
    def create_working_order(self, account_id: str, request: WorkingOrderRequest) -> str:
        """Create a LIMIT/STOP order; returns an ``o_`` reference."""
        inst = self.instruments.require(request.epic)
        self._check_size(inst, request.size)
        level = round(positive(request.level, "level"), inst.decimals)
        with self.lock:
            now = self.clock.now_ms()
            self._run_triggers(now)
            account = self._account(account_id)
            if request.good_till_ms is not None and request.good_till_ms <= now:
                raise ApiError(400, "error.not-in-future.goodTillDate")
            stops = self._resolve_stops(
                account, inst, request.direction, request.size, level, level, request.stops
            )
            reference = new_order_reference()
            reason = self._stop_rejection(account, inst, stops) or self._wrong_side(
                inst, request.direction, request.order_type, level, now
            )
            if reason is not None:
                return self._reject(
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
            deal_id = new_deal_id()
            order = WorkingOrder(
                deal_id=deal_id,
                account_id=account.account_id,
                epic=inst.epic,
                direction=request.direction,
                size=request.size,
                level=level,
                order_type=request.order_type,
                created_ms=now,
                leverage=self._leverage(account, inst),
                currency=inst.currency,
                good_till_ms=request.good_till_ms,
                guaranteed_stop=stops.guaranteed,
                trailing_stop=stops.trailing,
                stop_distance=signed_distance(inst, stops.stop_level, level),
                profit_distance=signed_distance(inst, stops.profit_level, level),
                watch_from_ms=self._next_tick(now),
            )
            if stops.trailing and stops.trailing_distance is not None:
                order.stop_distance = -sign_of(order.direction) * stops.trailing_distance
            account.orders[deal_id] = order
            self._order_confirm(account, order, reference, now, "OPEN", "OPENED")
            self._order_activity(account, inst, order, reference, now, "CREATED")
            return reference

    def _wrong_side(
        self, inst: Instrument, direction: str, order_type: str, level: float, now: int
    ) -> str | None:
        bid, ask = self._sides(inst, self._mid_now(inst, now))
        price = self._price(inst, ask if direction == "BUY" else bid)
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

    def _order_confirm(
        self,
        account: AccountState,
        order: WorkingOrder,
        reference: str,
        now: int,
        status: str,
        affected: str,
    ) -> None:
        inst = self.instruments.require(order.epic)
        account.add_confirm(
            Confirm(
                deal_reference=reference,
                date_ms=now,
                deal_status="ACCEPTED",
                status=status,
                reason="SUCCESS",
                epic=order.epic,
                deal_id=order.deal_id,
                affected_deals=(AffectedDeal(order.deal_id, affected),),
                level=order.level,
                size=order.size,
                direction=order.direction,
                guaranteed_stop=order.guaranteed_stop,
                trailing_stop=order.trailing_stop,
                stop_level=level_of(inst, order.level, order.stop_distance),
                profit_level=level_of(inst, order.level, order.profit_distance),
            )
        )

    def _order_activity(
        self,
        account: AccountState,
        inst: Instrument,
        order: WorkingOrder,
        reference: str,
        now: int,
        status: str,
        source: str = "USER",
    ) -> None:
        details = self._details(
            inst,
            reference,
            order.size,
            order.direction,
            order.level,
            order.guaranteed_stop,
            level_of(inst, order.level, order.stop_distance),
            level_of(inst, order.level, order.profit_distance),
        )
        self._activity(account, now, inst, order.deal_id, source, "WORKING_ORDER", status, details)

    def update_working_order(self, account_id: str, deal_id: str, amend: WorkingOrderAmend) -> str:
        """Amend level, expiry or stops of an order; returns a new ``o_`` reference."""
        with self.lock:
            now = self.clock.now_ms()
            self._run_triggers(now)
            account = self._account(account_id)
            order = account.orders.get(deal_id)
            if order is None:
                raise ApiError(404, "error.not-found.dealId")
            inst = self.instruments.require(order.epic)
            level = order.level
            if amend.level is not None:
                level = round(positive(amend.level, "level"), inst.decimals)
            if amend.good_till_ms and amend.good_till_ms <= now:
                raise ApiError(400, "error.not-in-future.goodTillDate")
            keep = ResolvedStops(
                level_of(inst, level, order.stop_distance),
                level_of(inst, level, order.profit_distance),
                order.guaranteed_stop,
                order.trailing_stop,
                abs(order.stop_distance) if order.trailing_stop and order.stop_distance else None,
            )
            stops = self._resolve_stops(
                account, inst, order.direction, order.size, level, level, amend.stops, keep=keep
            )
            reference = new_order_reference()
            reason = self._stop_rejection(account, inst, stops) or self._wrong_side(
                inst, order.direction, order.order_type, level, now
            )
            if reason is not None:
                self._order_confirm(account, order, reference, now, "OPEN", "AMENDED")
                account.add_confirm(replace_confirm(account.confirms[reference], reason))
                self._order_activity(account, inst, order, reference, now, "MODIFY_REJECT")
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
            self._order_confirm(account, order, reference, now, "AMENDED", "AMENDED")
            self._order_activity(account, inst, order, reference, now, "MODIFIED")
            return reference

    def delete_working_order(self, account_id: str, deal_id: str) -> str:
        """Cancel an order; returns a new ``o_`` reference."""
        with self.lock:
            now = self.clock.now_ms()
            self._run_triggers(now)
            account = self._account(account_id)
            order = account.orders.pop(deal_id, None)
            if order is None:
                raise ApiError(404, "error.not-found.dealId")
            inst = self.instruments.require(order.epic)
            reference = new_order_reference()
            self._order_confirm(account, order, reference, now, "DELETED", "DELETED")
            self._order_activity(account, inst, order, reference, now, "CANCELLED")
            return reference

    # ---- triggers ------------------------------------------------------------------------
    def _next_tick(self, now: int) -> int:
        tick = self.prices.tick_ms
        return now - now % tick + tick


def replace_confirm(confirm: Confirm, reason: str) -> Confirm:
    """A copy of ``confirm`` turned into a rejection with ``reason``."""
    return replace(confirm, deal_status="REJECTED", reason=reason, affected_deals=())


def signed_distance(inst: Instrument, level: float | None, reference: float) -> float | None:
    return None if level is None else round(level - reference, inst.decimals)


def level_of(inst: Instrument, reference: float, distance: float | None) -> float | None:
    return None if distance is None else round(reference + distance, inst.decimals)
