"""Trading rules of the engine: market orders, netting/hedging, stops, working orders, triggers.

Prices here are integer mid units of the instrument (see prices.py); bid = mid - half,
ask = mid + (spread - half). Money is in float, rounded to cents at the edges.
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from capitalcom_sim.engine.accounts import AccountState
from capitalcom_sim.engine.instruments import Instrument, InstrumentTable
from capitalcom_sim.engine.prices import PriceEngine
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

if TYPE_CHECKING:
    import threading

    from capitalcom_sim.config import SimConfig
    from capitalcom_sim.engine.clock import Clock

_MAX_EVENTS_PER_RUN = 10_000
_DAY_MS = 86_400_000
SWAP_HOUR_UTC = 22  # overnight fees are charged daily at 22:00 UTC


def next_swap_after(t_ms: int) -> int:
    """The first daily charge instant strictly after ``t``."""
    charge = t_ms - t_ms % _DAY_MS + SWAP_HOUR_UTC * 3_600_000
    return charge if charge > t_ms else charge + _DAY_MS


_FAR = 1 << 62


def new_deal_id() -> str:
    return str(uuid.uuid4())


def new_order_reference() -> str:
    return "o_" + str(uuid.uuid4())


def _sign(direction: str) -> int:
    return 1 if direction == "BUY" else -1


def _opposite(direction: str) -> Direction:
    return "SELL" if direction == "BUY" else "BUY"


def _fmt_level(inst: Instrument, value: float) -> str:
    return repr(round(value, inst.decimals))


@dataclass(frozen=True)
class ResolvedStops:
    """Stops of a deal as absolute levels (prices), after validation."""

    stop_level: float | None
    profit_level: float | None
    guaranteed: bool
    trailing: bool
    trailing_distance: float | None


@dataclass
class _Event:
    time: int
    order: int  # tie-breaker: item order
    kind: str  # SL | TP | TRAIL | FILL | EXPIRE
    account: AccountState
    deal_id: str
    mid: int
    trailing_stop: int | None = None


class TradingMixin:
    """Trading part of :class:`capitalcom_sim.engine.Engine` (state lives on the engine)."""

    config: SimConfig
    clock: Clock
    lock: threading.RLock
    instruments: InstrumentTable
    prices: PriceEngine
    accounts: dict[str, AccountState]
    _recent: dict[str, list[str]]
    _processed_ms: int
    overnight_fees: bool

    def _account(self, account_id: str) -> AccountState:  # pragma: no cover - engine's
        raise NotImplementedError

    # ---- prices and money ----------------------------------------------------------------
    def _sides(self, inst: Instrument, mid: int) -> tuple[int, int]:
        half = inst.spread_units // 2
        return mid - half, mid - half + inst.spread_units

    def _price(self, inst: Instrument, units: int) -> float:
        return round(units / inst.scale, inst.decimals)

    def _mid_now(self, inst: Instrument, now: int) -> int:
        return self.prices.mid_units(inst.epic, now)

    def _closing_units(self, inst: Instrument, direction: str, mid: int) -> int:
        bid, ask = self._sides(inst, mid)
        return bid if direction == "BUY" else ask

    def _fx_rate(self, from_ccy: str, to_ccy: str, now: int) -> float:
        """Units of ``to_ccy`` per unit of ``from_ccy`` at the engine's own mid prices."""
        if from_ccy == to_ccy:
            return 1.0
        direct = self.instruments.get(from_ccy + to_ccy)
        if direct is not None:
            return self._mid_float(direct, now)
        inverse = self.instruments.get(to_ccy + from_ccy)
        if inverse is not None:
            return 1.0 / self._mid_float(inverse, now)
        if "USD" not in (from_ccy, to_ccy):
            via_usd = self._fx_rate(from_ccy, "USD", now) * self._fx_rate("USD", to_ccy, now)
            return via_usd
        return 1.0  # unknown currency: treated as equal (documented)

    def _mid_float(self, inst: Instrument, now: int) -> float:
        return self._mid_now(inst, now) / inst.scale

    def _upl(self, account: AccountState, position: Position, now: int) -> float:
        inst = self.instruments.require(position.epic)
        close = self._price(
            inst, self._closing_units(inst, position.direction, self._mid_now(inst, now))
        )
        pnl = (close - position.level) * position.size * _sign(position.direction)
        return pnl * self._fx_rate(inst.currency, account.currency, now)

    def _margin(self, account: AccountState, position: Position, now: int) -> float:
        inst = self.instruments.require(position.epic)
        close = self._price(
            inst, self._closing_units(inst, position.direction, self._mid_now(inst, now))
        )
        notional = close * position.size
        return notional / position.leverage * self._fx_rate(inst.currency, account.currency, now)

    def _leverage(self, account: AccountState, inst: Instrument) -> int:
        """Effective leverage: the group's preference, capped by the instrument's margin."""
        chosen = account.preferences.leverages[inst.leverage_group].current
        margin_pct = max(inst.margin_factor, 100.0 / chosen)
        return max(1, round(100.0 / margin_pct))

    def margin_factor(self, account_id: str, inst: Instrument) -> float:
        """Margin in percent of the notional for this account (``marginFactor`` on the wire)."""
        account = self._account(account_id)
        return round(100.0 / self._leverage(account, inst), 2)

    def _available(self, account: AccountState, now: int) -> float:
        upl = sum(self._upl(account, p, now) for p in account.positions.values())
        margin = sum(self._margin(account, p, now) for p in account.positions.values())
        return account.deposit + upl - margin

    # ---- validation ----------------------------------------------------------------------
    @staticmethod
    def _check_size(inst: Instrument, size: float) -> None:
        if not math.isfinite(size) or size <= 0:
            raise ApiError(400, "error.invalid.size")
        if size < inst.min_deal_size - 1e-12:
            raise ApiError(400, "error.invalid.size.minvalue", _num(inst.min_deal_size))
        if size > inst.max_deal_size + 1e-12:
            raise ApiError(400, "error.invalid.size.maxvalue", _num(inst.max_deal_size))
        steps = size / inst.min_size_increment
        if abs(steps - round(steps)) > 1e-6:
            raise ApiError(400, "error.invalid.size.increment", _num(inst.min_size_increment))

    def _resolve_stops(
        self,
        account: AccountState,
        inst: Instrument,
        direction: str,
        size: float,
        reference: float,
        entry: float,
        stops: StopsRequest,
        keep: ResolvedStops | None = None,
    ) -> ResolvedStops:
        """Absolute stop/profit levels from level, distance or amount; band-checked.

        ``reference`` is the price distances and the band are measured from (the closing price
        for positions, the order level for working orders); ``entry`` the price amounts are
        measured from. ``keep`` holds the current stops on amendments (omitted fields kept,
        omitted guaranteed/trailing flags reset to false).
        """
        now = self.clock.now_ms()
        sign = _sign(direction)
        guaranteed = bool(stops.guaranteed_stop)
        trailing = bool(stops.trailing_stop)
        if guaranteed and trailing:
            raise ApiError(400, "error.invalid.guaranteedStop.trailingStop")
        rate = self._fx_rate(account.currency, inst.currency, now)

        def from_amount(amount: float, field: str) -> float:
            _positive(amount, field)
            return amount * rate / size

        stop_level = None
        trailing_distance = None
        if stops.stop_level is not None:
            stop_level = _positive(stops.stop_level, "stopLevel")
        elif stops.stop_distance is not None:
            distance = _positive(stops.stop_distance, "stopDistance")
            stop_level = reference - sign * distance
        elif stops.stop_amount is not None:
            stop_level = entry - sign * from_amount(stops.stop_amount, "stopAmount")
        elif keep is not None:
            stop_level = keep.stop_level
        if trailing:
            if stops.stop_distance is None:
                raise ApiError(400, "error.null.stopDistance")
            trailing_distance = stops.stop_distance
        if guaranteed and stop_level is None:
            raise ApiError(400, "error.null.stopLevel")

        profit_level = None
        if stops.profit_level is not None:
            profit_level = _positive(stops.profit_level, "profitLevel")
        elif stops.profit_distance is not None:
            profit_level = reference + sign * _positive(stops.profit_distance, "profitDistance")
        elif stops.profit_amount is not None:
            profit_level = entry + sign * from_amount(stops.profit_amount, "profitAmount")
        elif keep is not None:
            profit_level = keep.profit_level

        min_pct = inst.min_stop_pct
        if guaranteed:
            min_pct = max(min_pct, inst.min_guaranteed_pct)
        scale = inst.scale
        near_down = math.floor(reference * (1 - min_pct / 100) * scale + 1e-6) / scale
        far_down = math.ceil(reference * (1 - inst.max_stop_pct / 100) * scale - 1e-6) / scale
        near_up = math.ceil(reference * (1 + min_pct / 100) * scale - 1e-6) / scale
        far_up = math.floor(reference * (1 + inst.max_stop_pct / 100) * scale + 1e-6) / scale
        changed_stop = any(
            x is not None for x in (stops.stop_level, stops.stop_distance, stops.stop_amount)
        )
        if stop_level is not None and (changed_stop or guaranteed):
            stop_level = round(stop_level, inst.decimals)
            low, high = (far_down, near_down) if sign > 0 else (near_up, far_up)
            if stop_level < low:
                raise ApiError(400, "error.invalid.stoploss.minvalue", _fmt_level(inst, low))
            if stop_level > high:
                raise ApiError(400, "error.invalid.stoploss.maxvalue", _fmt_level(inst, high))
        changed_profit = any(
            x is not None for x in (stops.profit_level, stops.profit_distance, stops.profit_amount)
        )
        if profit_level is not None and changed_profit:
            profit_level = round(profit_level, inst.decimals)
            # take profit uses the normal minimum distance even with a guaranteed stop
            near_down_p = math.floor(reference * (1 - inst.min_stop_pct / 100) * scale + 1e-6)
            near_up_p = math.ceil(reference * (1 + inst.min_stop_pct / 100) * scale - 1e-6)
            low, high = (near_up_p / scale, far_up) if sign > 0 else (far_down, near_down_p / scale)
            if profit_level < low:
                raise ApiError(400, "error.invalid.takeprofit.minvalue", _fmt_level(inst, low))
            if profit_level > high:
                raise ApiError(400, "error.invalid.takeprofit.maxvalue", _fmt_level(inst, high))
        return ResolvedStops(stop_level, profit_level, guaranteed, trailing, trailing_distance)

    def _stop_rejection(
        self, account: AccountState, inst: Instrument, stops: ResolvedStops
    ) -> str | None:
        if stops.guaranteed and (
            account.preferences.hedging_mode or not inst.guaranteed_stop_allowed
        ):
            return "STOP_OR_LIMIT_NOT_ALLOWED"
        if stops.trailing and not inst.trailing_stops:
            return "TRAILING_STOP_NOT_ALLOWED"
        return None

    # ---- records -------------------------------------------------------------------------
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
            self._recent.setdefault(account.client_id, []).append(inst.epic)
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
        pnl_instrument = (price - position.level) * size * _sign(position.direction)
        pnl = round(pnl_instrument * self._fx_rate(inst.currency, account.currency, now), 2)
        account.deposit += pnl
        full = size >= position.size - 1e-12
        if full:
            del account.positions[position.deal_id]
        else:
            position.size = round(position.size - size, 10)
        closing_direction = _opposite(position.direction)
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
            self._recent.setdefault(account.client_id, []).append(inst.epic)
            return position.deal_reference

    # ---- working orders ------------------------------------------------------------------
    def create_working_order(self, account_id: str, request: WorkingOrderRequest) -> str:
        """Create a LIMIT/STOP order; returns an ``o_`` reference."""
        inst = self.instruments.require(request.epic)
        self._check_size(inst, request.size)
        level = round(_positive(request.level, "level"), inst.decimals)
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
                stop_distance=_signed(inst, stops.stop_level, level),
                profit_distance=_signed(inst, stops.profit_level, level),
                watch_from_ms=self._next_tick(now),
            )
            if stops.trailing and stops.trailing_distance is not None:
                order.stop_distance = -_sign(order.direction) * stops.trailing_distance
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
                stop_level=_level_of(inst, order.level, order.stop_distance),
                profit_level=_level_of(inst, order.level, order.profit_distance),
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
            _level_of(inst, order.level, order.stop_distance),
            _level_of(inst, order.level, order.profit_distance),
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
                level = round(_positive(amend.level, "level"), inst.decimals)
            if amend.good_till_ms and amend.good_till_ms <= now:
                raise ApiError(400, "error.not-in-future.goodTillDate")
            keep = ResolvedStops(
                _level_of(inst, level, order.stop_distance),
                _level_of(inst, level, order.profit_distance),
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
            order.stop_distance = _signed(inst, stops.stop_level, level)
            order.profit_distance = _signed(inst, stops.profit_level, level)
            if stops.trailing and stops.trailing_distance is not None:
                order.stop_distance = -_sign(order.direction) * stops.trailing_distance
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

    def _run_triggers(self, now: int) -> None:
        """Fire every stop, limit, order fill and expiry in (last run, now], in time order."""
        tick = self.prices.tick_ms
        now_tick = now - now % tick
        if now_tick <= self._processed_ms:
            if now_tick < self._processed_ms:
                self._processed_ms = now_tick  # the clock went back
            return
        start, end = self._processed_ms + tick, now_tick + tick
        if any(a.positions or a.orders for a in self.accounts.values()):
            for _ in range(_MAX_EVENTS_PER_RUN):
                event = self._first_event(start, end)
                if event is None:
                    break
                self._apply(event)
            self._settle_trailing(start, end)
        self._processed_ms = now_tick

    def _first_event(self, start: int, end: int) -> _Event | None:
        best: _Event | None = None
        order = 0
        for account in self.accounts.values():
            for position in account.positions.values():
                order += 1
                found = self._position_event(account, position, start, end, order)
                if found is not None and (best is None or found.time < best.time):
                    best = found
            for working in account.orders.values():
                order += 1
                found = self._order_event(account, working, start, end, order)
                if found is not None and (best is None or found.time < best.time):
                    best = found
        return best

    def _position_event(
        self, account: AccountState, position: Position, start: int, end: int, order: int
    ) -> _Event | None:
        best = self._price_event(account, position, start, end, order)
        swap = position.next_swap_ms
        if swap is not None and swap < end and (best is None or swap < best.time):
            return _Event(swap, order, "SWAP", account, position.deal_id, 0)
        return best

    def _price_event(
        self, account: AccountState, position: Position, start: int, end: int, order: int
    ) -> _Event | None:
        s = max(start, position.watch_from_ms)
        if s >= end:
            return None
        inst = self.instruments.require(position.epic)
        half = inst.spread_units // 2
        ask_off = inst.spread_units - half
        scale = inst.scale
        buy = position.direction == "BUY"
        # thresholds on mid: BUY closes at bid (= mid - half), SELL at ask (= mid + ask_off)
        offset = half if buy else -ask_off
        stop = None if position.stop_level is None else round(position.stop_level * scale) + offset
        profit = (
            None if position.profit_level is None else round(position.profit_level * scale) + offset
        )
        best: _Event | None = None
        if position.trailing_stop and stop is not None and position.stop_distance:
            distance = round(position.stop_distance * scale)
            found, final = self.prices.trailing_cross(
                inst.epic, s, end, stop, distance, 1 if buy else -1
            )
            if found is not None:
                best = _Event(found[0], order, "TRAIL", account, position.deal_id, found[1], final)
            stop = None
        below, above = (stop, profit) if buy else (profit, stop)
        limit_end = best.time + 1 if best is not None else end
        if below is not None or above is not None:
            found2 = self.prices.first_cross(inst.epic, s, limit_end, below, above)
            if found2 is not None and (best is None or found2[0] < best.time):
                t, mid = found2
                hit_profit = profit is not None and (mid >= profit if buy else mid <= profit)
                hit_stop = stop is not None and (mid <= stop if buy else mid >= stop)
                kind = "SL" if hit_stop and not hit_profit else "TP"
                if hit_stop and hit_profit:
                    kind = "SL"
                best = _Event(t, order, kind, account, position.deal_id, mid)
        return best

    def _order_event(
        self, account: AccountState, working: WorkingOrder, start: int, end: int, order: int
    ) -> _Event | None:
        s = max(start, working.watch_from_ms)
        if s >= end:
            return None
        inst = self.instruments.require(working.epic)
        half = inst.spread_units // 2
        ask_off = inst.spread_units - half
        level = round(working.level * inst.scale)
        buy = working.direction == "BUY"
        threshold = level - ask_off if buy else level + half
        goes_below = buy == (working.order_type == "LIMIT")
        expiry_end = end
        if working.good_till_ms is not None and working.good_till_ms < end:
            expiry_end = max(s, working.good_till_ms)
        found = None
        if expiry_end > s:
            found = self.prices.first_cross(
                inst.epic,
                s,
                expiry_end,
                threshold if goes_below else None,
                None if goes_below else threshold,
            )
        if found is not None:
            return _Event(found[0], order, "FILL", account, working.deal_id, found[1])
        if working.good_till_ms is not None and working.good_till_ms < end:
            return _Event(
                max(s, working.good_till_ms), order, "EXPIRE", account, working.deal_id, 0
            )
        return None

    def _apply(self, event: _Event) -> None:
        account = event.account
        if event.kind == "SWAP":
            self._charge_overnight_fee(account, account.positions[event.deal_id], event.time)
            return
        if event.kind in ("SL", "TP", "TRAIL"):
            position = account.positions[event.deal_id]
            inst = self.instruments.require(position.epic)
            if event.kind == "TRAIL" and event.trailing_stop is not None:
                offset = (
                    inst.spread_units // 2
                    if position.direction == "BUY"
                    else -(inst.spread_units - inst.spread_units // 2)
                )
                position.stop_level = self._price(inst, event.trailing_stop - offset)
            if position.guaranteed_stop and event.kind == "SL" and position.stop_level is not None:
                price = position.stop_level
            else:
                price = self._price(inst, self._closing_units(inst, position.direction, event.mid))
            source = "TP" if event.kind == "TP" else "SL"
            self._close(account, inst, position, position.size, price, event.time, source)
            return
        working = account.orders.pop(event.deal_id)
        inst = self.instruments.require(working.epic)
        if event.kind == "EXPIRE":
            self._order_activity(
                account, inst, working, "o_" + working.deal_id, event.time, "EXPIRED", "SYSTEM"
            )
            return
        bid, ask = self._sides(inst, event.mid)
        fill = self._price(inst, ask if working.direction == "BUY" else bid)
        trailing_distance = (
            abs(working.stop_distance) if working.trailing_stop and working.stop_distance else None
        )
        stops = ResolvedStops(
            None
            if working.trailing_stop
            else _level_of(inst, working.level, working.stop_distance),
            _level_of(inst, working.level, working.profit_distance),
            working.guaranteed_stop,
            working.trailing_stop,
            trailing_distance,
        )
        if working.trailing_stop and trailing_distance is not None:
            stops = ResolvedStops(
                round(fill - _sign(working.direction) * trailing_distance, inst.decimals),
                stops.profit_level,
                False,
                True,
                trailing_distance,
            )
        reference = "o_" + working.deal_id
        confirm = self._execute(
            account,
            inst,
            working.direction,
            working.size,
            fill,
            stops,
            event.time,
            working.deal_id,
            reference,
            source="SYSTEM",
        )
        status = "EXECUTED" if confirm is not None else "REJECTED"
        self._order_activity(account, inst, working, reference, event.time, status, "SYSTEM")

    def _charge_overnight_fee(self, account: AccountState, position: Position, when: int) -> None:
        """Daily fee: notional x the instrument's long/short rate (percent per day)."""
        inst = self.instruments.require(position.epic)
        mid = self._mid_now(inst, when)
        close = self._price(inst, self._closing_units(inst, position.direction, mid))
        rate = inst.long_rate if position.direction == "BUY" else inst.short_rate
        fx = self._fx_rate(inst.currency, account.currency, when)
        amount = round(close * position.size * rate / 100 * fx, 2)
        position.next_swap_ms = when + _DAY_MS
        if amount == 0:
            return
        account.deposit += amount
        account.add_transaction(
            Transaction(
                date_ms=when,
                instrument_name=inst.name,
                transaction_type="SWAP",
                note="Overnight fee",
                reference=position.deal_id.split("-")[0],
                amount=amount,
                currency=account.currency,
            )
        )
        details = self._details(
            inst,
            position.deal_reference,
            position.size,
            position.direction,
            close,
            position.guaranteed_stop,
        )
        self._activity(account, when, inst, position.deal_id, "SYSTEM", "SWAP", "ACCEPTED", details)

    def _settle_trailing(self, start: int, end: int) -> None:
        """Move trailing stops to where the price walk since the last run took them."""
        for account in self.accounts.values():
            for position in account.positions.values():
                if not (position.trailing_stop and position.stop_level and position.stop_distance):
                    continue
                s = max(start, position.watch_from_ms)
                if s >= end:
                    continue
                inst = self.instruments.require(position.epic)
                buy = position.direction == "BUY"
                half = inst.spread_units // 2
                offset = half if buy else -(inst.spread_units - half)
                stop = round(position.stop_level * inst.scale) + offset
                distance = round(position.stop_distance * inst.scale)
                _, final = self.prices.trailing_cross(
                    inst.epic, s, end, stop, distance, 1 if buy else -1
                )
                position.stop_level = self._price(inst, final - offset)
                position.watch_from_ms = end


def replace_confirm(confirm: Confirm, reason: str) -> Confirm:
    """A copy of ``confirm`` turned into a rejection with ``reason``."""
    return replace(confirm, deal_status="REJECTED", reason=reason, affected_deals=())


def _positive(value: float, field: str) -> float:
    if not math.isfinite(value) or value <= 0 or value > 1e12:
        raise ApiError(400, f"error.invalid.{field}")
    return value


def _num(value: float) -> str:
    return repr(float(value)) if value != int(value) else repr(int(value))


def _signed(inst: Instrument, level: float | None, reference: float) -> float | None:
    return None if level is None else round(level - reference, inst.decimals)


def _level_of(inst: Instrument, reference: float, distance: float | None) -> float | None:
    return None if distance is None else round(reference + distance, inst.decimals)
