"""Market deals: opening (netting or hedging), amending stops and closing positions.

:class:`Trading` works on an :class:`AccountState` at a given instant; the engine takes the lock,
lets triggers catch up and looks the account up before calling it. Business rejections are
recorded in confirms; malformed requests raise :class:`ApiError`.
"""

from __future__ import annotations

from collections.abc import Callable, Collection

from capitalcom_sim.engine.accounts import AccountState
from capitalcom_sim.engine.costs import Costs
from capitalcom_sim.engine.instruments import Instrument, InstrumentTable
from capitalcom_sim.engine.ledger import Ledger
from capitalcom_sim.engine.money import Money, opposite, sign_of, to_price
from capitalcom_sim.engine.records import (
    Ids,
    add_activity,
    details,
    position_confirm,
    reject,
    replace_confirm,
)
from capitalcom_sim.engine.stops import ResolvedStops, StopRules, check_size, stop_rejection
from capitalcom_sim.engine.types import (
    AffectedDeal,
    Confirm,
    Direction,
    OpenPositionRequest,
    Position,
    StopsRequest,
    Transaction,
)
from capitalcom_sim.errors import ApiError

RECENT_DEALS_KEPT = 50
# The code as three independent clients recorded it from the demo server (sic: "vallidation").
GUARANTEED_STOP_REQUIRED = "error.vallidation.guaranteed-stop-loss.required"


