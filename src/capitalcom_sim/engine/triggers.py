"""Triggers: stops, take profits, trailing stops, order fills, expiries and overnight fees.

Found on the price path between two runs (bar high/low guide the search), applied in time order.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from capitalcom_sim.engine.accounts import AccountState
from capitalcom_sim.engine.costs import Costs
from capitalcom_sim.engine.instruments import InstrumentTable
from capitalcom_sim.engine.money import Money, closing_units, to_price
from capitalcom_sim.engine.orders import WorkingOrders
from capitalcom_sim.engine.prices import PriceEngine
from capitalcom_sim.engine.trading import Trading
from capitalcom_sim.engine.types import Position, WorkingOrder

_MAX_EVENTS_PER_RUN = 10_000


@dataclass
class _Event:
    time: int
    order: int  # tie-breaker: item order
    kind: str  # SL | TP | TRAIL | FILL | EXPIRE | SWAP
    account: AccountState
    deal_id: str
    mid: int
    trailing_stop: int | None = None  # TRAIL: the stop level (price units) it was hit at


def _closing_offset(buy: bool, spread: int) -> int:
    """Mid minus the closing side under ``spread`` (units): BUY closes at the bid (mid - half),
    SELL at the offer (mid + spread - half)."""
    half = spread // 2
    return half if buy else -(spread - half)


class Triggers:
    """The event loop run by ``Engine.advance_to`` and before every engine write.

    Finds the first event (stop, take profit, trailing stop, order fill or expiry, fee) in the
    span since its last run, lets its owner apply it, and repeats; then settles trailing stops
    and checks the stop-out level.

    Args:
        accounts: the engine's accounts (read and changed through the collaborators).
        instruments: the instrument table.
        prices: the price path searched for crossings.
        money: prices, P&L and margin.
        trading: closes positions.
        orders: fills and expires working orders.
        costs: charges overnight fees.
        stop_out_level: the equity / margin fraction below which positions are closed.
        start_ms: the instant already processed (the engine's start).
    """

    def __init__(
        self,
        accounts: Mapping[str, AccountState],
        instruments: InstrumentTable,
        prices: PriceEngine,
        money: Money,
        trading: Trading,
        orders: WorkingOrders,
        costs: Costs,
        *,
        stop_out_level: float | None,
        start_ms: int,
    ) -> None:
        self.accounts = accounts
        self.instruments = instruments
        self.prices = prices
        self.money = money
        self.trading = trading
        self.orders = orders
        self.costs = costs
        self.stop_out_level = stop_out_level
        self._processed_ms = start_ms - start_ms % prices.tick_ms

    @property
    def processed_ms(self) -> int:
        """The last tick whose events have been applied."""
        return self._processed_ms

    def run(self, now: int) -> None:
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
            self._stop_out(now_tick)
        self._processed_ms = now_tick

    def _stop_out(self, now: int) -> None:
        """Close the worst positions (source CLOSE_OUT) of accounts below the margin level.

        Checked at the end of each processed span, on the prices of that instant.
        """
        level = self.stop_out_level
        if level is None:
            return
        for account in self.accounts.values():
            while account.positions:
                upls = {
                    deal_id: self.money.upl(account, p, now)
                    for deal_id, p in account.positions.items()
                }
                margin = sum(self.money.margin(account, p, now) for p in account.positions.values())
                equity = account.deposit + sum(upls.values())
                if margin <= 0 or equity >= margin * level:
                    break
                worst = min(upls, key=lambda deal_id: upls[deal_id])
                position = account.positions[worst]
                inst = self.instruments.require(position.epic)
                price = self.money.closing_price(inst, position.direction, now)
                self.trading.close(account, inst, position, position.size, price, now, "CLOSE_OUT")

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
        scale = inst.scale
        buy = position.direction == "BUY"
        stop_level = None if position.stop_level is None else round(position.stop_level * scale)
        profit_level = (
            None if position.profit_level is None else round(position.profit_level * scale)
        )
        # The levels are on the closing side (BUY closes at the bid, SELL at the offer): a
        # different mid threshold under each spread, so the span is searched piece by piece.
        pieces = self.prices.spread_pieces(inst.epic, s, end)
        best: _Event | None = None
        if position.trailing_stop and stop_level is not None and position.stop_distance:
            distance = round(position.stop_distance * scale)
            level = stop_level
            for piece_s, piece_e, spread in pieces:
                offset = _closing_offset(buy, spread)
                found, final = self.prices.trailing_cross(
                    inst.epic, piece_s, piece_e, level + offset, distance, 1 if buy else -1
                )
                level = final - offset
                if found is not None:
                    best = _Event(
                        found[0], order, "TRAIL", account, position.deal_id, found[1], level
                    )
                    break
            stop_level = None
        if stop_level is None and profit_level is None:
            return best
        limit_end = best.time + 1 if best is not None else end
        for piece_s, piece_e, spread in pieces:
            if piece_s >= limit_end:
                break
            offset = _closing_offset(buy, spread)
            stop = None if stop_level is None else stop_level + offset
            profit = None if profit_level is None else profit_level + offset
            below, above = (stop, profit) if buy else (profit, stop)
            piece_end = min(piece_e, limit_end)
            found2 = self.prices.first_cross(inst.epic, piece_s, piece_end, below, above)
            if found2 is None:
                continue
            t, mid = found2
            if best is None or t < best.time:
                hit_stop = stop is not None and (mid <= stop if buy else mid >= stop)
                kind = "SL" if hit_stop else "TP"
                best = _Event(t, order, kind, account, position.deal_id, mid)
            break
        return best

    def _order_event(
        self, account: AccountState, working: WorkingOrder, start: int, end: int, order: int
    ) -> _Event | None:
        s = max(start, working.watch_from_ms)
        if s >= end:
            return None
        inst = self.instruments.require(working.epic)
        level = round(working.level * inst.scale)
        buy = working.direction == "BUY"
        goes_below = buy == (working.order_type == "LIMIT")
        expiry_end = end
        if working.good_till_ms is not None and working.good_till_ms < end:
            expiry_end = max(s, working.good_till_ms)
        found = None
        if expiry_end > s:
            # A BUY fills at the offer, a SELL at the bid: the level's mid threshold depends on
            # the spread, searched piece by piece.
            for piece_s, piece_e, spread in self.prices.spread_pieces(inst.epic, s, expiry_end):
                half = spread // 2
                threshold = level - (spread - half) if buy else level + half
                found = self.prices.first_cross(
                    inst.epic,
                    piece_s,
                    piece_e,
                    threshold if goes_below else None,
                    None if goes_below else threshold,
                )
                if found is not None:
                    break
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
            self.costs.charge_overnight(account, account.positions[event.deal_id], event.time)
        elif event.kind in ("SL", "TP", "TRAIL"):
            self._close_on_trigger(account, account.positions[event.deal_id], event)
        elif event.kind == "EXPIRE":
            self.orders.expire(account, event.deal_id, event.time)
        else:
            self.orders.fill(account, event.deal_id, event.mid, event.time)

    def _close_on_trigger(self, account: AccountState, position: Position, event: _Event) -> None:
        inst = self.instruments.require(position.epic)
        if event.kind == "TRAIL" and event.trailing_stop is not None:
            position.stop_level = to_price(inst, event.trailing_stop)
        guaranteed = position.guaranteed_stop and event.kind == "SL"
        if guaranteed and position.stop_level is not None:
            price = position.stop_level
        else:
            spread = self.money.spread_at(inst, event.time)
            price = to_price(inst, closing_units(position.direction, event.mid, spread))
        source = "TP" if event.kind == "TP" else "SL"
        size = position.size
        self.trading.close(account, inst, position, size, price, event.time, source)
        if guaranteed:
            self.costs.charge_guaranteed_stop(account, position, size, event.time)

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
                level = round(position.stop_level * inst.scale)
                distance = round(position.stop_distance * inst.scale)
                for piece_s, piece_e, spread in self.prices.spread_pieces(inst.epic, s, end):
                    offset = _closing_offset(buy, spread)
                    _, final = self.prices.trailing_cross(
                        inst.epic, piece_s, piece_e, level + offset, distance, 1 if buy else -1
                    )
                    level = final - offset
                position.stop_level = to_price(inst, level)
                position.watch_from_ms = end
