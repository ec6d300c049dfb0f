"""The ``/connect`` WebSocket: quotes and OHLC bars on the simulator clock (SPEC section 8).

One :class:`StreamHub` per simulator state holds the connections; a single ticker task in the
server's event loop walks the engine's tick grid as the simulated clock moves and fans frames out
to per-connection writer queues. Behaviour the real servers do not document is chosen here and
described in docs/streaming.md ("Simulator behaviour").
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import threading
import time
import weakref
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from starlette.websockets import WebSocket, WebSocketDisconnect

from capitalcom_sim.errors import ApiError

if TYPE_CHECKING:
    from capitalcom_sim.sessions import Session
    from capitalcom_sim.state import SimState

logger = logging.getLogger(__name__)

RESOLUTION_MS: dict[str, int] = {
    "MINUTE": 60_000,
    "MINUTE_5": 300_000,
    "MINUTE_15": 900_000,
    "MINUTE_30": 1_800_000,
    "HOUR": 3_600_000,
    "HOUR_4": 14_400_000,
    "DAY": 86_400_000,
    "WEEK": 604_800_000,
}
BAR_TYPES = ("classic", "heikin-ashi")
MAX_INSTRUMENTS = 40
"""Distinct epics (quotes and OHLC together) one connection may hold (SPEC section 4)."""
PING_TIMEOUT_MS = 600_000
"""A connection without a ``ping`` for this long on the simulator clock is closed."""
MAX_CATCHUP_TICKS = 600
"""After a clock jump, quotes are replayed for at most this many grid points per epic."""
MAX_CATCHUP_BARS = 200
"""After a clock jump, at most this many closed bars per subscription are sent."""
OUT_QUEUE_FRAMES = 50_000
"""A connection whose unsent frames exceed this is closed as a slow consumer."""
HEIKIN_ASHI_LOOKBACK = 20
_WEEK_ORIGIN_MS = 4 * 86_400_000  # bars of a week start on Monday 00:00 UTC (1970-01-05)
_MAX_IDLE_SLEEP = 0.05
_EARLY_WAKE = 0.0015

CLOSE_PING_TIMEOUT = 1000
CLOSE_DROPPED = 1011
CLOSE_SLOW_CONSUMER = 1008

ERR_SESSION = "error.invalid.session.token"
ERR_EPIC = "error.invalid.epic"
ERR_LIMIT = "error.size.epics"
ERR_MALFORMED = "error.malformed.request"
ERR_DESTINATION = "error.invalid.destination"

_hubs: weakref.WeakKeyDictionary[SimState, StreamHub] = weakref.WeakKeyDictionary()
_hubs_lock = threading.Lock()


def hub_for(state: SimState) -> StreamHub:
    """The stream hub of a simulator state (created on first use)."""
    with _hubs_lock:
        hub = _hubs.get(state)
        if hub is None:
            hub = _hubs[state] = StreamHub(state)
        return hub


def bar_start(resolution: str, t_ms: int) -> int:
    """Start (ms) of the bar of ``resolution`` holding ``t_ms``; weeks start on Monday UTC."""
    size = RESOLUTION_MS[resolution]
    origin = _WEEK_ORIGIN_MS if resolution == "WEEK" else 0
    return t_ms - ((t_ms - origin) % size)


def _dumps(payload: dict[str, Any]) -> str:
    return json.dumps(payload, separators=(",", ":"))


def _error_frame(destination: str | None, correlation_id: str | None, error_code: str) -> str:
    # Both layouts reported for the real servers at once: payload.errorCode and top-level errorCode.
    frame: dict[str, Any] = {"status": "ERROR", "destination": destination}
    if correlation_id is not None:
        frame["correlationId"] = correlation_id
    frame["errorCode"] = error_code
    frame["payload"] = {"errorCode": error_code}
    return _dumps(frame)


def _ok_frame(destination: str, correlation_id: str | None, payload: dict[str, Any]) -> str:
    frame: dict[str, Any] = {"status": "OK", "destination": destination}
    if correlation_id is not None:
        frame["correlationId"] = correlation_id
    frame["payload"] = payload
    return _dumps(frame)


class _Reject(Exception):
    def __init__(self, error_code: str) -> None:
        super().__init__(error_code)
        self.error_code = error_code


@dataclass(eq=False)
class StreamConnection:
    """One client socket on ``/connect`` and what it is subscribed to."""

    id: str
    websocket: WebSocket
    connected_ms: int
    last_ping_ms: int
    remote: str
    quotes: set[str] = field(default_factory=set)
    ohlc: set[tuple[str, str, str]] = field(default_factory=set)
    session: Session | None = None
    account_id: str | None = None
    stalled_until: float = 0.0
    frames_sent: int = 0
    frames_discarded: int = 0
    messages_received: int = 0
    closing: bool = False
    out: asyncio.Queue[str] = field(default_factory=asyncio.Queue)
    after_reply: list[str] = field(default_factory=list)
    writer: asyncio.Task[None] | None = None

    def instruments(self) -> set[str]:
        return self.quotes | {epic for epic, _, _ in self.ohlc}

    def stalled(self) -> bool:
        return self.stalled_until > time.monotonic()

    def describe(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "clientId": self.session.user.client_id if self.session else None,
            "accountId": self.account_id,
            "remote": self.remote,
            "connectedMs": self.connected_ms,
            "lastPingMs": self.last_ping_ms,
            "quotes": sorted(self.quotes),
            "ohlc": sorted(f"{e}:{r}:{t}" for e, r, t in self.ohlc),
            "instruments": len(self.instruments()),
            "framesSent": self.frames_sent,
            "framesDiscarded": self.frames_discarded,
            "messagesReceived": self.messages_received,
            "pendingFrames": self.out.qsize(),
            "stalled": self.stalled(),
        }


@dataclass
class _EpicTicks:
    last_grid_ms: int
    last_prices: tuple[float, float] | None = None


class StreamHub:
    """Every ``/connect`` socket of one simulator and the ticker that feeds them."""

    def __init__(self, state: SimState) -> None:
        self._state = state
        self.connections: dict[str, StreamConnection] = {}
        self.paused: set[str] = set()
        self._ids = itertools.count(1)
        self._quote_subs: dict[str, set[StreamConnection]] = {}
        self._ohlc_subs: dict[tuple[str, str, str], set[StreamConnection]] = {}
        self._ticks: dict[str, _EpicTicks] = {}
        self._bars_seen: dict[tuple[str, str], int] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._ticker: asyncio.Task[None] | None = None
        self._waiter: asyncio.Future[None] | None = None
        self._idle = True
        state.on_reset.append(self._on_reset)

    # -- engine adapter (CONTRACTS section 2) ----------------------------------------------------

    @property
    def _prices(self) -> Any:
        engine = self._state.engine
        prices = getattr(engine, "prices", None)
        if prices is None:
            raise RuntimeError("the simulator has no price engine")
        return prices

    def _tick_ms(self) -> int:
        return int(getattr(self._prices, "tick_ms", 1000))

    def known_epic(self, epic: str) -> bool:
        """Whether the engine lists ``epic``."""
        engine = self._state.engine
        instruments = getattr(engine, "instruments", None)
        if instruments is None:
            return False
        has = getattr(instruments, "has", None)
        if callable(has):
            return bool(has(epic))
        try:
            return epic in instruments
        except TypeError:
            return False

    def _bar(
        self, epic: str, resolution: str, start_ms: int
    ) -> dict[str, tuple[float, ...]] | None:
        """The closed bar starting at ``start_ms`` as ``{"bid": (o,h,l,c), "ask": (...)}``."""
        bars = self._bars(epic, resolution, start_ms, start_ms)
        return bars[-1][1] if bars and bars[-1][0] == start_ms else None

    def _bars(
        self, epic: str, resolution: str, start_ms: int, end_ms: int
    ) -> list[tuple[int, dict[str, tuple[float, ...]]]]:
        raw = self._prices.bars(epic, resolution, start_ms, end_ms)
        return [_normalise_bar(bar) for bar in raw]

    # -- connection lifecycle ---------------------------------------------------------------------

    async def serve(self, websocket: WebSocket) -> None:
        """Run one ``/connect`` socket until either side closes it."""
        await websocket.accept()
        self._loop = asyncio.get_running_loop()
        now = self._state.clock.now_ms()
        client = websocket.client
        conn = StreamConnection(
            id=f"c{next(self._ids)}",
            websocket=websocket,
            connected_ms=now,
            last_ping_ms=now,
            remote=f"{client.host}:{client.port}" if client else "",
        )
        self.connections[conn.id] = conn
        conn.writer = asyncio.create_task(self._write_loop(conn), name=f"sim-ws-{conn.id}")
        self._ensure_ticker()
        logger.debug("stream %s connected from %s", conn.id, conn.remote)
        try:
            await self._read_loop(conn)
        finally:
            self._forget(conn)
            if conn.writer is not None:
                conn.writer.cancel()
            logger.debug("stream %s closed", conn.id)

    async def _read_loop(self, conn: StreamConnection) -> None:
        websocket = conn.websocket
        while True:
            try:
                message = await websocket.receive()
            except (WebSocketDisconnect, RuntimeError):
                return
            if message["type"] == "websocket.disconnect":
                return
            text = message.get("text")
            if text is None:
                data = message.get("bytes") or b""
                text = data.decode("utf-8", errors="replace")
            conn.messages_received += 1
            pause = conn.stalled_until - time.monotonic()
            if pause > 0:
                await asyncio.sleep(pause)
            # Everything due before the request goes out before its reply: a ping is a barrier.
            self._safe_tick()
            reply = self.handle_message(conn, text)
            self._enqueue(conn, reply, droppable=False)
            snapshots, conn.after_reply = conn.after_reply, []
            for frame in snapshots:
                self._enqueue(conn, frame)
            self._wake_up()

    async def _write_loop(self, conn: StreamConnection) -> None:
        send = conn.websocket.send
        out = conn.out
        try:
            while True:
                frame = await out.get()
                pause = conn.stalled_until - time.monotonic()
                if pause > 0:
                    await asyncio.sleep(pause)
                await send({"type": "websocket.send", "text": frame})
                conn.frames_sent += 1
                while not out.empty() and conn.stalled_until <= time.monotonic():
                    await send({"type": "websocket.send", "text": out.get_nowait()})
                    conn.frames_sent += 1
        except asyncio.CancelledError:
            raise
        except Exception:  # the socket went away; the read loop notices and cleans up
            logger.debug("stream %s writer stopped", conn.id)

    def _enqueue(self, conn: StreamConnection, frame: str, *, droppable: bool = True) -> None:
        if conn.closing:
            return
        if droppable and conn.stalled():
            conn.frames_discarded += 1
            return
        if conn.out.qsize() >= OUT_QUEUE_FRAMES:
            logger.warning("stream %s: slow consumer, closing", conn.id)
            self._close(conn, CLOSE_SLOW_CONSUMER, "slow consumer")
            return
        conn.out.put_nowait(frame)

    def _close(self, conn: StreamConnection, code: int, reason: str) -> None:
        if conn.closing:
            return
        conn.closing = True
        self._unsubscribe_all(conn)

        async def close() -> None:
            if conn.writer is not None:
                conn.writer.cancel()
            try:
                await conn.websocket.close(code, reason)
            except Exception:  # already gone
                logger.debug("stream %s: close failed", conn.id)

        asyncio.get_running_loop().create_task(close())

    def _forget(self, conn: StreamConnection) -> None:
        self._unsubscribe_all(conn)
        self.connections.pop(conn.id, None)

    # -- messages ---------------------------------------------------------------------------------

    def handle_message(self, conn: StreamConnection, text: str) -> str:
        """Answer one client frame (an OK or ERROR frame as JSON text)."""
        try:
            message = json.loads(text)
        except ValueError:
            return _error_frame(None, None, ERR_MALFORMED)
        if not isinstance(message, dict):
            return _error_frame(None, None, ERR_MALFORMED)
        raw_destination = message.get("destination")
        destination = raw_destination if isinstance(raw_destination, str) else None
        raw_id = message.get("correlationId")
        correlation_id = (
            str(raw_id)
            if isinstance(raw_id, str | int | float) and not isinstance(raw_id, bool)
            else None
        )
        handler = self._handlers.get(destination or "")
        if handler is None:
            return _error_frame(destination, correlation_id, ERR_DESTINATION)
        cst, token = message.get("cst"), message.get("securityToken")
        try:
            session = self._state.sessions.authenticate(
                cst if isinstance(cst, str) else None, token if isinstance(token, str) else None
            )
        except ApiError as exc:
            return _error_frame(destination, correlation_id, exc.error_code)
        payload = message.get("payload")
        if destination != "ping" and not isinstance(payload, dict):
            return _error_frame(destination, correlation_id, ERR_MALFORMED)
        assert destination is not None
        try:
            result = handler(self, conn, session, payload if isinstance(payload, dict) else {})
        except _Reject as exc:
            return _error_frame(destination, correlation_id, exc.error_code)
        return _ok_frame(destination, correlation_id, result)

    def _ping(self, conn: StreamConnection, session: Session, payload: dict[str, Any]) -> Any:
        conn.last_ping_ms = self._state.clock.now_ms()
        return {}

    def _epics(self, payload: dict[str, Any]) -> list[str]:
        epics = payload.get("epics")
        if epics is None or epics == []:
            raise _Reject("error.null.epics")
        if not isinstance(epics, list) or not all(isinstance(e, str) and e for e in epics):
            raise _Reject("error.invalid.epics")
        unknown = [e for e in epics if not self.known_epic(e)]
        if unknown:
            raise _Reject(ERR_EPIC)
        return list(dict.fromkeys(epics))

    @staticmethod
    def _names(payload: dict[str, Any], key: str, allowed: Iterable[str], code: str) -> list[str]:
        value = payload.get(key)
        allowed_set = set(allowed)
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise _Reject(code)
        if not value or any(v not in allowed_set for v in value):
            raise _Reject(code)
        return list(dict.fromkeys(value))

    def _check_limit(self, conn: StreamConnection, epics: list[str]) -> None:
        if len(conn.instruments() | set(epics)) > MAX_INSTRUMENTS:
            raise _Reject(ERR_LIMIT)

    def _bind(self, conn: StreamConnection, session: Session) -> None:
        conn.session = session
        conn.account_id = session.account_id

    def _subscribe_quotes(
        self, conn: StreamConnection, session: Session, payload: dict[str, Any]
    ) -> Any:
        epics = self._epics(payload)
        self._check_limit(conn, epics)
        self._bind(conn, session)
        now = self._state.clock.now_ms()
        tick = self._tick_ms()
        grid = now - now % tick
        for epic in epics:
            ticks = self._ticks.get(epic)
            if ticks is None:
                bid, offer = self._prices.quote(epic, grid)
                ticks = self._ticks[epic] = _EpicTicks(grid, (float(bid), float(offer)))
            if (
                epic not in conn.quotes
                and ticks.last_prices is not None
                and epic not in self.paused
            ):
                # The current quote right after the acknowledgement (a snapshot), then changes.
                bid, offer = ticks.last_prices
                conn.after_reply.append(_quote_frame(epic, bid, offer, ticks.last_grid_ms, tick))
            conn.quotes.add(epic)
            self._quote_subs.setdefault(epic, set()).add(conn)
        return {"subscriptions": dict.fromkeys(epics, "PROCESSED")}

    def _unsubscribe_quotes(
        self, conn: StreamConnection, session: Session, payload: dict[str, Any]
    ) -> Any:
        epics = self._epics(payload)
        for epic in epics:
            conn.quotes.discard(epic)
            self._drop_quote_sub(epic, conn)
        return {"subscriptions": dict.fromkeys(epics, "PROCESSED")}

    def _subscribe_ohlc(
        self, conn: StreamConnection, session: Session, payload: dict[str, Any]
    ) -> Any:
        epics = self._epics(payload)
        resolutions = (
            self._names(payload, "resolutions", RESOLUTION_MS, "error.invalid.resolution")
            if payload.get("resolutions") is not None
            else ["MINUTE"]
        )
        bar_type = payload.get("type", "classic")
        if bar_type is None:
            bar_type = "classic"
        if bar_type not in BAR_TYPES:
            raise _Reject("error.invalid.type")
        self._check_limit(conn, epics)
        self._bind(conn, session)
        now = self._state.clock.now_ms()
        keys = {}
        for epic in epics:
            for resolution in resolutions:
                key = (epic, resolution, str(bar_type))
                conn.ohlc.add(key)
                self._ohlc_subs.setdefault(key, set()).add(conn)
                self._bars_seen.setdefault((epic, resolution), bar_start(resolution, now))
                keys[f"{epic}:{resolution}:{bar_type}"] = "PROCESSED"
        return {"subscriptions": keys}

    def _unsubscribe_ohlc(
        self, conn: StreamConnection, session: Session, payload: dict[str, Any]
    ) -> Any:
        epics = self._epics(payload)
        named_res = payload.get("resolutions") is not None
        named_types = payload.get("types") is not None
        resolutions = (
            self._names(payload, "resolutions", RESOLUTION_MS, "error.invalid.resolution")
            if named_res
            else list(RESOLUTION_MS)
        )
        types = (
            self._names(payload, "types", BAR_TYPES, "error.invalid.types")
            if named_types
            else list(BAR_TYPES)
        )
        keys = {}
        for epic in epics:
            for resolution in resolutions:
                for bar_type in types:
                    key = (epic, resolution, bar_type)
                    if key in conn.ohlc or (named_res and named_types):
                        keys[f"{epic}:{resolution}:{bar_type}"] = "PROCESSED"
                    conn.ohlc.discard(key)
                    self._drop_ohlc_sub(key, conn)
        return {"subscriptions": keys}

    _handlers: ClassVar[
        dict[str, Callable[[StreamHub, StreamConnection, Session, dict[str, Any]], Any]]
    ] = {
        "ping": _ping,
        "marketData.subscribe": _subscribe_quotes,
        "marketData.unsubscribe": _unsubscribe_quotes,
        "OHLCMarketData.subscribe": _subscribe_ohlc,
        "OHLCMarketData.unsubscribe": _unsubscribe_ohlc,
    }

    # -- subscription index -----------------------------------------------------------------------

    def _drop_quote_sub(self, epic: str, conn: StreamConnection) -> None:
        subscribers = self._quote_subs.get(epic)
        if subscribers is not None:
            subscribers.discard(conn)
            if not subscribers:
                del self._quote_subs[epic]
                self._ticks.pop(epic, None)

    def _drop_ohlc_sub(self, key: tuple[str, str, str], conn: StreamConnection) -> None:
        subscribers = self._ohlc_subs.get(key)
        if subscribers is not None:
            subscribers.discard(conn)
            if not subscribers:
                del self._ohlc_subs[key]
                epic, resolution, _ = key
                if not any(k[0] == epic and k[1] == resolution for k in self._ohlc_subs):
                    self._bars_seen.pop((epic, resolution), None)

    def _unsubscribe_all(self, conn: StreamConnection) -> None:
        for epic in list(conn.quotes):
            self._drop_quote_sub(epic, conn)
        for key in list(conn.ohlc):
            self._drop_ohlc_sub(key, conn)
        conn.quotes.clear()
        conn.ohlc.clear()

    # -- the ticker -------------------------------------------------------------------------------

    def _ensure_ticker(self) -> None:
        if self._ticker is None or self._ticker.done():
            self._ticker = asyncio.get_running_loop().create_task(
                self._run_ticker(), name="sim-stream-ticker"
            )

    def _safe_tick(self) -> float:
        try:
            return self.tick()
        except Exception:
            logger.exception("stream ticker failed")
            return _MAX_IDLE_SLEEP

    def _wake_up(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def _run_ticker(self) -> None:
        # A bare future plus call_later: wait_for() costs an extra task and loop iterations,
        # which showed up as milliseconds of quote latency.
        # The event loop's timers fire up to a millisecond late (epoll rounds its timeout up to
        # whole ms), so the ticker wakes _EARLY_WAKE before a grid point and sleeps the rest
        # precisely: at most ~1.5 ms of blocking per grid point.
        loop = asyncio.get_running_loop()
        while self.connections:
            delay = self._safe_tick()
            due = time.monotonic() + delay
            # Only for sparse grids: at high clock speeds grid points are a millisecond apart
            # and the loop must not spend its time sleeping; it then batches several per wake.
            precise = not self._idle and delay >= 4 * _EARLY_WAKE
            waiter: asyncio.Future[None] = loop.create_future()
            self._waiter = waiter
            handle = loop.call_later(delay - _EARLY_WAKE if precise else delay, _resolve, waiter)
            try:
                await waiter
            finally:
                handle.cancel()
                self._waiter = None
            gap = due - time.monotonic()
            if precise and 0 < gap <= _EARLY_WAKE:
                time.sleep(gap)  # noqa: ASYNC251 - at most 1.5 ms, for timing precision

    def tick(self) -> float:
        """Emit everything due up to the simulator's now; returns real seconds to sleep."""
        clock = self._state.clock
        now = clock.now_ms()
        self._check_connections(now)
        next_due = self._emit_quotes(now)
        self._emit_bars(now)
        speed = clock.speed
        self._idle = speed <= 0 or next_due is None
        if speed <= 0 or next_due is None:
            return _MAX_IDLE_SLEEP
        wait = (next_due - clock.now_ms()) / speed / 1000.0
        return min(max(wait + 0.0001, 0.0002), _MAX_IDLE_SLEEP)

    def _check_connections(self, now: int) -> None:
        sessions = self._state.sessions
        for conn in list(self.connections.values()):
            if conn.closing:
                continue
            if now - conn.last_ping_ms > PING_TIMEOUT_MS:
                logger.info("stream %s: no ping for 10 minutes, closing", conn.id)
                self._close(conn, CLOSE_PING_TIMEOUT, "no ping for 10 minutes")
                continue
            session = conn.session
            if session is None:
                continue
            alive = sessions.peek(session.cst) is session
            if not alive or session.account_id != conn.account_id:
                # Subscriptions "fall off" when their session ends or switches account.
                logger.info("stream %s: session ended or account switched, dropping", conn.id)
                self._unsubscribe_all(conn)
                conn.session = None

    def _emit_quotes(self, now: int) -> int | None:
        if not self._quote_subs:
            return None
        tick = self._tick_ms()
        grid_now = now - now % tick
        quote = self._prices.quote
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
            prices = (float(bid), float(offer))
            if prices == ticks.last_prices:
                continue
            ticks.last_prices = prices
            frame = _quote_frame(epic, prices[0], prices[1], grid_ms, tick)
            for conn in self._quote_subs.get(epic, ()):
                self._enqueue(conn, frame)
        return grid_now + tick

    def _emit_bars(self, now: int) -> None:
        for (epic, resolution), seen in list(self._bars_seen.items()):
            current = bar_start(resolution, now)
            if current <= seen:
                continue
            self._bars_seen[(epic, resolution)] = current
            if epic in self.paused:
                continue
            size = RESOLUTION_MS[resolution]
            starts = list(range(seen, current, size))[-MAX_CATCHUP_BARS:]
            for start in starts:
                self._emit_bar(epic, resolution, start)

    def _emit_bar(self, epic: str, resolution: str, start: int) -> None:
        wanted = {
            bar_type: subs
            for bar_type in BAR_TYPES
            if (subs := self._ohlc_subs.get((epic, resolution, bar_type)))
        }
        if not wanted:
            return
        for bar_type, subs in wanted.items():
            if bar_type == "classic":
                bar = self._bar(epic, resolution, start)
            else:
                bar = self._heikin_ashi(epic, resolution, start)
            if bar is None:
                continue
            for price_type in ("bid", "ask"):
                o, h, low, c = bar[price_type]
                frame = _ok_frame(
                    "ohlc.event",
                    None,
                    {
                        "resolution": resolution,
                        "epic": epic,
                        "type": bar_type,
                        "priceType": price_type,
                        "t": start,
                        "h": h,
                        "l": low,
                        "o": o,
                        "c": c,
                    },
                )
                for conn in list(subs):
                    self._enqueue(conn, frame)

    def _heikin_ashi(
        self, epic: str, resolution: str, start: int
    ) -> dict[str, tuple[float, ...]] | None:
        size = RESOLUTION_MS[resolution]
        bars = self._bars(epic, resolution, start - HEIKIN_ASHI_LOOKBACK * size, start)
        if not bars or bars[-1][0] != start:
            return None
        return {side: heikin_ashi([b[side] for _, b in bars])[-1] for side in ("bid", "ask")}

    # -- control plane ----------------------------------------------------------------------------

    def describe(self) -> list[dict[str, Any]]:
        """The open connections as JSON-ready dicts (GET /_sim/stream/connections)."""
        return [conn.describe() for conn in list(self.connections.values())]

    def _targets(self, connection_id: str | None) -> list[StreamConnection]:
        if connection_id is None:
            return [c for c in self.connections.values() if not c.closing]
        conn = self.connections.get(connection_id)
        return [conn] if conn is not None and not conn.closing else []

    def drop(self, connection_id: str | None = None) -> int:
        """Close one connection (or all) abruptly from the server side; returns how many.

        Must run in the server's event loop (the control routes do).
        """
        targets = self._targets(connection_id)
        for conn in targets:
            self._close(conn, CLOSE_DROPPED, "dropped by the simulator")
        return len(targets)

    def stall(self, connection_id: str | None, seconds: float) -> int:
        """Stop sending on one connection (or all) for ``seconds`` of real time.

        Frames produced meanwhile are discarded; client messages are answered after the stall.
        """
        targets = self._targets(connection_id)
        until = time.monotonic() + seconds
        for conn in targets:
            conn.stalled_until = until
        return len(targets)

    def pause(self, epic: str, paused: bool) -> None:
        """Stop (or resume) quotes and bars of ``epic`` on every connection."""
        if paused:
            self.paused.add(epic)
        else:
            self.paused.discard(epic)

    def _on_reset(self) -> None:
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        self.paused.clear()

        def drop_all() -> None:
            self.drop(None)

        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            drop_all()
        else:
            loop.call_soon_threadsafe(drop_all)


