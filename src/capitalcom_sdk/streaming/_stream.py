"""``AsyncStream``: one subscription registry over as many connections as the 40-epic limit needs.

Each connection is a *slot* with the subscriptions it should carry. A slot's task connects,
resubscribes everything it carries, then keeps the connection alive; when the connection ends it
reconnects after a jittered exponential backoff (no lifetime cap), logging in again through the
client's transport when the server refused the tokens. A monitor restarts every connection when
the client's token generation changes (re-login, account switch), so the stream follows the
client's session.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Awaitable, Iterable, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Protocol, Self

import websockets
from websockets.exceptions import InvalidHandshake, InvalidURI

from capitalcom_sdk import _validation as check
from capitalcom_sdk._logging import get_logger
from capitalcom_sdk.errors import SESSION_ERROR_CODES, CapitalError, RequestValidationError
from capitalcom_sdk.models.enums import Resolution
from capitalcom_sdk.streaming._buffer import EventBuffer
from capitalcom_sdk.streaming._connection import (
    Connection,
    ConnectionLost,
    SessionLost,
    Tokens,
)
from capitalcom_sdk.streaming._events import BAR_TYPES, RESOLUTIONS, Event, OHLCBar, Quote, Reply
from capitalcom_sdk.streaming.errors import StreamClosedError, StreamError, SubscriptionError

logger = get_logger("capitalcom_sdk.streaming")
# The websockets library logs every frame at DEBUG, tokens included: it gets its own logger with
# the SDK's redacting filter, at INFO so that turning the SDK's DEBUG logging on does not log
# (and redact) thousands of frames per second; set this logger to DEBUG to see frames.
wire_logger = get_logger("capitalcom_sdk.streaming.wire")
wire_logger.setLevel(logging.INFO)

OhlcKey = tuple[str, str, str]  # (epic, resolution, bar type)
_SIDES = ("bid", "ask")  # an OHLC subscription gets a bar per price side
INVALID_EPIC = "error.invalid.epic"


class TokenSource(Protocol):
    """What the stream needs from the client's token store."""

    cst: str | None
    security_token: str | None
    generation: int

    @property
    def present(self) -> bool: ...


class SessionSource(Protocol):
    """The client's session as the stream sees it (adapters in ``_client.py`` style)."""

    @property
    def tokens(self) -> TokenSource: ...

    def streaming_host(self) -> str | None: ...

    async def relogin(self, generation: int) -> None:
        """Log in again unless the tokens changed since ``generation`` (single flight shared
        with the client's requests)."""


@dataclass(frozen=True)
class StreamOptions:
    """Tuning of a stream. Times are wall-clock seconds.

    Attributes:
        url: the WebSocket URL; default ``<streamingHost>connect`` from the login response.
        ping_interval: keep-alive ping period. The server drops a connection after 10 minutes
            without a ping on *its* clock: against a simulator running ``speed`` times faster,
            keep ``ping_interval`` well under ``600 / speed``.
        stale_after: with no frame at all for this long, probe with a ping.
        probe_timeout: the probe (and keep-alive) ping must be answered within this.
        request_timeout: subscribe/unsubscribe acknowledgements must arrive within this.
        subscribe_timeout: a subscribe call gives up after this, reconnects included.
        connect_timeout: WebSocket opening handshake timeout.
        max_queue: quotes waiting for the consumer before the overflow policy drops the oldest.
        max_bars: bars waiting before the stream fails with StreamOverflowError.
        max_instruments: epics per connection (the server's limit is 40).
        backoff_initial, backoff_max: reconnect delay = uniform(0, min(max, initial * 2**n)).
        token_poll_interval: how often the token generation is checked.
        backfill_bars: after a reconnect, fetch over REST the (classic) bars that closed while
            the connection was down and deliver them, oldest first, before newer pushed ones
            (``OHLCBar.replayed`` True). The server pushes only bars that close while connected.
    """

    url: str | None = None
    ping_interval: float = 60.0
    stale_after: float = 30.0
    probe_timeout: float = 10.0
    request_timeout: float = 10.0
    subscribe_timeout: float = 60.0
    connect_timeout: float = 10.0
    max_queue: int = 10_000
    max_bars: int = 10_000
    max_instruments: int = 40
    backoff_initial: float = 0.1
    backoff_max: float = 30.0
    token_poll_interval: float = 0.2
    backfill_bars: bool = True

    def __post_init__(self) -> None:
        for name in (
            "ping_interval",
            "stale_after",
            "probe_timeout",
            "request_timeout",
            "subscribe_timeout",
            "connect_timeout",
            "backoff_initial",
            "backoff_max",
            "token_poll_interval",
        ):
            if not getattr(self, name) > 0:
                raise RequestValidationError(name, "must be > 0")
        for name in ("max_queue", "max_bars"):
            if getattr(self, name) < 1:
                raise RequestValidationError(name, "must be >= 1")
        if not 1 <= self.max_instruments <= 40:
            raise RequestValidationError("max_instruments", "must be between 1 and 40")


