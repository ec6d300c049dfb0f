"""Triggers: stops, take profits, trailing stops, order fills, expiries and overnight fees.

Found on the price path between two runs (bar high/low guide the search), applied in time order.
"""

from __future__ import annotations

from dataclasses import dataclass

from capitalcom_sim.engine.accounts import AccountState
from capitalcom_sim.engine.money import DAY_MS, sign_of
from capitalcom_sim.engine.stops import ResolvedStops
from capitalcom_sim.engine.trading import TradingMixin, level_of
from capitalcom_sim.engine.types import (
    Position,
    Transaction,
    WorkingOrder,
)

_MAX_EVENTS_PER_RUN = 10_000


@dataclass
class _Event:
    time: int
    order: int  # tie-breaker: item order
    kind: str  # SL | TP | TRAIL | FILL | EXPIRE | SWAP
    account: AccountState
    deal_id: str
    mid: int
    trailing_stop: int | None = None


class TriggersMixin(TradingMixin):
    """The event loop run by ``Engine.advance_to`` and before every engine write."""

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
                    deal_id: self._upl(account, p, now) for deal_id, p in account.positions.items()
                }
                margin = sum(self._margin(account, p, now) for p in account.positions.values())
                equity = account.deposit + sum(upls.values())
                if margin <= 0 or equity >= margin * level:
                    break
                worst = min(upls, key=lambda deal_id: upls[deal_id])
                position = account.positions[worst]
                inst = self.instruments.require(position.epic)
                mid = self._mid_now(inst, now)
                price = self._price(inst, self._closing_units(inst, position.direction, mid))
                self._close(account, inst, position, position.size, price, now, "CLOSE_OUT")

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
            None if working.trailing_stop else level_of(inst, working.level, working.stop_distance),
            level_of(inst, working.level, working.profit_distance),
            working.guaranteed_stop,
            working.trailing_stop,
            trailing_distance,
        )
        if working.trailing_stop and trailing_distance is not None:
            # like a market deal: the trailing distance counts from the closing price
            closing = self._price(inst, self._closing_units(inst, working.direction, event.mid))
            stops = ResolvedStops(
                round(closing - sign_of(working.direction) * trailing_distance, inst.decimals),
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
        position.next_swap_ms = when + DAY_MS
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