def _resolve(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)


def _quote_frame(epic: str, bid: float, offer: float, t_ms: int, tick_ms: int) -> str:
    step = t_ms // tick_ms
    bid_qty = float(1000 + (step * 7919 + len(epic) * 104729) % 9000)
    offer_qty = bid_qty  # equal on both sides, as on every recorded real quote (sim-wire)
    return _dumps(
        {
            "status": "OK",
            "destination": "quote",
            "payload": {
                "epic": epic,
                "product": "CFD",
                "bid": bid,
                "bidQty": bid_qty,
                "ofr": offer,
                "ofrQty": offer_qty,
                "timestamp": t_ms,
            },
        }
    )


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


def _normalise_bar(bar: Any) -> tuple[int, dict[str, tuple[float, ...]]]:
    """A bar of ``engine.prices.bars`` (``start_ms`` plus ``bid``/``ask`` OHLC sides) as
    (start ms, {"bid": (o, h, l, c), "ask": (o, h, l, c)})."""
    sides: dict[str, tuple[float, ...]] = {}
    for side in ("bid", "ask"):
        ohlc = getattr(bar, side)
        sides[side] = (float(ohlc.open), float(ohlc.high), float(ohlc.low), float(ohlc.close))
    return int(bar.start_ms), sides


async def connect_endpoint(websocket: WebSocket) -> None:
    """Starlette endpoint of ``/connect``."""
    await hub_for(websocket.app.state.sim).serve(websocket)