@dataclass(frozen=True)
class StreamStats:
    """Counters of a stream (a snapshot)."""

    quotes: int
    bars: int
    dropped_quotes: int
    dropped_by_epic: dict[str, int]
    queued: int
    queue_high_water: int
    connections: int
    connected: int
    connects: int
    reconnects: int
    logins: int
    subscribed_quotes: int
    subscribed_ohlc: int
    replayed_bars: int = 0


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


@dataclass(eq=False)
class _Slot:
    """One connection's worth of subscriptions (at most ``max_instruments`` epics)."""

    index: int
    quotes: set[str] = field(default_factory=set)
    ohlc: set[OhlcKey] = field(default_factory=set)
    epics: set[str] = field(default_factory=set)  # reserved here (quotes, bars, pending)
    conn: Connection | None = None
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    task: asyncio.Task[None] | None = None
    refused: dict[str, str | None] = field(default_factory=dict)  # "q:EPIC" / "o:E:R:T" -> code
    connects: int = 0
    last_error: str | None = None

    def uses(self, epic: str) -> bool:
        return epic in self.quotes or any(key[0] == epic for key in self.ohlc)


class AsyncStream:
    """Quotes and OHLC bars of many markets as one async iterator.

    Use as ``async with client.stream() as stream:``; subscribe, then ``async for event in
    stream``. Events are :class:`Quote` and :class:`OHLCBar` in arrival order (per epic, the
    server's order).
    """

    def __init__(self, session: SessionSource, options: StreamOptions | None = None) -> None:
        self._session = session
        self.options = options or StreamOptions()
        self._buffer = EventBuffer(self.options.max_queue, self.options.max_bars)
        self._slots: list[_Slot] = []
        self._slot_of: dict[str, _Slot] = {}
        self._readable = asyncio.Event()
        self._buffer.set_on_ready(self._readable.set)
        self._closed = False
        self._failure: BaseException | None = None
        self._monitor: asyncio.Task[None] | None = None
        self._login_lock = asyncio.Lock()
        self._quotes = 0
        self._bars = 0
        self._connects = 0
        self._reconnects = 0
        self._logins = 0
        # Bar gap filling (options.backfill_bars): the newest bar start delivered per
        # (epic, resolution, type, side); bars of keys being filled are held back meanwhile.
        self._last_bar: dict[tuple[str, str, str, str], int] = {}
        self._filling: dict[OhlcKey, list[OHLCBar]] = {}
        self._since: dict[OhlcKey, int] = {}  # server time of the subscription (ms)
        self._replayed = 0

    def __repr__(self) -> str:
        return (
            f"AsyncStream(connections={len(self._slots)}, quotes={len(self._all_quotes())}, "
            f"closed={self._closed})"
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
        """Start the token monitor (connections open on the first subscription)."""
        if self._monitor is None:
            self._monitor = asyncio.create_task(
                self._watch_tokens(), name="capitalcom-stream-tokens"
            )
        return self

    async def close(self) -> None:
        """Close every connection; iteration ends once the buffered events are consumed."""
        if self._closed:
            return
        self._closed = True
        tasks = [s.task for s in self._slots if s.task is not None]
        if self._monitor is not None:
            tasks.append(self._monitor)
        for task in tasks:
            task.cancel()
        for slot in self._slots:
            if slot.conn is not None:
                await slot.conn.close()
        await asyncio.gather(*tasks, return_exceptions=True)
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
        return StreamStats(
            quotes=self._quotes,
            bars=self._bars,
            dropped_quotes=buffer.dropped_quotes,
            dropped_by_epic=dict(buffer.dropped_by_epic),
            queued=len(buffer),
            queue_high_water=buffer.high_water,
            connections=sum(1 for s in self._slots if s.task is not None and not s.task.done()),
            connected=sum(1 for s in self._slots if s.ready.is_set()),
            connects=self._connects,
            reconnects=self._reconnects,
            logins=self._logins,
            subscribed_quotes=len(self._all_quotes()),
            subscribed_ohlc=sum(len(s.ohlc) for s in self._slots),
            replayed_bars=self._replayed,
        )

    def _dispatch(self, event: Event) -> None:
        if type(event) is Quote:
            self._quotes += 1
        else:
            assert isinstance(event, OHLCBar)
            held = self._filling.get((event.epic, event.resolution, event.bar_type))
            if held is not None and not event.replayed:
                held.append(event)  # after the gap's older bars
                return
            side = (event.epic, event.resolution, event.bar_type, event.price_type)
            if event.start_ms <= self._last_bar.get(side, -1):
                return  # delivered already (a replayed bar the server also pushed)
            self._last_bar[side] = event.start_ms
            self._bars += 1
            self._replayed += event.replayed
        try:
            self._buffer.put(event)
        except StreamError as exc:
            if self._failure is None:
                self._failure = exc
                logger.error("stream failed: %s", exc)
            self._readable.set()
            self._buffer.wake()

    # -- subscriptions ----------------------------------------------------------------------------

    def _all_quotes(self) -> set[str]:
        return {epic for slot in self._slots for epic in slot.quotes}

    @property
    def subscriptions(self) -> dict[str, list[str]]:
        """What the stream carries: ``{"quotes": [...], "ohlc": ["EPIC:RES:TYPE", ...]}``."""
        return {
            "quotes": sorted(self._all_quotes()),
            "ohlc": sorted(f"{e}:{r}:{t}" for s in self._slots for e, r, t in s.ohlc),
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
        groups = self._assign(wanted)
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
        groups = self._assign(wanted)
        await self._apply(
            "OHLCMarketData.subscribe",
            [
                self._add(slot, ohlc=[(e, r, bar_type) for e in items for r in resolutions])
                for slot, items in groups.items()
            ],
        )
        if self.options.backfill_bars:
            keys = [(e, r, bar_type) for e in wanted for r in resolutions]
            new = [key for key in keys if key not in self._since]
            if new:
                now_ms = await self._server_now_ms()
                for key in new:
                    self._since[key] = now_ms

    async def unsubscribe_quotes(self, epics: str | Iterable[str]) -> None:
        """Stop the quotes of ``epics`` (unknown ones are ignored)."""
        wanted = _epic_list(epics)
        by_slot: dict[_Slot, list[str]] = {}
        for epic in wanted:
            slot = self._slot_of.get(epic)
            if slot is not None and epic in slot.quotes:
                by_slot.setdefault(slot, []).append(epic)
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
        by_slot: dict[_Slot, list[OhlcKey]] = {}
        for epic in wanted:
            slot = self._slot_of.get(epic)
            if slot is None:
                continue
            keys = [
                k
                for k in slot.ohlc
                if k[0] == epic
                and (res is None or k[1] in res)
                and (types is None or k[2] in types)
            ]
            if keys:
                by_slot.setdefault(slot, []).extend(keys)
        await asyncio.gather(*(self._remove(s, ohlc=keys) for s, keys in by_slot.items()))
        for keys in by_slot.values():
            for key in keys:  # a later subscription starts afresh: no gap to fill from here
                self._since.pop(key, None)
                for side in _SIDES:
                    self._last_bar.pop((*key, side), None)

    def _check_open(self) -> None:
        if self._closed:
            raise StreamClosedError("the stream is closed")
        if self._failure is not None:
            raise self._failure

    def _assign(self, epics: list[str]) -> dict[_Slot, list[str]]:
        """Place each epic on the connection that already carries it, else on one with room."""
        groups: dict[_Slot, list[str]] = {}
        limit = self.options.max_instruments
        for epic in epics:
            slot = self._slot_of.get(epic)
            if slot is None:
                slot = next((s for s in self._slots if len(s.epics) < limit), None)
                if slot is None:
                    slot = _Slot(len(self._slots))
                    self._slots.append(slot)
                slot.epics.add(epic)
                self._slot_of[epic] = slot
            groups.setdefault(slot, []).append(epic)
        return groups

    def _release(self, slot: _Slot, epics: Iterable[str]) -> None:
        for epic in epics:
            if not slot.uses(epic):
                slot.epics.discard(epic)
                if self._slot_of.get(epic) is slot:
                    del self._slot_of[epic]

    async def _apply(self, destination: str, calls: list[Awaitable[list[str]]]) -> None:
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
        self, slot: _Slot, quotes: Sequence[str] = (), ohlc: Sequence[OhlcKey] = ()
    ) -> list[str]:
        async with slot.lock:
            for epic in quotes:
                slot.refused.pop(f"q:{epic}", None)
            for key in ohlc:
                slot.refused.pop("o:" + ":".join(key), None)
            slot.quotes.update(quotes)
            slot.ohlc.update(ohlc)
            self._start(slot)
            deadline = time.monotonic() + self.options.subscribe_timeout
            try:
                while True:
                    conn = await self._wait_ready(slot, deadline)
                    acked_q, acked_o = conn.acked_quotes, conn.acked_ohlc
                    missing_quotes = [e for e in quotes if e in slot.quotes and e not in acked_q]
                    missing_ohlc = [k for k in ohlc if k in slot.ohlc and k not in acked_o]
                    if not missing_quotes and not missing_ohlc:
                        break
                    try:
                        await self._send_subscriptions(slot, conn, missing_quotes, missing_ohlc)
                    except ConnectionLost as lost:
                        conn.fail(lost)
            except (StreamError, asyncio.CancelledError):
                # Not subscribed: forget it (a later reconnect must not subscribe it behind
                # the caller's back).
                slot.quotes.difference_update(quotes)
                slot.ohlc.difference_update(ohlc)
                self._release(slot, {*quotes, *(k[0] for k in ohlc)})
                if not slot.quotes and not slot.ohlc and not self._closed:
                    await self._retire(slot)
                raise
            refused = {f"q:{e}": e for e in quotes} | {"o:" + ":".join(k): k[0] for k in ohlc}
            failed = {key: slot.refused.pop(key) for key in list(refused) if key in slot.refused}
            if failed:
                self._release(slot, {refused[k] for k in failed})
                epics = sorted({refused[k] for k in failed})
                code = next(iter(failed.values()))
                raise SubscriptionError(code, epics, "subscribe")
            return []

    async def _remove(
        self, slot: _Slot, quotes: Sequence[str] = (), ohlc: Sequence[OhlcKey] = ()
    ) -> None:
        async with slot.lock:
            slot.quotes.difference_update(quotes)
            slot.ohlc.difference_update(ohlc)
            conn = slot.conn
            if conn is not None and conn.alive and slot.ready.is_set():
                try:
                    acked_q = [e for e in quotes if e in conn.acked_quotes]
                    if acked_q:
                        await self._expect_ok(
                            conn, "marketData.unsubscribe", {"epics": acked_q}, acked_q
                        )
                        conn.acked_quotes.difference_update(acked_q)
                    for (resolution, bar_type), epics in _group_ohlc(ohlc).items():
                        await self._expect_ok(
                            conn,
                            "OHLCMarketData.unsubscribe",
                            {"epics": epics, "resolutions": [resolution], "types": [bar_type]},
                            epics,
                        )
                        conn.acked_ohlc.difference_update((e, resolution, bar_type) for e in epics)
                except ConnectionLost as lost:
                    conn.fail(lost)  # the reconnect subscribes only what is still wanted
            self._release(slot, {*quotes, *(k[0] for k in ohlc)})
            if not slot.quotes and not slot.ohlc:
                await self._retire(slot)

    async def _retire(self, slot: _Slot) -> None:
        if slot.task is not None:
            slot.task.cancel()
            await asyncio.gather(slot.task, return_exceptions=True)
            slot.task = None
        if slot.conn is not None:
            await slot.conn.close()
            slot.conn = None
        slot.ready.clear()

    async def _expect_ok(
        self, conn: Connection, destination: str, payload: dict[str, Any], epics: list[str]
    ) -> Reply:
        reply = await conn.request(destination, payload)
        if not reply.ok and reply.error_code in SESSION_ERROR_CODES:
            raise SessionLost(reply.error_code or "session")
        if not reply.ok:
            logger.warning("%s refused for %s: %s", destination, epics, reply.error_code)
        return reply

    async def _send_subscriptions(
        self, slot: _Slot, conn: Connection, quotes: list[str], ohlc: list[OhlcKey]
    ) -> None:
        """Subscribe on ``conn``; refused items leave the slot and are recorded in
        ``slot.refused``. A batch refused for an invalid epic is retried epic by epic so the
        culprit is named and the others still subscribe."""
        if quotes:
            await self._subscribe_batch(slot, conn, "marketData.subscribe", quotes, None)
        for (resolution, bar_type), epics in _group_ohlc(ohlc).items():
            await self._subscribe_batch(
                slot, conn, "OHLCMarketData.subscribe", epics, (resolution, bar_type)
            )

    async def _subscribe_batch(
        self,
        slot: _Slot,
        conn: Connection,
        destination: str,
        epics: list[str],
        bars: tuple[str, str] | None,
    ) -> None:
        payload: dict[str, Any] = {"epics": epics}
        if bars is not None:
            payload["resolutions"] = [bars[0]]
            payload["type"] = bars[1]
        reply = await conn.request(destination, payload)
        if reply.ok:
            if bars is None:
                conn.acked_quotes.update(epics)
            else:
                conn.acked_ohlc.update((e, bars[0], bars[1]) for e in epics)
            return
        if reply.error_code in SESSION_ERROR_CODES:
            raise SessionLost(reply.error_code or "session")
        if reply.error_code == INVALID_EPIC and len(epics) > 1:
            for epic in epics:
                await self._subscribe_batch(slot, conn, destination, [epic], bars)
            return
        for epic in epics:
            if bars is None:
                slot.quotes.discard(epic)
                slot.refused[f"q:{epic}"] = reply.error_code
            else:
                key = (epic, bars[0], bars[1])
                slot.ohlc.discard(key)
                slot.refused["o:" + ":".join(key)] = reply.error_code
        logger.warning("%s refused for %s: %s", destination, epics, reply.error_code)

    # -- connections ------------------------------------------------------------------------------

    def _start(self, slot: _Slot) -> None:
        if self._monitor is None:
            self._monitor = asyncio.create_task(
                self._watch_tokens(), name="capitalcom-stream-tokens"
            )
        if slot.task is None or slot.task.done():
            slot.task = asyncio.create_task(
                self._run_slot(slot), name=f"capitalcom-stream-{slot.index}"
            )

    async def _wait_ready(self, slot: _Slot, deadline: float) -> Connection:
        while True:
            self._check_open()
            conn = slot.conn
            if slot.ready.is_set() and conn is not None and conn.alive:
                return conn
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                why = f": {slot.last_error}" if slot.last_error else ""
                raise StreamError(
                    f"not subscribed within {self.options.subscribe_timeout} s (connection "
                    f"down{why})"
                )
            slot.ready.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(slot.ready.wait(), min(remaining, 0.5))

    async def _url(self) -> str:
        if self.options.url:
            return self.options.url
        host = self._session.streaming_host()
        if host is None:
            await self._relogin(self._session.tokens.generation)
            host = self._session.streaming_host()
        if host is None:
            raise StreamError("no streaming host: the login response carried none")
        return host.rstrip("/") + "/connect"

    async def _relogin(self, seen_generation: int) -> None:
        """Log in through the client's transport unless the tokens changed since."""
        async with self._login_lock:
            tokens = self._session.tokens
            if tokens.present and tokens.generation != seen_generation:
                return
            self._logins += 1
            try:
                await self._session.relogin(seen_generation)
            except CapitalError as exc:
                raise StreamError(f"login failed: {exc}") from exc

    async def _tokens(self) -> Tokens:
        tokens = self._session.tokens
        if not tokens.present:
            await self._relogin(tokens.generation)
        generation, cst, security = tokens.generation, tokens.cst, tokens.security_token
        if cst is None or security is None:
            raise StreamError("no session tokens after logging in")
        return Tokens(cst, security, generation)

    async def _run_slot(self, slot: _Slot) -> None:
        options = self.options
        attempt = 0
        while not self._closed:
            conn: Connection | None = None
            tasks: list[asyncio.Task[None]] = []
            tokens: Tokens | None = None
            try:
                tokens = await self._tokens()
                url = await self._url()
                websocket = await websockets.connect(
                    url,
                    open_timeout=options.connect_timeout,
                    compression=None,
                    max_size=2**22,
                    max_queue=None,
                    logger=wire_logger,
                )
                conn = Connection(
                    websocket, tokens, self._dispatch, request_timeout=options.request_timeout
                )
                tasks.append(asyncio.create_task(conn.run()))
                # Not under slot.lock: a subscribe call holds it while it waits for ``ready``.
                await self._send_subscriptions(slot, conn, sorted(slot.quotes), sorted(slot.ohlc))
                await self._drop_unwanted(conn, slot)
                slot.conn = conn
                slot.ready.set()
                self._connects += 1
                if slot.connects:
                    self._reconnects += 1
                if slot.connects and self.options.backfill_bars:
                    tasks.append(asyncio.create_task(self._fill_gap(sorted(slot.ohlc))))
                slot.connects += 1
                attempt = 0
                tasks.append(
                    asyncio.create_task(
                        conn.keep_alive(
                            options.ping_interval, options.stale_after, options.probe_timeout
                        )
                    )
                )
                reason = await conn.done
                raise reason
            except SessionLost as lost:
                logger.info("stream %d: session refused (%s), logging in again", slot.index, lost)
                slot.last_error = f"session refused ({lost.reason})"
                try:
                    await self._relogin(tokens.generation if tokens else -1)
                except CapitalError as exc:
                    logger.warning("stream %d: login failed: %s", slot.index, exc)
                    slot.last_error = str(exc)
                    attempt += 1
            except ConnectionLost as lost:
                logger.info("stream %d: connection ended: %s", slot.index, lost.reason)
                slot.last_error = lost.reason
            except asyncio.CancelledError:
                raise
            except (OSError, TimeoutError, InvalidHandshake, InvalidURI) as exc:
                logger.info("stream %d: connect failed: %s", slot.index, type(exc).__name__)
                slot.last_error = f"connect failed: {type(exc).__name__}: {exc}"
                attempt += 1
            except CapitalError as exc:
                logger.warning("stream %d: %s", slot.index, exc)
                slot.last_error = str(exc)
                attempt += 1
            except Exception as exc:  # a bug must not end the reconnect loop for good
                logger.exception("stream %d: unexpected failure", slot.index)
                slot.last_error = f"{type(exc).__name__}: {exc}"
                attempt += 1
            finally:
                slot.ready.clear()
                if slot.conn is conn:
                    slot.conn = None
                for task in tasks:
                    task.cancel()
                if conn is not None:
                    await conn.close()
                await asyncio.gather(*tasks, return_exceptions=True)
            if self._closed:
                break
            ceiling = min(options.backoff_max, options.backoff_initial * 2 ** min(attempt, 30))
            await asyncio.sleep(random.uniform(0, ceiling))
            attempt += 1

    async def _server_now_ms(self) -> int:
        """The server's clock (GET /time), or this machine's when that fails."""
        server_time = getattr(self._session, "server_time_ms", None)
        if server_time is not None:
            try:
                return int(await server_time())
            except CapitalError as exc:
                logger.debug("stream: server time unavailable (%s), using the local clock", exc)
        return int(time.time() * 1000)

    def _gap_start(self, key: OhlcKey) -> int | None:
        """Bars starting after this are missing: the newest delivered one, or, before any,
        the last bar that closed before the subscription."""
        seen = [self._last_bar[(*key, s)] for s in _SIDES if (*key, s) in self._last_bar]
        if seen:
            return min(seen)
        since = self._since.get(key)
        return None if since is None else since - Resolution(key[1]).seconds * 1000

    async def _fill_gap(self, keys: list[OhlcKey]) -> None:
        """Deliver the bars of ``keys`` that closed while the connection was down (REST)."""
        fetch = getattr(self._session, "closed_bars", None)
        starts = {
            key: start
            for key in keys
            # heikin-ashi bars are the server's own computation: classic ones only
            if key[2] == "classic" and (start := self._gap_start(key)) is not None
        }
        if fetch is None or not starts:
            return
        for key in starts:
            self._filling.setdefault(key, [])
        try:
            for key, after in starts.items():
                epic, resolution, bar_type = key
                try:
                    bars = await fetch(epic, resolution, after)
                except CapitalError as exc:
                    logger.warning("stream: bars of %s %s missed while down: %s", *key[:2], exc)
                    bars = []
                for bar in bars:
                    start_ms = int(bar.snapshot_time_utc.timestamp() * 1000)
                    for side in _SIDES:
                        o, h, low, c = (
                            getattr(getattr(bar, f"{name}_price"), side)
                            for name in ("open", "high", "low", "close")
                        )
                        self._dispatch(
                            OHLCBar(
                                epic, resolution, bar_type, side, start_ms, o, h, low, c,
                                bar.snapshot_time_utc, replayed=True,
                            )
                        )  # fmt: skip
                self._release_held(key)  # its pushed bars flow again, after the filled ones
        finally:
            for key in starts:  # cancelled (connection lost again): deliver what was held
                self._release_held(key)

    def _release_held(self, key: OhlcKey) -> None:
        for held in self._filling.pop(key, []):
            self._dispatch(held)

    async def _drop_unwanted(self, conn: Connection, slot: _Slot) -> None:
        """Unsubscribe what an unsubscribe call removed while the connection was resubscribing."""
        quotes = sorted(conn.acked_quotes - slot.quotes)
        if quotes:
            await self._expect_ok(conn, "marketData.unsubscribe", {"epics": quotes}, quotes)
            conn.acked_quotes.difference_update(quotes)
        extra = conn.acked_ohlc - slot.ohlc
        for (resolution, bar_type), epics in _group_ohlc(extra).items():
            payload = {"epics": epics, "resolutions": [resolution], "types": [bar_type]}
            await self._expect_ok(conn, "OHLCMarketData.unsubscribe", payload, epics)
        conn.acked_ohlc.difference_update(extra)

    async def _watch_tokens(self) -> None:
        """Restart connections whose tokens are no longer the client's (re-login, switch)."""
        tokens = self._session.tokens
        while not self._closed:
            await asyncio.sleep(self.options.token_poll_interval)
            generation = tokens.generation
            for slot in self._slots:
                conn = slot.conn
                if conn is not None and conn.alive and conn.tokens.generation != generation:
                    logger.info("stream %d: session tokens changed, reconnecting", slot.index)
                    conn.fail(ConnectionLost("session tokens changed"))


def _group_ohlc(keys: Iterable[OhlcKey]) -> dict[tuple[str, str], list[str]]:
    groups: dict[tuple[str, str], list[str]] = {}
    for epic, resolution, bar_type in sorted(keys):
        groups.setdefault((resolution, bar_type), []).append(epic)
    return groups
