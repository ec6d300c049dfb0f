"""One connection's life: connect, subscribe what its slot carries, stay up, reconnect.

A :class:`Supervisor` owns the task of one slot (see ``_registry``). The task connects with the
client's current tokens, subscribes everything the slot carries (in batches; a batch refused for
an invalid epic is retried epic by epic so the culprit is named), marks the connection ready,
then keeps it alive (pings, the silence watchdog, the token watch); when the connection ends it
reconnects after a jittered exponential backoff, with no lifetime cap. A refused session is
handed to the client to log in again (:class:`SessionLink`); the token watch restarts the
connection when the client's tokens change (re-login, account switch). Events go to the
``dispatch`` callback; nothing here refers back to the stream.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import random
import time
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

import websockets
from websockets.exceptions import InvalidHandshake, InvalidURI

from capitalcom_sdk._logging import get_logger
from capitalcom_sdk.errors import SESSION_ERROR_CODES, CapitalError
from capitalcom_sdk.streaming._connection import Connection, ConnectionLost, SessionLost, Tokens
from capitalcom_sdk.streaming._events import Event, Reply
from capitalcom_sdk.streaming._options import StreamOptions
from capitalcom_sdk.streaming._registry import OhlcKey, QuoteKey, Slot, group_ohlc
from capitalcom_sdk.streaming._sources import SessionSource
from capitalcom_sdk.streaming.errors import StreamError

logger = get_logger("capitalcom_sdk.streaming")
# The websockets library logs every frame at DEBUG, tokens included: it gets its own logger with
# the SDK's redacting filter, at INFO so that turning the SDK's DEBUG logging on does not log
# (and redact) thousands of frames per second; set this logger to DEBUG to see frames.
wire_logger = get_logger("capitalcom_sdk.streaming.wire")
wire_logger.setLevel(logging.INFO)

INVALID_EPIC = "error.invalid.epic"
IN_STREAM_TASK: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "capitalcom_in_stream_task", default=False
)
"""True in a connection's task and what it starts (logins, gap fills, their worker threads:
``asyncio.to_thread`` copies the context): a move of the clock made there must not wait for
the stream's barrier, which may be waiting for that very task."""
OnReconnect = Callable[[list[OhlcKey]], Coroutine[Any, Any, None]]


class SessionLink:
    """The stream's side of the client's session: tokens to connect with, the URL, re-login.

    Logging in again is the client's decision (``SessionSource.relogin``, single flight with
    its own requests); this only asks, and counts the sessions it asked to replace.
    """

    def __init__(self, source: SessionSource, url: str | None) -> None:
        self.source = source
        self._url = url
        self.logins = 0
        self._asked: int | None = None  # the token generation last asked to replace

    async def url(self) -> str:
        if self._url:
            return self._url
        host = self.source.streaming_host()
        if host is None:
            await self.relogin(self.source.tokens.generation)
            host = self.source.streaming_host()
        if host is None:
            raise StreamError("no streaming host: the login response carried none")
        return host.rstrip("/") + "/connect"

    async def tokens(self) -> Tokens:
        """The client's tokens (logging in first when it has none)."""
        tokens = self.source.tokens
        if not tokens.present:
            await self.relogin(tokens.generation)
        generation, cst, security = tokens.generation, tokens.cst, tokens.security_token
        if cst is None or security is None:
            raise StreamError("no session tokens after logging in")
        return Tokens(cst, security, generation)

    async def relogin(self, seen_generation: int) -> None:
        """Ask the client to log in again unless its tokens changed since ``seen_generation``."""
        tokens = self.source.tokens
        if tokens.present and tokens.generation != seen_generation:
            return
        if self._asked != seen_generation:  # several connections refused: one session
            self._asked = seen_generation
            self.logins += 1
        try:
            await self.source.relogin(seen_generation)
        except CapitalError as exc:
            raise StreamError(f"login failed: {exc}") from exc


