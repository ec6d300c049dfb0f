"""Prices and money of the engine: bid/ask from mid units, FX conversion, P&L, margin.

Prices here are integer mid units of the instrument (see prices.py); bid = mid - half,
ask = mid + (spread - half). Money is in float, rounded to cents at the edges.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from capitalcom_sim.engine.accounts import AccountState
from capitalcom_sim.engine.instruments import Instrument, InstrumentTable
from capitalcom_sim.engine.prices import PriceEngine
from capitalcom_sim.engine.types import (
    Direction,
    Position,
)

if TYPE_CHECKING:
    import threading

    from capitalcom_sim.config import SimConfig
    from capitalcom_sim.engine.clock import Clock


DAY_MS = 86_400_000
SWAP_HOUR_UTC = 22  # overnight fees are charged daily at 22:00 UTC


def next_swap_after(t_ms: int) -> int:
    """The first daily charge instant strictly after ``t``."""
    charge = t_ms - t_ms % DAY_MS + SWAP_HOUR_UTC * 3_600_000
    return charge if charge > t_ms else charge + DAY_MS


def sign_of(direction: str) -> int:
    """+1 for BUY, -1 for SELL."""
    return 1 if direction == "BUY" else -1


def opposite(direction: str) -> Direction:
    return "SELL" if direction == "BUY" else "BUY"


class MoneyMixin:
    """State the engine holds, and the price/money helpers every trading rule uses."""

    config: SimConfig
    clock: Clock
    lock: threading.RLock
    instruments: InstrumentTable
    prices: PriceEngine
    accounts: dict[str, AccountState]
    _recent: dict[str, list[str]]
    _processed_ms: int
    overnight_fees: bool
    stop_out_level: float | None

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
        pnl = (close - position.level) * position.size * sign_of(position.direction)
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
