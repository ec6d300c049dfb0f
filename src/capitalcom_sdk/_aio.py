"""The AsyncClient's default wire: an ``httpx.AsyncBaseTransport`` that sends over aiohttp.

Why: httpx's own async stack (httpcore over anyio, pure-Python HTTP parsing) costs ~1.25x the
time per call of the sync ``httpx.Client`` on loopback and ~1.35x over TLS (bench/RESULTS.md);
aiohttp's C parser and connection pool bring the async client back to the sync floor. httpx stays
the client layer (request building, headers, decoding, proxies from the environment); only the
bytes on the wire go through aiohttp. ``AsyncClient(transport=httpx.AsyncHTTPTransport())`` goes
back to httpcore.

What this transport guarantees, because the call procedure's order safety depends on it:

* aiohttp errors become the httpx errors that say whether the request can have reached the
  server: ``ConnectError`` / ``ConnectTimeout`` only when no byte was written (connecting,
  waiting for a pooled connection, TLS handshake); everything later is a read/protocol error.
* aiohttp never repeats a request by itself (it would resend PUT and DELETE on a dropped
  keep-alive connection); repeating is the call procedure's decision alone.
* Redirects, cookies, decompression and proxies are left to httpx, as with httpcore.

Bodies are read whole before the response is handed back (API answers are small JSON documents).
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from typing import Any

import aiohttp
import httpx
from yarl import URL

__all__ = ["AiohttpTransport"]

# Headers aiohttp would add on its own; httpx has already set the ones it means to send.
_SKIP_AUTO_HEADERS = frozenset({"Accept", "Accept-Encoding", "Content-Type", "User-Agent"})


def _map_error(exc: BaseException, request: httpx.Request) -> httpx.TransportError:
    """The httpx error for an aiohttp failure; the order of the checks matters (subclasses)."""
    message = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    error: httpx.TransportError
    if isinstance(exc, aiohttp.ConnectionTimeoutError):  # pool wait or connect: nothing sent
        error = httpx.ConnectTimeout(message, request=request)
    elif isinstance(exc, aiohttp.ClientConnectorError):  # refused, DNS, TLS handshake
        error = httpx.ConnectError(message, request=request)
    elif isinstance(exc, TimeoutError):  # socket read timeout (or any later timeout)
        error = httpx.ReadTimeout(message, request=request)
    elif isinstance(exc, aiohttp.InvalidURL):
        error = httpx.UnsupportedProtocol(message, request=request)
    elif isinstance(exc, aiohttp.ClientOSError):  # reset or broken pipe while writing/reading
        error = httpx.ReadError(message, request=request)
    else:  # server disconnected, truncated body, unparsable answer
        error = httpx.RemoteProtocolError(message, request=request)
    return error


class AiohttpTransport(httpx.AsyncBaseTransport):
    """Send httpx requests with an aiohttp connection pool (HTTP/1.1, keep-alive).

    Args:
        limits: ``max_connections`` bounds the pool and ``keepalive_expiry`` closes idle
            connections, as in httpx (aiohttp has no separate keep-alive cap).
        ssl_context: certificate checking for https; default ``httpx.create_ssl_context()``
            (certifi, or ``SSL_CERT_FILE`` / ``SSL_CERT_DIR`` when set), as the sync client.
    """

    def __init__(
        self, limits: httpx.Limits | None = None, ssl_context: ssl.SSLContext | None = None
    ) -> None:
        self._limits = limits or httpx.Limits()
        self._ssl_context = ssl_context
        # One pool per event loop: a pool can't be shared across loops (two asyncio.run calls,
        # or loops in several threads).
        self._sessions: dict[asyncio.AbstractEventLoop, aiohttp.ClientSession] = {}
        self._timeouts: dict[tuple[Any, ...], aiohttp.ClientTimeout] = {}

    def __repr__(self) -> str:
        return f"{type(self).__name__}(max_connections={self._limits.max_connections})"

    def __del__(self) -> None:
        # Never closed (no aclose()): shut the sockets now, so that aiohttp does not report an
        # "Unclosed client session" when the pools are collected.
        for session in getattr(self, "_sessions", {}).values():
            _abandon(session)

    def _session_for(self, loop: asyncio.AbstractEventLoop) -> aiohttp.ClientSession:
        """The pool of this event loop, made on first use."""
        session = self._sessions.get(loop)
        if session is not None and not session.closed:
            return session
        for old in [owner for owner in self._sessions if owner.is_closed()]:
            _abandon(self._sessions.pop(old))  # its loop is gone: it can never be used again
        session = self._sessions[loop] = self._open()
        return session

    def _open(self) -> aiohttp.ClientSession:
        if self._ssl_context is None:
            self._ssl_context = httpx.create_ssl_context()
        limits = self._limits
        connector = aiohttp.TCPConnector(
            limit=limits.max_connections or 0,
            limit_per_host=0,
            keepalive_timeout=limits.keepalive_expiry
            if limits.keepalive_expiry is not None
            else 15.0,
            ssl=self._ssl_context,
        )
        session = aiohttp.ClientSession(
            connector=connector,
            cookie_jar=aiohttp.DummyCookieJar(),
            auto_decompress=False,
            trust_env=False,
            timeout=aiohttp.ClientTimeout(total=None),
        )
        # aiohttp resends idempotent methods (PUT and DELETE too) once when a kept-alive
        # connection drops; closing or amending a position must not be repeated behind the
        # call procedure's back. Checked by tests/sdk/core/test_aio_transport.py.
        session._retry_connection = False
        return session

    def _timeout(self, request: httpx.Request) -> aiohttp.ClientTimeout:
        spec = request.extensions.get("timeout") or {}
        key = (spec.get("connect"), spec.get("read"), spec.get("pool"))
        timeout = self._timeouts.get(key)
        if timeout is None:
            connect, read, pool = key
            timeout = aiohttp.ClientTimeout(
                total=None,
                # aiohttp's "connect" covers the wait for a pooled connection and connecting.
                connect=None if pool is None or connect is None else pool + connect,
                sock_connect=connect,
                sock_read=read,
            )
            self._timeouts[key] = timeout
        return timeout

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        session = self._session_for(asyncio.get_running_loop())
        body = await request.aread()
        try:
            async with session.request(
                request.method,
                URL(str(request.url), encoded=True),
                # From the raw bytes (httpx wrote them as ASCII or UTF-8; aiohttp writes UTF-8):
                # multi_items() would work the headers' encoding out again for every item.
                headers=[(k.decode(), v.decode()) for k, v in request.headers.raw],
                data=body or None,
                skip_auto_headers=_SKIP_AUTO_HEADERS,
                allow_redirects=False,
                timeout=self._timeout(request),
            ) as answer:
                content = await answer.read()
                status, raw_headers = answer.status, answer.raw_headers
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise _map_error(exc, request) from exc
        return httpx.Response(
            status,
            headers=list(raw_headers),
            content=content,
            extensions={"http_version": b"HTTP/1.1"},
        )

    async def aclose(self) -> None:
        loop = asyncio.get_running_loop()
        sessions, self._sessions = self._sessions, {}
        for owner, session in sessions.items():
            if owner is loop:
                await session.close()
            else:
                _abandon(session)


def _abandon(session: aiohttp.ClientSession) -> None:
    """Close a pool without awaiting anything on its loop, which may be closed or elsewhere."""
    if session.closed:
        return
    connector = session.connector
    session.detach()
    if connector is not None:
        # The synchronous half of close(): shuts the sockets (while their loop is open) and
        # schedules nothing on that loop, which may never run again.
        with contextlib.suppress(Exception):
            connector._close()
