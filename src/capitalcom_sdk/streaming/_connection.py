"""One WebSocket connection: request/reply matching, the reader, keep-alive and watchdog."""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from capitalcom_sdk._logging import get_logger
from capitalcom_sdk.errors import SESSION_ERROR_CODES
from capitalcom_sdk.streaming._events import Event, OHLCBar, Quote, Reply, parse_frame
from capitalcom_sdk.streaming._registry import OhlcKey

logger = get_logger("capitalcom_sdk.streaming")


class ConnectionLost(Exception):
    """The connection ended (or must end); the slot reconnects. ``reason`` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class SessionLost(ConnectionLost):
    """The server refused the session tokens: log in again, then reconnect."""


@dataclass(frozen=True, slots=True)
class Tokens:
    """The session tokens a connection sends, and their generation in the client's store."""

    cst: str
    security_token: str
    generation: int

    def __repr__(self) -> str:
        return f"Tokens(generation={self.generation})"


class Connection:
    """A connected socket. :meth:`run` reads until the connection ends; ``done`` tells why."""

    def __init__(
        self,
        websocket: ClientConnection,
        tokens: Tokens,
        dispatch: Callable[[Event], None],
        *,
        request_timeout: float,
    ) -> None:
        self.websocket = websocket
        self.tokens = tokens
        self._dispatch = dispatch
        self.request_timeout = request_timeout
        self._ids = itertools.count(1)
        self._pending: dict[str, asyncio.Future[Reply]] = {}
        # Wall clock: the keep-alive watches the network (it does not run in lock-step, where
        # the stream's barrier after each move of the simulated clock is the keep-alive).
        now = time.monotonic()
        self.last_frame = now
        self.last_ping = now
        self.acked_quotes: set[str] = set()
        self.acked_ohlc: set[OhlcKey] = set()
        self.done: asyncio.Future[ConnectionLost] = asyncio.get_running_loop().create_future()
        self.frames = 0

    @property
    def alive(self) -> bool:
        return not self.done.done()

    def fail(self, reason: ConnectionLost) -> None:
        """End the connection with ``reason`` (first reason wins); pending requests fail."""
        if self.done.done():
            return
        self.done.set_result(reason)
        pending, self._pending = self._pending, {}
        for future in pending.values():
            if not future.done():
                future.set_exception(reason)

    async def request(
        self,
        destination: str,
        payload: dict[str, Any] | None = None,
        timeout: float | None = None,  # noqa: ASYNC109 - per-request deadline, not a wrapper
    ) -> Reply:
        """Send one frame and wait for the reply with its correlationId."""
        if not self.alive:
            raise self.done.result()
        correlation_id = str(next(self._ids))
        frame: dict[str, Any] = {
            "destination": destination,
            "correlationId": correlation_id,
            "cst": self.tokens.cst,
            "securityToken": self.tokens.security_token,
        }
        if payload is not None:
            frame["payload"] = payload
        future: asyncio.Future[Reply] = asyncio.get_running_loop().create_future()
        self._pending[correlation_id] = future
        try:
            try:
                await self.websocket.send(json.dumps(frame, separators=(",", ":")))
            except ConnectionClosed as exc:
                self.fail(
                    ConnectionLost(f"closed while sending ({exc.rcvd.code if exc.rcvd else '-'})")
                )
                raise self.done.result() from None
            try:
                return await asyncio.wait_for(future, timeout or self.request_timeout)
            except TimeoutError:
                self.fail(ConnectionLost(f"no answer to {destination} in time"))
                raise self.done.result() from None
        finally:
            # Always forgotten here, also when the caller is cancelled during the send: a future
            # left behind would be failed by ``fail`` later with nobody to read it.
            self._pending.pop(correlation_id, None)
            if future.done() and not future.cancelled():
                future.exception()  # failed by fail(): answered by the raise above

    async def run(self) -> None:
        """Read frames until the socket closes: events to ``dispatch``, replies to requests."""
        dispatch = self._dispatch
        pending = self._pending
        monotonic = time.monotonic
        quote, bar = Quote, OHLCBar
        try:
            async for text in self.websocket:
                self.last_frame = monotonic()
                self.frames += 1
                try:
                    item = parse_frame(text)
                except (ValueError, KeyError, TypeError, AttributeError):
                    logger.warning("ignoring a malformed stream frame (%d bytes)", len(text))
                    continue
                kind = type(item)
                if kind is quote or kind is bar:
                    dispatch(item)  # type: ignore[arg-type]
                    continue
                if item is None:
                    continue
                assert isinstance(item, Reply)
                future = pending.pop(item.correlation_id or "", None)
                if future is not None:
                    if not future.done():
                        future.set_result(item)
                elif not item.ok and item.error_code in SESSION_ERROR_CODES:
                    self.fail(SessionLost(item.error_code or "session"))
                elif not item.ok:
                    logger.warning("stream error frame: %s", item.error_code)
        except ConnectionClosed as exc:
            code = exc.rcvd.code if exc.rcvd else None
            self.fail(ConnectionLost(f"closed by the server (code {code})"))
        except Exception as exc:  # a bug in a consumer callback or the parser must not go silent
            logger.exception("stream reader failed")
            self.fail(ConnectionLost(f"reader failed: {type(exc).__name__}"))
        self.fail(ConnectionLost("closed"))

    async def keep_alive(
        self, ping_interval: float, stale_after: float, probe_timeout: float
    ) -> None:
        """Ping every ``ping_interval`` s; after ``stale_after`` s without a frame, probe with a
        ping and end the connection if it goes unanswered or the session is refused."""
        monotonic = time.monotonic
        while self.alive:
            now = monotonic()
            due = min(self.last_ping + ping_interval, self.last_frame + stale_after)
            if now < due:
                await asyncio.sleep(due - now)
                continue
            stale = now >= self.last_frame + stale_after
            self.last_ping = now
            try:
                reply = await self.request("ping", None, timeout=probe_timeout)
            except ConnectionLost:
                if stale:
                    logger.info(
                        "stream silent for %.1f s and the ping went unanswered", stale_after
                    )
                return
            if not reply.ok:
                if reply.error_code in SESSION_ERROR_CODES:
                    self.fail(SessionLost(reply.error_code or "session"))
                    return
                logger.warning("ping refused: %s", reply.error_code)

    async def close(self) -> None:
        self.fail(ConnectionLost("closed by the client"))
        try:
            await asyncio.wait_for(self.websocket.close(), 2.0)
        except Exception:  # closing a broken socket: nothing more to do
            logger.debug("closing the socket failed", exc_info=True)