class Trading:
    """Positions: market orders, netting against opposite positions, amendments, closes.

    Args:
        instruments: the instrument table.
        money: prices, FX, margin and leverage.
        stops: the stop / take-profit rules.
        costs: when a new position is first charged the overnight fee.
        tick_ms: the quote grid (stops of a new deal watch from the next tick on).
        guaranteed_stop_required: epics on which a deal without a guaranteed stop is refused
            (400 ``error.vallidation.guaranteed-stop-loss.required``, as some demo accounts do
            on crypto markets).
    """

    def __init__(
        self,
        instruments: InstrumentTable,
        money: Money,
        stops: StopRules,
        costs: Costs,
        *,
        tick_ms: int,
        guaranteed_stop_required: Collection[str] = (),
    ) -> None:
        self.instruments = instruments
        self.guaranteed_stop_required = frozenset(guaranteed_stop_required)
        self.money = money
        self.stops = stops
        self.costs = costs
        self.tick_ms = tick_ms
        self._recent: dict[str, list[str]] = {}
        self.ids = Ids()
        self.ledger: Ledger | None = None

    # ---- navigation's "recently traded" ------------------------------------------------------
    def remember_traded(self, client_id: str, epic: str) -> None:
        """The client's recently traded epics (navigation), the last 50 deals."""
        recent = self._recent.setdefault(client_id, [])
        recent.append(epic)
        del recent[:-RECENT_DEALS_KEPT]

    def recently_traded(self, client_id: str) -> list[str]:
        """The client's traded epics, newest first (repeats kept)."""
        return list(reversed(self._recent.get(client_id, [])))

    def next_tick(self, now: int) -> int:
        return now - now % self.tick_ms + self.tick_ms

    def require_guaranteed_stop(self, inst: Instrument, stops: ResolvedStops) -> None:
        """400 when the market requires a guaranteed stop and the deal has none."""
        if inst.epic in self.guaranteed_stop_required and not stops.guaranteed:
            raise ApiError(400, GUARANTEED_STOP_REQUIRED)

    # ---- market orders -----------------------------------------------------------------------
    def checked_instrument(self, epic: str, size: float) -> Instrument:
        """The instrument of a deal (404 unknown epic) after the size rules (400)."""
        inst = self.instruments.require(epic)
        check_size(inst, size)
        return inst

    def open_position(self, account: AccountState, request: OpenPositionRequest, now: int) -> str:
        """Place a market order; returns its ``o_`` deal reference (outcome in the confirm)."""
        inst = self.checked_instrument(request.epic, request.size)
        bid, ask = self.money.sides_now(inst, now)
        fill = to_price(inst, ask if request.direction == "BUY" else bid)
        closing = to_price(inst, bid if request.direction == "BUY" else ask)
        stops = self.stops.resolve(
            account, inst, request.direction, request.size, closing, fill, request.stops, now
        )
        self.require_guaranteed_stop(inst, stops)
        reference = self.ids.order_reference()
        reason = None
        if inst.market_order_preference == "NOT_AVAILABLE":
            reason = "MARKET_ORDERS_NOT_ALLOWED_ON_INSTRUMENT"
        elif not inst.opening_hours.is_open(now):
            reason = "MARKET_CLOSED"
        else:
            reason = stop_rejection(account, inst, stops)
        if reason is not None:
            return reject(
                account, now, inst, reference, reason, request.direction, request.size, fill
            )
        order_id = self.ids.deal_id()

        def record_market_order() -> None:
            # the market order's own records, under its id, before the deal's (recorded example)
            record = details(
                inst,
                reference,
                request.size,
                request.direction,
                fill,
                stops.guaranteed,
                stops.stop_level,
                stops.profit_level,
            )
            for source in ("USER", "SYSTEM"):
                add_activity(
                    account, now, inst, order_id, source, "WORKING_ORDER", "ACCEPTED", record
                )

        result = self.execute(
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
            on_accepted=record_market_order,
        )
        if result is None:
            return reject(
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
        self.remember_traded(account.client_id, inst.epic)
        return reference

    def execute(
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
        *,
        on_accepted: Callable[[], None] | None = None,
        from_working_order: bool = False,
    ) -> Confirm | None:
        """Fill a market deal (netting against opposite positions unless hedging).

        Returns the confirm, or None (nothing changed) when funds are insufficient.
        ``on_accepted`` runs once the deal is sure to go through, before any record of it;
        ``from_working_order`` puts ``workingOrderId`` in the opening activity's details.
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
        leverage = self.money.leverage(account, inst)
        if remaining > 1e-12:
            rate = self.money.fx_rate(inst.currency, account.currency, now)
            needed = fill * remaining / leverage * rate
            released = 0.0
            for pos, part in plan:
                released += self.money.margin(account, pos, now) * part / pos.size
            if self.money.available(account, now) + released < needed - 1e-9:
                return None
        if on_accepted is not None:
            on_accepted()
        affected: list[AffectedDeal] = []
        for pos, part in plan:
            status = self.close(account, inst, pos, part, fill, now, source)
            affected.append(AffectedDeal(pos.deal_id, status))
        position = None
        if remaining > 1e-12:
            deal_id = self.ids.deal_id()
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
                watch_from_ms=self.next_tick(now),
                next_swap_ms=self.costs.next_overnight_charge(now, leverage, inst),
            )
            account.positions[deal_id] = position
            if self.ledger is not None:
                self.ledger.opened(position)
            affected.append(AffectedDeal(deal_id, "OPENED"))
            record = details(
                inst,
                position.deal_reference,
                remaining,
                direction,
                fill,
                stops.guaranteed,
                stops.stop_level,
                stops.profit_level,
            )
            if from_working_order:
                record["workingOrderId"] = order_id
            add_activity(account, now, inst, deal_id, source, "POSITION", "ACCEPTED", record)
            account.add_confirm(position_confirm(position, now, "OPEN", "OPENED"))
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

    # ---- closes ------------------------------------------------------------------------------
    def close(
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
        pnl = round(pnl_instrument * self.money.fx_rate(inst.currency, account.currency, now), 2)
        account.deposit += pnl
        if self.ledger is not None:
            self.ledger.closed(position, size, price, now, source, pnl)
        full = size >= position.size - 1e-12
        if full:
            del account.positions[position.deal_id]
        else:
            position.size = round(position.size - size, 10)
        closing_direction = opposite(position.direction)
        record = details(
            inst, position.deal_reference, size, closing_direction, price, position.guaranteed_stop
        )
        add_activity(account, now, inst, position.deal_id, source, "POSITION", "ACCEPTED", record)
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
            position_confirm(
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

    def close_position(self, account: AccountState, deal_id: str, now: int) -> str:
        """Close a whole position at market; returns ``p_<dealId>``."""
        position = _open_position(account, deal_id)
        inst = self.instruments.require(position.epic)
        if not inst.opening_hours.is_open(now):
            account.add_confirm(
                replace_confirm(position_confirm(position, now, "OPEN", "AMENDED"), "MARKET_CLOSED")
            )
            return position.deal_reference
        price = self.money.closing_price(inst, position.direction, now)
        self.close(account, inst, position, position.size, price, now, "USER")
        self.remember_traded(account.client_id, inst.epic)
        return position.deal_reference

    # ---- amendments --------------------------------------------------------------------------
    def update_position(
        self, account: AccountState, deal_id: str, stops: StopsRequest, now: int
    ) -> str:
        """Amend stops/limits of a position; returns ``p_<dealId>``."""
        position = _open_position(account, deal_id)
        inst = self.instruments.require(position.epic)
        closing = self.money.closing_price(inst, position.direction, now)
        current = ResolvedStops(
            position.stop_level,
            position.profit_level,
            position.guaranteed_stop,
            position.trailing_stop,
            position.stop_distance,
        )
        resolved = self.stops.resolve(
            account,
            inst,
            position.direction,
            position.size,
            closing,
            position.level,
            stops,
            now,
            keep=current,
        )
        self.require_guaranteed_stop(inst, resolved)
        reason = stop_rejection(account, inst, resolved)
        if reason is not None:
            account.add_confirm(
                replace_confirm(position_confirm(position, now, "OPEN", "AMENDED"), reason)
            )
            record = details(
                inst,
                position.deal_reference,
                position.size,
                position.direction,
                position.level,
                position.guaranteed_stop,
            )
            add_activity(
                account, now, inst, deal_id, "USER", "EDIT_STOP_AND_LIMIT", "REJECTED", record
            )
            return position.deal_reference
        position.stop_level = resolved.stop_level
        position.profit_level = resolved.profit_level
        position.guaranteed_stop = resolved.guaranteed
        position.trailing_stop = resolved.trailing
        position.stop_distance = resolved.trailing_distance
        position.watch_from_ms = self.next_tick(now)
        record = details(
            inst,
            position.deal_reference,
            position.size,
            position.direction,
            position.level,
            position.guaranteed_stop,
            position.stop_level,
            position.profit_level,
        )
        add_activity(account, now, inst, deal_id, "USER", "EDIT_STOP_AND_LIMIT", "ACCEPTED", record)
        account.add_confirm(position_confirm(position, now, "AMENDED", "AMENDED"))
        return position.deal_reference


def _open_position(account: AccountState, deal_id: str) -> Position:
    position = account.positions.get(deal_id)
    if position is None:
        raise ApiError(404, "error.not-found.dealId")
    return position
