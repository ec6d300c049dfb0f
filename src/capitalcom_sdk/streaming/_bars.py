"""Bars in order and never twice, and the bars that closed while a connection was down.

The server pushes a bar (one per price side) only when it closes while the connection is up.
After a reconnect the :class:`BarSequencer` fetches the missing classic bars over REST and
delivers them oldest first, marked ``replayed``; pushed bars of a key being filled are held back
meanwhile and released after the filled ones. Per (epic, resolution, type, side) a bar is
delivered only if it starts after the newest one delivered, so a bar both fetched and pushed
comes once. No sockets here: the sequencer gets bars and hands them on through a callback.

Nothing is skipped: the hold starts before the new connection re-subscribes (a bar pushed
before the fill began would otherwise move the gap's start past the missing bars), a fetch that
fails for a reason that can pass (5xx, network, rate limit) is tried again, and a fill cut short
by the next disconnect keeps its held bars for the next fill, which starts where delivery
stopped.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Coroutine, Iterable, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from capitalcom_sdk._logging import get_logger
from capitalcom_sdk.errors import (
    CapitalError,
    InvalidRequestError,
    NotFoundError,
    RequestValidationError,
)
from capitalcom_sdk.models.enums import Resolution
from capitalcom_sdk.streaming._events import OHLCBar
from capitalcom_sdk.streaming._registry import OhlcKey

if TYPE_CHECKING:
    from capitalcom_sdk.models.prices import PriceBar

logger = get_logger("capitalcom_sdk.streaming")

SIDES = ("bid", "ask")  # an OHLC subscription gets a bar per price side
_SideKey = tuple[str, str, str, str]  # (epic, resolution, bar type, price side)


class BarSource(Protocol):
    """Where missed bars and the server's clock come from (the client's REST side)."""

    async def closed_bars(self, epic: str, resolution: str, after_ms: int) -> list[PriceBar]: ...

    async def server_time_ms(self) -> int: ...


class BarSequencer:
    """Delivers each bar once, in start order per side; fills gaps after reconnects.

    Args:
        deliver: called with every bar to hand to the consumer.
        source: REST bars and server time for :meth:`fill_gap` and :meth:`subscribed`.
        retry_initial, retry_max: wall-clock delay before the first new try of a failed
            fetch, doubling up to ``retry_max`` (the stream's reconnect backoff).
    """

    def __init__(
        self,
        deliver: Callable[[OHLCBar], None],
        source: BarSource,
        retry_initial: float = 0.1,
        retry_max: float = 30.0,
    ) -> None:
        self._deliver = deliver
        self._source = source
        self._retry = (retry_initial, retry_max)
        self._last: dict[_SideKey, int] = {}  # newest bar start delivered
        self._held: dict[OhlcKey, list[OHLCBar]] = {}  # pushed bars waiting for a fill
        self._since: dict[OhlcKey, int] = {}  # server time of the subscription (ms)
        self.bars = 0
        self.replayed = 0

    def accept(self, bar: OHLCBar) -> None:
        """A bar from the socket or the fill: held, dropped as already delivered, or delivered."""
        held = self._held.get(OhlcKey(bar.epic, bar.resolution, bar.bar_type))
        if held is not None and not bar.replayed:
            held.append(bar)  # after the gap's older bars
            return
        side = (bar.epic, bar.resolution, bar.bar_type, bar.price_type)
        if bar.start_ms <= self._last.get(side, -1):
            return  # delivered already (a replayed bar the server also pushed)
        self._last[side] = bar.start_ms
        self.bars += 1
        self.replayed += bar.replayed
        self._deliver(bar)

    async def subscribed(self, keys: Iterable[OhlcKey]) -> None:
        """Note when ``keys`` were subscribed (a gap before their first bar starts there)."""
        new = [key for key in keys if key not in self._since]
        if new:
            now_ms = await self._server_now_ms()
            for key in new:
                self._since[key] = now_ms

    def forget(self, keys: Iterable[OhlcKey]) -> None:
        """Unsubscribed: a later subscription of the same keys starts afresh."""
        for key in keys:
            self._since.pop(key, None)
            self._held.pop(key, None)
            for side in SIDES:
                self._last.pop((*key, side), None)

    def gap_start(self, key: OhlcKey) -> int | None:
        """Bars starting after this are missing: the newest delivered one (the older side's),
        or, before any, the last bar that closed before the subscription."""
        seen = [self._last[(*key, s)] for s in SIDES if (*key, s) in self._last]
        if seen:
            return min(seen)
        since = self._since.get(key)
        return None if since is None else since - Resolution(key.resolution).seconds * 1000

    def fill_gap(self, keys: Sequence[OhlcKey]) -> Coroutine[Any, Any, None]:
        """Hold the pushed bars of ``keys`` now; the returned coroutine delivers the bars that
        closed while the connection was down (REST), then the held ones.

        Call it before the new connection re-subscribes, and run the coroutine once it has.
        Cancelled (the connection lost again), it keeps what it held for the next fill.
        """
        starts = {
            key: start
            for key in keys
            # heikin-ashi bars are the server's own computation: classic ones only
            if key.bar_type == "classic" and (start := self.gap_start(key)) is not None
        }
        for key in starts:
            self._held.setdefault(key, [])
        return self._fill(starts)

    async def _fill(self, starts: dict[OhlcKey, int]) -> None:
        for key, after in starts.items():
            bars = await self._fetch(key, after)
            for bar in bars:
                for event in _events_of(key, bar):
                    self.accept(event)
            self._release_held(key)  # its pushed bars flow again, after the filled ones

    async def _fetch(self, key: OhlcKey, after: int) -> list[PriceBar]:
        delay, ceiling = self._retry
        while True:
            try:
                return await self._source.closed_bars(key.epic, key.resolution, after)
            except (InvalidRequestError, NotFoundError, RequestValidationError) as exc:
                # Asking again cannot help: the gap stays (said so), pushed bars flow again.
                logger.warning("stream: bars of %s %s missed while down: %s", *key[:2], exc)
                return []
            except CapitalError as exc:
                logger.info(
                    "stream: fetching the bars of %s %s missed while down failed (%s); "
                    "trying again in %.1f s",
                    *key[:2],
                    exc,
                    delay,
                )
            # Wall clock: a network retry, whatever the client's clock.
            await asyncio.sleep(delay)
            delay = min(ceiling, delay * 2)

    def _release_held(self, key: OhlcKey) -> None:
        for held in self._held.pop(key, []):
            self.accept(held)

    async def _server_now_ms(self) -> int:
        """The server's clock, or this machine's when that fails."""
        try:
            return int(await self._source.server_time_ms())
        except CapitalError as exc:
            logger.debug("stream: server time unavailable (%s), using the local clock", exc)
        clock = getattr(self._source, "clock", None)  # the client's (simulated in a backtest)
        return int((clock.time() if clock is not None else time.time()) * 1000)


def _events_of(key: OhlcKey, bar: PriceBar) -> list[OHLCBar]:
    """A REST bar as the stream's two replayed events (bid, then ask)."""
    start_ms = int(bar.snapshot_time_utc.timestamp() * 1000)
    events = []
    for side in SIDES:
        o, h, low, c = (
            getattr(getattr(bar, f"{name}_price"), side)
            for name in ("open", "high", "low", "close")
        )
        events.append(
            OHLCBar(
                key.epic, key.resolution, key.bar_type, side, start_ms, o, h, low, c,
                bar.snapshot_time_utc, replayed=True,
            )
        )  # fmt: skip
    return events
