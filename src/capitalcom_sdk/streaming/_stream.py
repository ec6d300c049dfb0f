"""``AsyncStream``: quotes and bars of many markets as one async iterator.

The facade of the streaming room. It validates calls, asks the subscription registry
(``_registry``) where each epic goes, has one supervisor (``_supervisor``) per slot keep that
connection up and subscribed, passes bars through the bar sequencer (``_bars``: in order, never
twice, gaps filled after a reconnect) and queues events in the buffer (``_buffer``) for the
consumer. Events reach it through callbacks; none of the parts refers back to it.

Lock-step (a backtest: the client's clock is a frozen :class:`~capitalcom_sdk._clock.
SimulatorClock`): a wait on an empty stream moves the simulator's clock straight to the next
subscribed event (``POST /_sim/clock {"next": true}``); after every move of that clock (the
stream's own or the bot's ``client.sleep``) a barrier pings each connection, and since the
simulator answers a ping after the frames it queued before, every event up to the new time is
in the buffer before the bot reads again. The keep-alive's timers are not run then: the barrier
is the keep-alive, on the simulated clock.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from types import TracebackType
from typing import Self

from capitalcom_sdk import _validation as check
from capitalcom_sdk._clock import Clock, SimulatorClock, WallClock, check_seconds
from capitalcom_sdk._logging import get_logger
from capitalcom_sdk.errors import SESSION_ERROR_CODES, RequestValidationError
from capitalcom_sdk.streaming._bars import BarSequencer
from capitalcom_sdk.streaming._buffer import EventBuffer
from capitalcom_sdk.streaming._connection import Connection, ConnectionLost, SessionLost
from capitalcom_sdk.streaming._events import BAR_TYPES, RESOLUTIONS, Event, OHLCBar, Quote
from capitalcom_sdk.streaming._options import StreamOptions, StreamStats
from capitalcom_sdk.streaming._registry import OhlcKey, Registry, Slot
from capitalcom_sdk.streaming._sources import SessionSource
from capitalcom_sdk.streaming._supervisor import IN_STREAM_TASK, SessionLink, Supervisor
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
        self._sequencer = BarSequencer(
            self._deliver, session, options.backoff_initial, options.backoff_max
        )
        self._supervisors: dict[Slot, Supervisor] = {}
        self._closed = False
        self._failure: BaseException | None = None
        self._quotes = 0
        # The client's clock; a frozen simulator clock puts the stream in lock-step.
        self.clock: Clock = getattr(session, "clock", None) or WallClock()
        self._sim = self.clock if isinstance(self.clock, SimulatorClock) else None
        self._lockstep: bool | None = None  # decided on first use (reads the simulator)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._unhook: Callable[[], None] | None = None
        self._barrier_due = False
        self.barriers = 0  # barriers that pinged at least one connection

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
        """Connections open on the first subscription; on a frozen simulator clock the stream
        follows its moves from now on (lock-step)."""
        await self._in_lockstep()
        return self

    async def close(self) -> None:
        """Close every connection; iteration ends once the buffered events are consumed."""
        if self._closed:
            return
        self._closed = True
        if self._unhook is not None:
            self._unhook()
            self._unhook = None
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
        try:
            event = await self.get()
        except StreamClosedError:
            raise StopAsyncIteration from None
        assert event is not None
        return event

    async def get(self, timeout: float | None = None) -> Event | None:  # noqa: ASYNC109
        """The next event, waiting up to ``timeout`` seconds (None = forever); None on timeout.

        The seconds are the client's clock's: in lock-step (a frozen simulator clock) the wait
        moves that clock to the next subscribed event, at most ``timeout`` simulated seconds
        on, and never waits on the wall clock for it.

        Raises StreamClosedError once closed and drained, or the stream's failure.
        """
        if timeout is not None:
            timeout = check_seconds(timeout, "timeout")
        buffer = self._buffer
        lockstep = await self._in_lockstep()
        clock = self.clock if lockstep else None
        deadline = None
        if timeout is not None:
            deadline = (clock.monotonic() if clock else time.monotonic()) + timeout
        while True:
            if self._barrier_due:
                await self._barrier()
            event = buffer.pop()
            if event is not None:
                return event
            if self._failure is not None:
                raise self._failure
            if self._closed:
                raise StreamClosedError("the stream is closed")
            if clock is not None:
                assert self._sim is not None
                remaining = None if deadline is None else deadline - clock.monotonic()
                if remaining is not None and remaining <= 0:
                    return None
                before = self._sim.now_ms()
                now, due = await self._sim.aadvance_to_next(remaining)
                if due is not None or now != before:
                    continue
                # Nothing subscribed: as live, wait for what another task subscribes.
            self._readable.clear()
            if len(buffer):
                continue
            if clock is not None:
                wait: float | None = 0.5  # then moves the clock again (a subscription may come)
            elif deadline is None:
                await self._readable.wait()
                continue
            else:
                wait = deadline - time.monotonic()
                if wait <= 0:
                    return None
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._readable.wait(), wait)

    # -- lock-step ---------------------------------------------------------------------------------

    async def _in_lockstep(self) -> bool:
        """Whether the stream runs in lock-step (decided once); from then on it follows the
        clock's moves (also when used without ``async with``)."""
        if self._lockstep is None:
            self._loop = asyncio.get_running_loop()
            self._lockstep = self._sim is not None and await self._sim.afrozen()
            if self._lockstep and self._sim is not None and not self._closed:
                self._unhook = self._sim.on_advance(self._on_clock_moved)
        return self._lockstep

    def _on_clock_moved(self, now_ms: int) -> Awaitable[None] | None:
        """The simulator's clock moved: the stream's events up to ``now_ms`` must be in the
        buffer before the bot reads again. On the stream's own loop the barrier is returned for
        the (async) wait to await; from a thread without a loop (the blocking client) it runs
        on the stream's loop while that thread waits; elsewhere the next read runs it."""
        self._barrier_due = True
        if IN_STREAM_TASK.get():  # the stream's own re-login or gap fill: the next read runs it
            return None
        loop = self._loop
        try:
            running: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            return self._barrier()
        if running is None and loop is not None and loop.is_running() and not self._closed:
            future = asyncio.run_coroutine_threadsafe(self._barrier(), loop)
            future.result(self.options.request_timeout + self.options.subscribe_timeout)
        return None

    async def _barrier(self) -> None:
        """Ping every ready connection and wait for the answers: the simulator answers a ping
        after the frames it queued before, so they are all dispatched by then. A connection
        whose tokens are no longer the client's (a re-login) or whose session the simulator
        ended is restarted, and waited for with its gap fill (the bars it missed, over REST)."""
        if not self._barrier_due:
            return
        self._barrier_due = False
        tokens = self._session.source.tokens
        connections: list[Connection] = []
        for supervisor in self._supervisors.values():
            conn = supervisor.conn
            if conn is None or not conn.alive or not supervisor.ready.is_set():
                continue
            if conn.tokens.generation != tokens.generation:
                conn.fail(ConnectionLost("session tokens changed"))
            else:
                connections.append(conn)
        if connections:
            self.barriers += 1
            await asyncio.gather(*(_ping(conn) for conn in connections))
        down = [
            s
            for s in self._supervisors.values()
            if s.running and not (s.ready.is_set() and s.conn is not None and s.conn.alive)
        ]
        if down:
            await self._await_reconnects(down)

    async def _await_reconnects(self, supervisors: list[Supervisor]) -> None:
        deadline = time.monotonic() + self.options.subscribe_timeout  # network: wall clock
        for supervisor in supervisors:
            try:
                await supervisor.wait_ready(deadline, self._check_open)
            except StreamError as exc:
                logger.warning("stream: not reconnected in lock-step: %s", exc)
                continue
            backfill = supervisor.backfill
            if backfill is not None and not backfill.done():
                await asyncio.wait({backfill})

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
        await self._in_lockstep()
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
        await self._in_lockstep()
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
            supervisor.lockstep = bool(self._lockstep)
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


async def _ping(conn: Connection) -> None:
    """One barrier ping (a connection that ends meanwhile reconnects on its own)."""
    try:
        reply = await conn.request("ping", None)
    except ConnectionLost:
        return
    if not reply.ok and reply.error_code in SESSION_ERROR_CODES:
        conn.fail(SessionLost(reply.error_code or "session"))
