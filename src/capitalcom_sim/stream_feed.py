"""What the simulator's ``/connect`` sockets are fed: quotes on the engine's tick grid and bars
as they close, to whoever subscribed them, as JSON frames.

:class:`Feed` keeps the subscription index (which connections want which quotes and bars) and
emits everything due up to a given simulated time through an ``enqueue`` callback; the hub
(``streaming.py``) owns the sockets, the protocol and when to tick. The bar grid is the engine's
(``engine/pricetree``: ``DURATION_MS``, ``align``; weeks start Monday 00:00 UTC).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from capitalcom_sim.engine.pricetree import DURATION_MS, align
from capitalcom_sim.engine.types import Bar

if TYPE_CHECKING:
    from capitalcom_sim.engine.prices import PriceEngine

BAR_TYPES = ("classic", "heikin-ashi")
MAX_CATCHUP_TICKS = 600
"""After a clock jump, quotes are replayed for at most this many grid points per epic."""
MAX_CATCHUP_BARS = 200
"""After a jump of a running clock, at most this many closed bars per subscription are sent.
On a frozen clock (a backtest in lock-step) there is no cap: every bar that closed is sent."""
HEIKIN_ASHI_LOOKBACK = 20

C = TypeVar("C", bound=Hashable)  # a subscriber (the hub's connection)
K = TypeVar("K", bound=Hashable)
OhlcKey = tuple[str, str, str]  # (epic, resolution, bar type)
Sides = dict[str, tuple[float, ...]]  # {"bid": (o, h, l, c), "ask": (o, h, l, c)}


def dumps(payload: dict[str, Any]) -> str:
    return json.dumps(payload, separators=(",", ":"))


def error_frame(destination: str | None, correlation_id: str | None, error_code: str) -> str:
    # Both layouts reported for the real servers at once: payload.errorCode and top-level errorCode.
    frame: dict[str, Any] = {"status": "ERROR", "destination": destination}
    if correlation_id is not None:
        frame["correlationId"] = correlation_id
    frame["errorCode"] = error_code
    frame["payload"] = {"errorCode": error_code}
    return dumps(frame)


def ok_frame(destination: str, correlation_id: str | None, payload: dict[str, Any]) -> str:
    frame: dict[str, Any] = {"status": "OK", "destination": destination}
    if correlation_id is not None:
        frame["correlationId"] = correlation_id
    frame["payload"] = payload
    return dumps(frame)


def quote_frame(epic: str, bid: float, offer: float, t_ms: int, tick_ms: int) -> str:
    step = t_ms // tick_ms
    bid_qty = float(1000 + (step * 7919 + len(epic) * 104729) % 9000)
    offer_qty = bid_qty  # equal on both sides, as on every recorded real quote (sim-wire)
    payload = {
        "epic": epic,
        "product": "CFD",
        "bid": bid,
        "bidQty": bid_qty,
        "ofr": offer,
        "ofrQty": offer_qty,
        "timestamp": t_ms,
    }
    return dumps({"status": "OK", "destination": "quote", "payload": payload})


def bar_frame(key: OhlcKey, price_type: str, start: int, ohlc: tuple[float, ...]) -> str:
    epic, resolution, bar_type = key
    o, h, low, c = ohlc
    payload = {
        "resolution": resolution,
        "epic": epic,
        "type": bar_type,
        "priceType": price_type,
        "t": start,
        "h": h,
        "l": low,
        "o": o,
        "c": c,
    }
    return ok_frame("ohlc.event", None, payload)


def heikin_ashi(bars: list[tuple[float, ...]]) -> list[tuple[float, ...]]:
    """Heikin-ashi (open, high, low, close) of classic (open, high, low, close) bars.

    The first bar is seeded with open = (open + close) / 2 of the classic bar.
    """
    result: list[tuple[float, ...]] = []
    prev_open = prev_close = 0.0
    for i, (o, h, low, c) in enumerate(bars):
        ha_close = (o + h + low + c) / 4.0
        ha_open = (o + c) / 2.0 if i == 0 else (prev_open + prev_close) / 2.0
        result.append((ha_open, max(h, ha_open, ha_close), min(low, ha_open, ha_close), ha_close))
        prev_open, prev_close = ha_open, ha_close
    return result


def _sides(bar: Bar) -> tuple[int, Sides]:
    """A bar of ``engine.prices.bars`` as (start ms, {"bid": (o, h, l, c), "ask": (...)})."""
    sides: Sides = {
        side: (float(ohlc.open), float(ohlc.high), float(ohlc.low), float(ohlc.close))
        for side, ohlc in (("bid", bar.bid), ("ask", bar.ask))
    }
    return bar.start_ms, sides


def _leave(index: dict[K, set[C]], key: K, conn: C) -> bool:
    """Take ``conn`` off ``index[key]``; True when that left nobody (the entry is gone)."""
    subscribers = index.get(key)
    if subscribers is None:
        return False
    subscribers.discard(conn)
    if subscribers:
        return False
    del index[key]
    return True


@dataclass
class _EpicTicks:
    last_grid_ms: int
    last_prices: tuple[float, float] | None = None


class Feed(Generic[C]):
    """The subscription index and the emission of quotes and bars.

    Args:
        prices: the engine's prices, read on every use (tests and resets may replace the
            engine).
        enqueue: hands one frame to one subscriber.
    """

    def __init__(self, prices: Callable[[], PriceEngine], enqueue: Callable[[C, str], None]):
        self._prices = prices
        self._enqueue = enqueue
        self.paused: set[str] = set()  # epics whose quotes and bars are not sent
        self._quote_subs: dict[str, set[C]] = {}
        self._ohlc_subs: dict[OhlcKey, set[C]] = {}
        self._ticks: dict[str, _EpicTicks] = {}
        self._bars_seen: dict[tuple[str, str], int] = {}  # (epic, resolution) -> current bar

    # -- subscriptions ----------------------------------------------------------------------------

    def add_quote(self, conn: C, epic: str, now: int, *, new: bool) -> str | None:
        """``conn`` wants the quotes of ``epic``; for a ``new`` subscription the current quote
        (a snapshot to send right after the acknowledgement), if there is one to send."""
        tick = self._prices().tick_ms
        ticks = self._ticks.get(epic)
        if ticks is None:
            grid = now - now % tick
            bid, offer = self._prices().quote(epic, grid)
            ticks = self._ticks[epic] = _EpicTicks(grid, (float(bid), float(offer)))
        self._quote_subs.setdefault(epic, set()).add(conn)
        if not new or ticks.last_prices is None or epic in self.paused:
            return None
        bid, offer = ticks.last_prices
        return quote_frame(epic, bid, offer, ticks.last_grid_ms, tick)

    def drop_quote(self, conn: C, epic: str) -> None:
        if _leave(self._quote_subs, epic, conn):
            self._ticks.pop(epic, None)

    def add_ohlc(self, conn: C, key: OhlcKey, now: int) -> None:
        """``conn`` wants the bars of ``key`` that close from now on."""
        epic, resolution, _ = key
        self._ohlc_subs.setdefault(key, set()).add(conn)
        self._bars_seen.setdefault((epic, resolution), align(resolution, now))

    def drop_ohlc(self, conn: C, key: OhlcKey) -> None:
        if _leave(self._ohlc_subs, key, conn):
            epic, resolution, _ = key
            if not any(k[0] == epic and k[1] == resolution for k in self._ohlc_subs):
                self._bars_seen.pop((epic, resolution), None)

    # -- emission ---------------------------------------------------------------------------------

    def emit(self, now: int, *, every_bar: bool = False) -> int | None:
        """Send everything due up to ``now``; the next quote grid point (None: no quotes).

        ``every_bar``: send every bar that closed since the last emission, however many (a
        frozen clock: a backtest must never lose a bar), instead of the last MAX_CATCHUP_BARS.
        """
        next_due = self._emit_quotes(now)
        self._emit_bars(now, every_bar)
        return next_due

    def next_due(self, now: int) -> int | None:
        """When the next subscribed event is due (ms): the next quote grid point of a subscribed
        epic or the next close of a subscribed bar, whichever comes first; None when nothing is
        subscribed (paused epics do not count). A time <= ``now`` means something is due now."""
        due: list[int] = []
        if self._quote_subs:
            tick = self._prices().tick_ms
            due.extend(
                max(ticks.last_grid_ms + tick, now - now % tick)
                for epic, ticks in self._ticks.items()
                if epic not in self.paused
            )
        due.extend(
            seen + DURATION_MS[resolution]
            for (epic, resolution), seen in self._bars_seen.items()
            if epic not in self.paused
        )
        return min(due) if due else None

    def _emit_quotes(self, now: int) -> int | None:
        if not self._quote_subs:
            return None
        prices = self._prices()
        tick = prices.tick_ms
        grid_now = now - now % tick
        quote = prices.quote
        due: list[tuple[int, str]] = []
        for epic, ticks in self._ticks.items():
            if epic in self.paused:
                ticks.last_grid_ms = grid_now
                continue
            first = max(ticks.last_grid_ms + tick, grid_now - (MAX_CATCHUP_TICKS - 1) * tick)
            due.extend((g, epic) for g in range(first, grid_now + 1, tick))
            ticks.last_grid_ms = max(ticks.last_grid_ms, grid_now)
        due.sort()
        for grid_ms, epic in due:
            ticks = self._ticks[epic]
            bid, offer = quote(epic, grid_ms)
            last = (float(bid), float(offer))
            if last == ticks.last_prices:
                continue
            ticks.last_prices = last
            frame = quote_frame(epic, last[0], last[1], grid_ms, tick)
            for conn in self._quote_subs.get(epic, ()):
                self._enqueue(conn, frame)
        return grid_now + tick

    def _emit_bars(self, now: int, every_bar: bool) -> None:
        for (epic, resolution), seen in list(self._bars_seen.items()):
            current = align(resolution, now)
            if current <= seen:
                continue
            self._bars_seen[(epic, resolution)] = current
            if epic in self.paused:
                continue
            size = DURATION_MS[resolution]
            first = seen if every_bar else max(seen, current - MAX_CATCHUP_BARS * size)
            for start in range(first, current, size):
                self._emit_bar(epic, resolution, start)

    def _emit_bar(self, epic: str, resolution: str, start: int) -> None:
        for bar_type in BAR_TYPES:
            key = (epic, resolution, bar_type)
            subs = self._ohlc_subs.get(key)
            if not subs:
                continue
            if bar_type == "classic":
                bar = self._classic(epic, resolution, start)
            else:
                bar = self._heikin_ashi(epic, resolution, start)
            if bar is None:
                continue
            for price_type in ("bid", "ask"):
                frame = bar_frame(key, price_type, start, bar[price_type])
                for conn in list(subs):
                    self._enqueue(conn, frame)

    def _bars(
        self, epic: str, resolution: str, start_ms: int, end_ms: int
    ) -> list[tuple[int, Sides]]:
        return [_sides(bar) for bar in self._prices().bars(epic, resolution, start_ms, end_ms)]

    def _classic(self, epic: str, resolution: str, start: int) -> Sides | None:
        """The closed bar starting at ``start``."""
        bars = self._bars(epic, resolution, start, start)
        return bars[-1][1] if bars and bars[-1][0] == start else None

    def _heikin_ashi(self, epic: str, resolution: str, start: int) -> Sides | None:
        size = DURATION_MS[resolution]
        bars = self._bars(epic, resolution, start - HEIKIN_ASHI_LOOKBACK * size, start)
        if not bars or bars[-1][0] != start:
            return None
        return {side: heikin_ashi([b[side] for _, b in bars])[-1] for side in ("bid", "ask")}