async def end_task(task: asyncio.Task[None], every: float = 0.2) -> None:
    """Cancel ``task`` and wait until it has ended, cancelling again every ``every`` s.

    One cancel is not enough on Python 3.11: ``asyncio.wait_for`` loses a cancellation that
    arrives as its inner await completes, and the reconnect loop would then go on to wait on a
    live connection, holding its socket, while the closer waits for it forever.
    """
    task.cancel()
    while not task.done():
        await asyncio.wait({task}, timeout=every)
        if not task.done():
            task.cancel()
    if not task.cancelled() and task.exception() is not None:
        logger.debug("stream task ended with %r", task.exception())


class Supervisor:
    """The connection of one slot, kept up for as long as the slot carries anything.

    Args:
        slot: what the connection should carry (read; refusals are recorded on it).
        options: the stream's tuning.
        session: the client's session.
        dispatch: called with every event the connection reads.
        on_reconnect: called with the bar subscriptions a new connection carries after each
            reconnect, before it re-subscribes; the coroutine it returns runs as a task of the
            connection once it is ready (e.g. to fill the gap); None for nothing.
    """

    def __init__(
        self,
        slot: Slot,
        options: StreamOptions,
        session: SessionLink,
        dispatch: Callable[[Event], None],
        on_reconnect: OnReconnect | None = None,
    ) -> None:
        self.slot = slot
        self.options = options
        self._session = session
        self._dispatch = dispatch
        self._on_reconnect = on_reconnect
        self.conn: Connection | None = None
        self.ready = asyncio.Event()
        self.lock = asyncio.Lock()  # one subscribe / unsubscribe call at a time
        self.task: asyncio.Task[None] | None = None
        self.connects = 0  # connections that became ready
        self.last_error: str | None = None
        self._stopped = False
        # In lock-step (a frozen simulator clock) the stream's barrier after each move of the
        # clock is the keep-alive and the token check: no timers on the wall clock then.
        self.lockstep = False
        self.backfill: asyncio.Task[None] | None = None  # the gap fill after the last reconnect

    @property
    def running(self) -> bool:
        return self.task is not None and not self.task.done()

    @property
    def reconnects(self) -> int:
        return max(self.connects - 1, 0)

    # -- lifecycle --------------------------------------------------------------------------------

    def start(self) -> None:
        """Start the connection task unless it runs."""
        if not self._stopped and not self.running:
            self.task = asyncio.create_task(
                self._run(), name=f"capitalcom-stream-{self.slot.index}"
            )

    async def retire(self) -> None:
        """End the connection (the slot carries nothing); :meth:`start` may start it again."""
        if self.task is not None:
            await end_task(self.task)
            self.task = None
        if self.conn is not None:
            await self.conn.close()
            self.conn = None
        self.ready.clear()

    async def close(self) -> None:
        """End the connection for good (the stream closes)."""
        self._stopped = True
        task = self.task
        if task is not None:
            task.cancel()
        if self.conn is not None:
            await self.conn.close()
        if task is not None:
            await end_task(task)

    async def wait_ready(self, deadline: float, check_open: Callable[[], None]) -> Connection:
        """The ready connection, waiting until ``deadline`` (monotonic); ``check_open`` raises
        when the stream can no longer be used. Network deadlines are on the wall clock, whatever
        the client's clock: a frozen simulator clock would never end them."""
        while True:
            check_open()
            conn = self.conn
            if self.ready.is_set() and conn is not None and conn.alive:
                return conn
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                why = f": {self.last_error}" if self.last_error else ""
                raise StreamError(
                    f"not subscribed within {self.options.subscribe_timeout} s (connection "
                    f"down{why})"
                )
            self.ready.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.ready.wait(), min(remaining, 0.5))

    # -- subscribing on a connection --------------------------------------------------------------

    async def subscribe(
        self, quotes: Sequence[str], ohlc: Sequence[OhlcKey], check_open: Callable[[], None]
    ) -> None:
        """Until the server acknowledged (or refused) each of these that the slot still wants;
        raises StreamError after ``subscribe_timeout``. Call under :attr:`lock`."""
        self.start()
        slot = self.slot
        deadline = time.monotonic() + self.options.subscribe_timeout  # network: wall clock
        while True:
            conn = await self.wait_ready(deadline, check_open)
            acked_q, acked_o = conn.acked_quotes, conn.acked_ohlc
            missing_quotes = [e for e in quotes if e in slot.quotes and e not in acked_q]
            missing_ohlc = [k for k in ohlc if k in slot.ohlc and k not in acked_o]
            if not missing_quotes and not missing_ohlc:
                return
            try:
                await self._send_subscriptions(conn, missing_quotes, missing_ohlc)
            except ConnectionLost as lost:
                conn.fail(lost)

    async def unsubscribe(self, quotes: Sequence[str], ohlc: Sequence[OhlcKey]) -> None:
        """Unsubscribe what the connection carries of these (the slot already dropped them).
        Without a ready connection there is nothing to do: a reconnect subscribes only what is
        still wanted. Call under :attr:`lock`."""
        conn = self.conn
        if conn is None or not conn.alive or not self.ready.is_set():
            return
        try:
            acked_q = [e for e in quotes if e in conn.acked_quotes]
            await self._unsubscribe(conn, acked_q, ohlc)
        except ConnectionLost as lost:
            conn.fail(lost)

    async def _unsubscribe(
        self, conn: Connection, quotes: list[str], ohlc: Sequence[OhlcKey]
    ) -> None:
        if quotes:
            await self._expect_ok(conn, "marketData.unsubscribe", {"epics": quotes}, quotes)
            conn.acked_quotes.difference_update(quotes)
        for (resolution, bar_type), epics in group_ohlc(ohlc).items():
            payload = {"epics": epics, "resolutions": [resolution], "types": [bar_type]}
            await self._expect_ok(conn, "OHLCMarketData.unsubscribe", payload, epics)
            conn.acked_ohlc.difference_update(OhlcKey(e, resolution, bar_type) for e in epics)

    async def _drop_unwanted(self, conn: Connection) -> None:
        """Unsubscribe what an unsubscribe call removed while the connection was resubscribing."""
        quotes = sorted(conn.acked_quotes - self.slot.quotes)
        await self._unsubscribe(conn, quotes, sorted(conn.acked_ohlc - self.slot.ohlc))

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
        self, conn: Connection, quotes: list[str], ohlc: list[OhlcKey]
    ) -> None:
        """Subscribe on ``conn``; refused items leave the slot with the refusal recorded."""
        if quotes:
            await self._subscribe_batch(conn, "marketData.subscribe", quotes, None)
        for (resolution, bar_type), epics in group_ohlc(ohlc).items():
            await self._subscribe_batch(
                conn, "OHLCMarketData.subscribe", epics, (resolution, bar_type)
            )

    async def _subscribe_batch(
        self, conn: Connection, destination: str, epics: list[str], bars: tuple[str, str] | None
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
                conn.acked_ohlc.update(OhlcKey(e, *bars) for e in epics)
            return
        if reply.error_code in SESSION_ERROR_CODES:
            raise SessionLost(reply.error_code or "session")
        if reply.error_code == INVALID_EPIC and len(epics) > 1:
            for epic in epics:  # name the culprit; the others still subscribe
                await self._subscribe_batch(conn, destination, [epic], bars)
            return
        for epic in epics:
            key = QuoteKey(epic) if bars is None else OhlcKey(epic, *bars)
            self.slot.refuse(key, reply.error_code)
        logger.warning("%s refused for %s: %s", destination, epics, reply.error_code)

    # -- the connection task ----------------------------------------------------------------------

    async def _connect(self, tokens: Tokens) -> Connection:
        options = self.options
        websocket = await websockets.connect(
            await self._session.url(),
            open_timeout=options.connect_timeout,
            compression=None,
            max_size=2**22,
            max_queue=None,
            logger=wire_logger,
        )
        return Connection(
            websocket, tokens, self._dispatch, request_timeout=options.request_timeout
        )

    async def _run(self) -> None:
        IN_STREAM_TASK.set(True)  # this task's own context (a copy): never the caller's
        options = self.options
        slot = self.slot
        attempt = 0
        while not self._stopped:
            conn: Connection | None = None
            tasks: list[asyncio.Task[None]] = []
            tokens: Tokens | None = None
            fill: Coroutine[Any, Any, None] | None = None
            try:
                tokens = await self._session.tokens()
                conn = await self._connect(tokens)
                if self.connects and self._on_reconnect is not None:
                    # Before anything is read: the bars pushed from now on wait behind the gap.
                    fill = self._on_reconnect(sorted(slot.ohlc))
                tasks.append(asyncio.create_task(conn.run()))
                # Not under self.lock: a subscribe call holds it while it waits for ``ready``.
                await self._send_subscriptions(conn, sorted(slot.quotes), sorted(slot.ohlc))
                await self._drop_unwanted(conn)
                self.conn = conn
                self.ready.set()
                if fill is not None:
                    self.backfill = asyncio.create_task(fill)
                    fill = None
                    tasks.append(self.backfill)
                self.connects += 1
                attempt = 0
                if not self.lockstep:
                    tasks.append(
                        asyncio.create_task(
                            conn.keep_alive(
                                options.ping_interval, options.stale_after, options.probe_timeout
                            )
                        )
                    )
                    tasks.append(asyncio.create_task(self._watch_tokens(conn)))
                raise await conn.done
            except SessionLost as lost:
                logger.info("stream %d: session refused (%s), logging in again", slot.index, lost)
                self.last_error = f"session refused ({lost.reason})"
                try:
                    await self._session.relogin(tokens.generation if tokens else -1)
                except CapitalError as exc:
                    logger.warning("stream %d: login failed: %s", slot.index, exc)
                    self.last_error = str(exc)
                    attempt += 1
            except ConnectionLost as lost:
                logger.info("stream %d: connection ended: %s", slot.index, lost.reason)
                self.last_error = lost.reason
            except asyncio.CancelledError:
                raise
            except (OSError, TimeoutError, InvalidHandshake, InvalidURI) as exc:
                logger.info("stream %d: connect failed: %s", slot.index, type(exc).__name__)
                self.last_error = f"connect failed: {type(exc).__name__}: {exc}"
                attempt += 1
            except CapitalError as exc:
                logger.warning("stream %d: %s", slot.index, exc)
                self.last_error = str(exc)
                attempt += 1
            except Exception as exc:  # a bug must not end the reconnect loop for good
                logger.exception("stream %d: unexpected failure", slot.index)
                self.last_error = f"{type(exc).__name__}: {exc}"
                attempt += 1
            finally:
                if fill is not None:
                    fill.close()  # never started: its hold stays for the next connection's fill
                self.ready.clear()
                if self.conn is conn:
                    self.conn = None
                for task in tasks:
                    task.cancel()
                if conn is not None:
                    await conn.close()
                await asyncio.gather(*tasks, return_exceptions=True)
            if self._stopped:
                break
            ceiling = min(options.backoff_max, options.backoff_initial * 2 ** min(attempt, 30))
            # Wall clock: the backoff spares a server that is down or refusing, in real time,
            # whatever the client's clock (a frozen one would never let it end).
            await asyncio.sleep(random.uniform(0, ceiling))
            attempt += 1

    async def _watch_tokens(self, conn: Connection) -> None:
        """Restart the connection once its tokens are no longer the client's (polled on the
        wall clock; not run in lock-step, where the barrier checks the tokens after each move)."""
        tokens = self._session.source.tokens
        while conn.alive:
            await asyncio.sleep(self.options.token_poll_interval)
            if conn.alive and conn.tokens.generation != tokens.generation:
                logger.info("stream %d: session tokens changed, reconnecting", self.slot.index)
                conn.fail(ConnectionLost("session tokens changed"))
