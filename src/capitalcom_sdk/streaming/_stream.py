"""``AsyncStream``: quotes and bars of many markets as one async iterator.

The facade of the streaming room. It validates calls, asks the subscription registry
(``_registry``) where each epic goes, has one supervisor (``_supervisor``) per slot keep that
connection up and subscribed, passes bars through the bar sequencer (``_bars``: in order, never
twice, gaps filled after a reconnect) and queues events in the buffer (``_buffer``) for the
consumer. Events reach it through callbacks; none of the parts refers back to it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Iterable, Sequence
from types import TracebackType
from typing import Self

from capitalcom_sdk import _validation as check
from capitalcom_sdk._logging import get_logger
from capitalcom_sdk.errors import RequestValidationError
from capitalcom_sdk.streaming._bars import BarSequencer
from capitalcom_sdk.streaming._buffer import EventBuffer
from capitalcom_sdk.streaming._events import BAR_TYPES, RESOLUTIONS, Event, OHLCBar, Quote
from capitalcom_sdk.streaming._options import StreamOptions, StreamStats
from capitalcom_sdk.streaming._registry import OhlcKey, Registry, Slot
from capitalcom_sdk.streaming._sources import SessionSource
from capitalcom_sdk.streaming._supervisor import SessionLink, Supervisor
from capitalcom_sdk.streaming.errors import StreamClosedError, StreamError, SubscriptionError

logger = get_logger("capitalcom_sdk.streaming")

__all__ = ["AsyncStream", "SessionSource", "StreamOptions", "StreamStats"]


def _epic_list(epics: str | Iterable[str]) -> list[str]:
    # The same rules as the REST calls (non-empty, no commas, no control characters, bounded).
    return list(dict.fromkeys(check.epic_list(epics, "epics")))


def _choices(
    value: str | Iterable[str] | None, allowed: Sequence[str], name: str
) -> list[str] | None:
    if value is None:
        return None
    items = [value] if isinstance(value, str) else list(value)
    if not items:
        raise RequestValidationError(name, "must not be empty")
    bad = [v for v in items if v not in allowed]
    if bad:
        raise RequestValidationError(name, f"{bad[0]!r} is not one of {', '.join(allowed)}")
    return list(dict.fromkeys(items))


class AsyncStream:
    """Quotes and OHLC bars of many markets as one async iterator.

    Use as ``async with client.stream() as stream:``; subscribe, then ``async for event in
    stream``. Events are :class:`Quote` and :class:`OHLCBar` in arrival order (per epic, the
    server's order).
    """

    def __init__(self, session: SessionSource, options: StreamOptions | None = None) -> None:
        self.options = options = options or StreamOptions()
        self._buffer = EventBuffer(options.max_queue, options.max_bars)
        self._readable = asyncio.Event()
        self._buffer.set_on_ready(self._readable.set)
        self._registry = Registry(options.max_instruments)
        self._session = SessionLink(session, options.url)
        self._sequencer = BarSequencer(self._deliver, session)
        self._supervisors: dict[Slot, Supervisor] = {}
        self._closed = False
        self._failure: BaseException | None = None
        self._quotes = 0

    def __repr__(self) -> str:
        return (
            f"AsyncStream(connections={len(self._registry.slots)}, "
            f"quotes={len(self._registry.quotes())}, closed={self._closed})"
        )

    # -- lifecycle --------------------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        return await self.open()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def open(self) -> Self:
        """Nothing to start: connections open on the first subscription."""
        return self

    async def close(self) -> None:
        """Close every connection; iteration ends once the buffered events are consumed."""
        if self._closed:
            return
        self._closed = True
        await asyncio.gather(*(s.close() for s in self._supervisors.values()))
        self._readable.set()
        self._buffer.wake()

    @property
    def closed(self) -> bool:
        return self._closed

    # -- consuming --------------------------------------------------------------------------------

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> Event:
        buffer = self._buffer
        while True:
            event = buffer.pop()
            if event is not None:
                return event
            if self._failure is not None:
                raise self._failure
            if self._closed:
                raise StopAsyncIteration
            self._readable.clear()
            if len(buffer):
                continue
            await self._readable.wait()

    def get_nowait(self) -> Event | None:
        """The next waiting event, or None."""
        return self._buffer.pop()

    def drain(self, limit: int = 1_000) -> list[Event]:
        """Up to ``limit`` waiting events at once (never waits)."""
        return self._buffer.pop_many(limit)

    @property
    def stats(self) -> StreamStats:
        """Counters: received, dropped (overflow policy), queued, connections, reconnects."""
        buffer = self._buffer
        supervisors = self._supervisors.values()
        return StreamStats(
            quotes=self._quotes,
            bars=self._sequencer.bars,
            dropped_quotes=buffer.dropped_quotes,
            dropped_by_epic=dict(buffer.dropped_by_epic),
            queued=len(buffer),
            queue_high_water=buffer.high_water,
            connections=sum(1 for s in supervisors if s.running),
            connected=sum(1 for s in supervisors if s.ready.is_set()),
            connects=sum(s.connects for s in supervisors),
            reconnects=sum(s.reconnects for s in supervisors),
            logins=self._session.logins,
            subscribed_quotes=len(self._registry.quotes()),
            subscribed_ohlc=len(self._registry.ohlc()),
            replayed_bars=self._sequencer.replayed,
        )

    def _dispatch(self, event: Event) -> None:
        """Every event a connection reads: quotes to the buffer, bars through the sequencer."""
        if type(event) is Quote:  # the hot path: no further call
            self._quotes += 1
            try:
                self._buffer.put(event)
            except StreamError as exc:
                self._fail(exc)
        else:
            assert isinstance(event, OHLCBar)
            self._sequencer.accept(event)

    def _deliver(self, event: Event) -> None:
        """A bar the sequencer lets through."""
        try:
            self._buffer.put(event)
        except StreamError as exc:
            self._fail(exc)

    def _fail(self, exc: StreamError) -> None:
        if self._failure is None:
            self._failure = exc
            logger.error("stream failed: %s", exc)
        self._readable.set()
        self._buffer.wake()

    # -- subscriptions ----------------------------------------------------------------------------

    @property
    def subscriptions(self) -> dict[str, list[str]]:
        """What the stream carries: ``{"quotes": [...], "ohlc": ["EPIC:RES:TYPE", ...]}``."""
        return {
            "quotes": sorted(self._registry.quotes()),
            "ohlc": sorted(":".join(key) for key in self._registry.ohlc()),
        }

    async def subscribe_quotes(self, epics: str | Iterable[str]) -> None:
        """Receive quotes of ``epics``; returns once the server acknowledged them all.

        Raises:
            SubscriptionError: the server refused some epics (e.g. ``error.invalid.epic``); the
                others stay subscribed. ``.epics`` names the refused ones.
            StreamError: no acknowledgement within ``subscribe_timeout``.
        """
        wanted = _epic_list(epics)
        self._check_open()
        groups = self._registry.assign(wanted)
        await self._apply(
            "marketData.subscribe",
            [self._add(slot, quotes=items) for slot, items in groups.items()],
        )

    async def subscribe_ohlc(
        self,
        epics: str | Iterable[str],
        resolution: str | Iterable[str] = "MINUTE",
        bar_type: str = "classic",
    ) -> None:
        """Receive completed OHLC bars (one per price side) of ``epics`` at ``resolution``(s).

        Args:
            epics: the markets.
            resolution: one or several of MINUTE, MINUTE_5, ..., WEEK.
            bar_type: ``"classic"`` or ``"heikin-ashi"``.
        """
        wanted = _epic_list(epics)
        resolutions = _choices(resolution, RESOLUTIONS, "resolution") or ["MINUTE"]
        if bar_type not in BAR_TYPES:
            raise RequestValidationError("bar_type", f"must be one of {', '.join(BAR_TYPES)}")
        self._check_open()
        groups = self._registry.assign(wanted)
        await self._apply(
            "OHLCMarketData.subscribe",
            [
                self._add(slot, ohlc=[OhlcKey(e, r, bar_type) for e in items for r in resolutions])
                for slot, items in groups.items()
            ],
        )
        if self.options.backfill_bars:
            await self._sequencer.subscribed(
                OhlcKey(e, r, bar_type) for e in wanted for r in resolutions
            )

    async def unsubscribe_quotes(self, epics: str | Iterable[str]) -> None:
        """Stop the quotes of ``epics`` (unknown ones are ignored)."""
        by_slot = self._registry.quotes_by_slot(_epic_list(epics))
        await asyncio.gather(*(self._remove(s, quotes=items) for s, items in by_slot.items()))

    async def unsubscribe_ohlc(
        self,
        epics: str | Iterable[str],
        resolutions: str | Iterable[str] | None = None,
        bar_types: str | Iterable[str] | None = None,
    ) -> None:
        """Stop OHLC bars of ``epics``; only the named resolutions / bar types when given."""
        wanted = _epic_list(epics)
        res = _choices(resolutions, RESOLUTIONS, "resolutions")
        types = _choices(bar_types, BAR_TYPES, "bar_types")
        by_slot = self._registry.ohlc_by_slot(wanted, res, types)
        await asyncio.gather(*(self._remove(s, ohlc=keys) for s, keys in by_slot.items()))
        for keys in by_slot.values():
            self._sequencer.forget(keys)  # a later subscription starts afresh

    def _check_open(self) -> None:
        if self._closed:
            raise StreamClosedError("the stream is closed")
        if self._failure is not None:
            raise self._failure

    def _supervisor(self, slot: Slot) -> Supervisor:
        supervisor = self._supervisors.get(slot)
        if supervisor is None:
            fill = self._sequencer.fill_gap if self.options.backfill_bars else None
            supervisor = Supervisor(slot, self.options, self._session, self._dispatch, fill)
            self._supervisors[slot] = supervisor
        return supervisor

    async def _apply(self, destination: str, calls: list[Awaitable[None]]) -> None:
        results = await asyncio.gather(*calls, return_exceptions=True)
        refused: list[str] = []
        codes: list[str | None] = []
        for result in results:
            if isinstance(result, SubscriptionError):
                refused.extend(result.epics)
                codes.append(result.error_code)
            elif isinstance(result, BaseException):
                raise result
        if refused:
            raise SubscriptionError(codes[0], refused, destination)

    async def _add(
        self, slot: Slot, quotes: Sequence[str] = (), ohlc: Sequence[OhlcKey] = ()
    ) -> None:
        supervisor = self._supervisor(slot)
        async with supervisor.lock:
            slot.want(quotes, ohlc)
            try:
                await supervisor.subscribe(quotes, ohlc, self._check_open)
            except (StreamError, asyncio.CancelledError):
                # Not subscribed: forget it (a later reconnect must not subscribe it behind
                # the caller's back).
                slot.drop(quotes, ohlc)
                self._registry.release(slot, {*quotes, *(k.epic for k in ohlc)})
                if slot.empty and not self._closed:
                    await supervisor.retire()
                raise
            failed = slot.take_refused(quotes, ohlc)
            if failed:
                epics = sorted({key.epic for key in failed})
                self._registry.release(slot, epics)
                raise SubscriptionError(next(iter(failed.values())), epics, "subscribe")

    async def _remove(
        self, slot: Slot, quotes: Sequence[str] = (), ohlc: Sequence[OhlcKey] = ()
    ) -> None:
        supervisor = self._supervisor(slot)
        async with supervisor.lock:
            slot.drop(quotes, ohlc)
            await supervisor.unsubscribe(quotes, ohlc)
            self._registry.release(slot, {*quotes, *(k.epic for k in ohlc)})
            if slot.empty:
                await supervisor.retire()
