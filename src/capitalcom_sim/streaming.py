"""The ``/connect`` WebSocket: quotes and OHLC bars on the simulator clock (SPEC section 8).

One :class:`StreamHub` per simulator state (``SimState.streams``) holds the connections: it
accepts the sockets, answers the protocol's messages, and runs a single ticker task in the
server's event loop that walks the simulated clock and has the :class:`~capitalcom_sim.
stream_feed.Feed` (the subscription index, quotes on the engine's tick grid, closed bars, the
frames) fan frames out to per-connection writer queues. Behaviour the real servers do not
document is chosen here and described in docs/streaming.md ("Simulator behaviour"). A little
over 500 lines: sockets, protocol and ticker share the connection table and one event loop.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from starlette.websockets import WebSocket, WebSocketDisconnect

from capitalcom_sim.engine.types import RESOLUTIONS
from capitalcom_sim.errors import ApiError
from capitalcom_sim.stream_feed import BAR_TYPES, Feed, error_frame, ok_frame

if TYPE_CHECKING:
    from capitalcom_sim.sessions import Session
    from capitalcom_sim.state import SimState

logger = logging.getLogger(__name__)

MAX_INSTRUMENTS = 40
"""Distinct epics (quotes and OHLC together) one connection may hold (SPEC section 4)."""
PING_TIMEOUT_MS = 600_000
"""A connection without a ``ping`` for this long on the simulator clock is closed."""
OUT_QUEUE_FRAMES = 50_000
"""A connection whose unsent frames exceed this is closed as a slow consumer."""
_MAX_IDLE_SLEEP = 0.05
_EARLY_WAKE = 0.0015

CLOSE_PING_TIMEOUT = 1000
CLOSE_DROPPED = 1011
CLOSE_SLOW_CONSUMER = 1008

ERR_EPIC = "error.invalid.epic"
ERR_LIMIT = "error.size.epics"
ERR_MALFORMED = "error.malformed.request"
ERR_DESTINATION = "error.invalid.destination"


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


class StreamHub:
    """Every ``/connect`` socket of one simulator and the ticker that feeds them."""

    def __init__(self, state: SimState) -> None:
        self._state = state
        self.connections: dict[str, StreamConnection] = {}
        self._ids = itertools.count(1)
        self._feed: Feed[StreamConnection] = Feed(lambda: state.engine.prices, self._enqueue)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._ticker: asyncio.Task[None] | None = None
        self._waiter: asyncio.Future[None] | None = None
        self._idle = True
        self._watchers: list[Callable[[], None]] = []  # wait_for's checks, run on changes
        self._watchers_lock = threading.Lock()
        state.on_reset.append(self._on_reset)

    @property
    def paused(self) -> set[str]:
        """Epics whose quotes and bars are held back (``/_sim/stream/pause``)."""
        return self._feed.paused

    def known_epic(self, epic: str) -> bool:
        """Whether the engine lists ``epic``."""
        return epic in self._state.engine.instruments

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
        self._notify()
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
            self._notify()

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
        self._notify()

    # -- messages ---------------------------------------------------------------------------------

    def handle_message(self, conn: StreamConnection, text: str) -> str:
        """Answer one client frame (an OK or ERROR frame as JSON text)."""
        try:
            message = json.loads(text)
        except ValueError:
            return error_frame(None, None, ERR_MALFORMED)
        if not isinstance(message, dict):
            return error_frame(None, None, ERR_MALFORMED)
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
            return error_frame(destination, correlation_id, ERR_DESTINATION)
        cst, token = message.get("cst"), message.get("securityToken")
        try:
            session = self._state.sessions.authenticate(
                cst if isinstance(cst, str) else None, token if isinstance(token, str) else None
            )
        except ApiError as exc:
            return error_frame(destination, correlation_id, exc.error_code)
        payload = message.get("payload")
        if destination != "ping" and not isinstance(payload, dict):
            return error_frame(destination, correlation_id, ERR_MALFORMED)
        assert destination is not None
        try:
            result = handler(self, conn, session, payload if isinstance(payload, dict) else {})
        except _Reject as exc:
            return error_frame(destination, correlation_id, exc.error_code)
        return ok_frame(destination, correlation_id, result)

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
        for epic in epics:
            # The current quote right after the acknowledgement (a snapshot), then changes.
            snapshot = self._feed.add_quote(conn, epic, now, new=epic not in conn.quotes)
            if snapshot is not None:
                conn.after_reply.append(snapshot)
            conn.quotes.add(epic)
        return {"subscriptions": dict.fromkeys(epics, "PROCESSED")}

    def _unsubscribe_quotes(
        self, conn: StreamConnection, session: Session, payload: dict[str, Any]
    ) -> Any:
        epics = self._epics(payload)
        for epic in epics:
            conn.quotes.discard(epic)
            self._feed.drop_quote(conn, epic)
        return {"subscriptions": dict.fromkeys(epics, "PROCESSED")}

    def _subscribe_ohlc(
        self, conn: StreamConnection, session: Session, payload: dict[str, Any]
    ) -> Any:
        epics = self._epics(payload)
        resolutions = (
            self._names(payload, "resolutions", RESOLUTIONS, "error.invalid.resolution")
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
                self._feed.add_ohlc(conn, key, now)
                keys[f"{epic}:{resolution}:{bar_type}"] = "PROCESSED"
        return {"subscriptions": keys}

    def _unsubscribe_ohlc(
        self, conn: StreamConnection, session: Session, payload: dict[str, Any]
    ) -> Any:
        epics = self._epics(payload)
        named_res = payload.get("resolutions") is not None
        named_types = payload.get("types") is not None
        resolutions = (
            self._names(payload, "resolutions", RESOLUTIONS, "error.invalid.resolution")
            if named_res
            else list(RESOLUTIONS)
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
                    self._feed.drop_ohlc(conn, key)
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

    # -- subscriptions --------------------------------------------------------------------------

    def _unsubscribe_all(self, conn: StreamConnection) -> None:
        for epic in list(conn.quotes):
            self._feed.drop_quote(conn, epic)
        for key in list(conn.ohlc):
            self._feed.drop_ohlc(conn, key)
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

    def flush(self) -> None:
        """Emit everything due up to the simulator's now at once (after a move of the clock),
        so whatever a client sends next on a socket is answered after those frames."""
        if self.connections:
            self._safe_tick()
            self._wake_up()

    def next_due(self, now: int) -> int | None:
        """When the next subscribed quote or bar is due on the simulator's clock (ms), None when
        no connection subscribes anything (``POST /_sim/clock {"next": true}``)."""
        return self._feed.next_due(now)

    def kept_alive(self) -> list[StreamConnection]:
        """The open connections whose session is live now: the ones a client keeps alive
        through a lock-step move of a frozen clock (see :meth:`credit_pings`)."""
        sessions = self._state.sessions
        return [
            conn
            for conn in self.connections.values()
            if not conn.closing
            and conn.session is not None
            and sessions.peek(conn.session.cst) is conn.session
        ]

    def credit_pings(self, connections: list[StreamConnection]) -> None:
        """Count ``connections`` as pinged at the simulator's now, their sessions as used.

        In lock-step the client's keep-alive cannot ping during a jump of the frozen clock (its
        pings run on the same clock): the client asks for this (``"keepalive": true``) so that a
        bot waiting an hour for the next HOUR bar keeps its stream and session, as it would
        live with a ping a minute. A session's hard lifetime still ends it.
        """
        now = self._state.clock.now_ms()
        for conn in connections:
            conn.last_ping_ms = max(conn.last_ping_ms, now)
            if conn.session is not None:
                self._state.sessions.touch(conn.session, now)

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
        speed = clock.speed
        next_due = self._feed.emit(now, every_bar=speed <= 0)
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
                self._notify()

    # -- control plane ----------------------------------------------------------------------------

    def _notify(self) -> None:
        with self._watchers_lock:
            watchers = list(self._watchers)
        for check in watchers:
            check()

    def wait_for(self, predicate: Callable[[], bool], timeout: float) -> bool:
        """Block the calling thread until ``predicate()`` holds or ``timeout`` (real seconds)
        passes; whether it held. The predicate runs on the hub's event loop (so it sees a
        consistent state) right away and whenever a connection opens or closes, a client
        message was answered or a session's subscriptions fell off. For tests and tools in
        other threads; never call it on the hub's own loop."""
        held = threading.Event()

        def check() -> None:
            try:
                if predicate():
                    held.set()
            except Exception:  # a broken predicate must not break the hub
                logger.exception("stream wait_for predicate failed")

        with self._watchers_lock:
            self._watchers.append(check)
        try:
            loop = self._loop
            if loop is not None and loop.is_running():
                loop.call_soon_threadsafe(check)
            else:
                check()  # no socket was ever served: nothing changes meanwhile
            return held.wait(timeout)
        finally:
            with self._watchers_lock:
                self._watchers.remove(check)

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


async def connect_endpoint(websocket: WebSocket) -> None:
    """Starlette endpoint of ``/connect``."""
    state: SimState = websocket.app.state.sim
    await state.streams.serve(websocket)
