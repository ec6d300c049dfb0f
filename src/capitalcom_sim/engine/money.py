"""Prices and money of the engine: bid/ask from mid units, FX conversion, P&L, margin.

Prices here are integer mid units of the instrument (see prices.py); bid = mid - half,
ask = mid + (spread - half), the spread being the price engine's at that instant
(:meth:`PriceEngine.spread_units`: a replayed bar's own, else the instrument's). Money is in
float, rounded to cents at the edges.
"""

from __future__ import annotations

from capitalcom_sim.engine.accounts import AccountState
from capitalcom_sim.engine.instruments import Instrument, InstrumentTable
from capitalcom_sim.engine.prices import PriceEngine
from capitalcom_sim.engine.types import Direction, Position

DAY_MS = 86_400_000


def sign_of(direction: str) -> int:
    """+1 for BUY, -1 for SELL."""
    return 1 if direction == "BUY" else -1


def opposite(direction: str) -> Direction:
    return "SELL" if direction == "BUY" else "BUY"


def sides(mid: int, spread: int) -> tuple[int, int]:
    """(bid, ask) units of a mid under a spread (units: :meth:`PriceEngine.spread_units`)."""
    half = spread // 2
    return mid - half, mid - half + spread


def to_price(inst: Instrument, units: int) -> float:
    return round(units / inst.scale, inst.decimals)


def closing_units(direction: str, mid: int, spread: int) -> int:
    """The side a position of ``direction`` closes at (BUY at the bid, SELL at the ask)."""
    bid, ask = sides(mid, spread)
    return bid if direction == "BUY" else ask


class Money:
    """Money questions answered at the engine's own prices: FX, P&L, margin, leverage.

    Reads the price engine only; holds no state and never changes an account.
    """

    def __init__(self, instruments: InstrumentTable, prices: PriceEngine) -> None:
        self.instruments = instruments
        self.prices = prices

    def mid_now(self, inst: Instrument, now: int) -> int:
        return self.prices.mid_units(inst.epic, now)

    def spread_at(self, inst: Instrument, t_ms: int) -> int:
        """The spread (units) quoted at ``t``: :meth:`PriceEngine.spread_units`."""
        return self.prices.spread_units(inst.epic, t_ms)

    def sides_now(self, inst: Instrument, now: int) -> tuple[int, int]:
        """(bid, ask) units quoted now."""
        return sides(self.mid_now(inst, now), self.spread_at(inst, now))

    def closing_price(self, inst: Instrument, direction: str, now: int) -> float:
        """What a position of ``direction`` closes at now."""
        mid, spread = self.mid_now(inst, now), self.spread_at(inst, now)
        return to_price(inst, closing_units(direction, mid, spread))

    def fx_rate(self, from_ccy: str, to_ccy: str, now: int) -> float:
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
            via_usd = self.fx_rate(from_ccy, "USD", now) * self.fx_rate("USD", to_ccy, now)
            return via_usd
        return 1.0  # unknown currency: treated as equal (documented)

    def _mid_float(self, inst: Instrument, now: int) -> float:
        return self.mid_now(inst, now) / inst.scale

    def upl(self, account: AccountState, position: Position, now: int) -> float:
        """Unrealised P&L of a position in the account's currency (unrounded)."""
        inst = self.instruments.require(position.epic)
        close = self.closing_price(inst, position.direction, now)
        pnl = (close - position.level) * position.size * sign_of(position.direction)
        return pnl * self.fx_rate(inst.currency, account.currency, now)

    def margin(self, account: AccountState, position: Position, now: int) -> float:
        """Margin a position holds, in the account's currency (unrounded)."""
        inst = self.instruments.require(position.epic)
        notional = self.closing_price(inst, position.direction, now) * position.size
        return notional / position.leverage * self.fx_rate(inst.currency, account.currency, now)

    def leverage(self, account: AccountState, inst: Instrument) -> int:
        """Effective leverage: the group's preference, capped by the instrument's margin."""
        chosen = account.preferences.leverages[inst.leverage_group].current
        margin_pct = max(inst.margin_factor, 100.0 / chosen)
        return max(1, round(100.0 / margin_pct))

    def margin_factor(self, account: AccountState, inst: Instrument) -> float:
        """Margin in percent of the notional for this account (``marginFactor`` on the wire)."""
        return round(100.0 / self.leverage(account, inst), 2)

    def available(self, account: AccountState, now: int) -> float:
        """Equity minus the margin in use."""
        upl = sum(self.upl(account, p, now) for p in account.positions.values())
        margin = sum(self.margin(account, p, now) for p in account.positions.values())
        return account.deposit + upl - margin
