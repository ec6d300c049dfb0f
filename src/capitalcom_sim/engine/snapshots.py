"""Market snapshots: bid/offer, day high/low/change and status at one instant, cached per tick."""

from __future__ import annotations

from capitalcom_sim.engine.instruments import Instrument, InstrumentTable
from capitalcom_sim.engine.prices import PriceEngine, align
from capitalcom_sim.engine.types import MarketSnapshot

SNAPSHOT_CACHE_MAX = 4096


class Snapshots:
    """What market summaries and details show, computed from the price engine (bounded cache).

    The cache must be cleared when prices are overridden (the engine does it).
    """

    def __init__(self, instruments: InstrumentTable, prices: PriceEngine) -> None:
        self.instruments = instruments
        self.prices = prices
        self._cache: dict[tuple[str, int], MarketSnapshot] = {}

    def clear(self) -> None:
        self._cache.clear()

    def cached(self, epic: str, now: int) -> MarketSnapshot | None:
        """The cached snapshot of the tick containing ``now``, if computed already."""
        return self._cache.get((epic, now - now % self.prices.tick_ms))

    def get(self, epic: str, now: int) -> MarketSnapshot:
        """The snapshot of ``epic`` at ``now`` (404 ``error.not-found.epic`` when unknown)."""
        tick = now - now % self.prices.tick_ms
        key = (epic, tick)
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        inst = self.instruments.require(epic)
        snap = self._compute(inst, now, tick)
        if len(self._cache) >= SNAPSHOT_CACHE_MAX:
            self._cache.clear()
        self._cache[key] = snap
        return snap

    def _compute(self, inst: Instrument, now: int, tick: int) -> MarketSnapshot:
        prices = self.prices
        bid, offer = prices.quote(inst.epic, now)
        hours = inst.opening_hours
        is_open = hours.is_open(now)
        last_open = hours.last_open_before(now)
        update_ms = tick
        if not is_open and last_open is not None:  # the last tick before the close
            update_ms = (last_open - 1) - (last_open - 1) % prices.tick_ms
        day = prices.aggregate(inst.epic, align("DAY", now), tick + prices.tick_ms)
        high = low = change = pct = None
        if day is not None:
            high, low = day.bid.high, day.bid.low
            change = round(bid - day.bid.open, inst.decimals)
            pct = round(change / day.bid.open * 100, 4) if day.bid.open else 0.0
        return MarketSnapshot(
            epic=inst.epic,
            bid=bid,
            offer=offer,
            high=high,
            low=low,
            net_change=change,
            percentage_change=pct,
            update_ms=update_ms,
            market_status="TRADEABLE" if is_open else "CLOSED",
            market_modes=("REGULAR",) if is_open else ("VIEW_ONLY",),
        )
