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
* aiohttp never repeats a request by itself (it would resend GET, PUT and DELETE once on a
  dropped keep-alive connection); repeating is the call procedure's decision alone. This rests
  on aiohttp's public client-middleware API (:func:`_one_attempt`): a second attempt of one
  request is refused before it connects, and the failures that make aiohttp retry are taken
  out of its hands. ``tests/sdk/test_aio_transport.py`` fails if a write is ever resent.
* Redirects, cookies and decompression are left to httpx, as with httpcore. Proxies come from
  :mod:`capitalcom_sdk._network` (the same map as the sync client's): a transport made with
  ``proxy=`` sends everything through that http(s) proxy (CONNECT tunnels for https targets).

Only public aiohttp API is used (``ClientSession``, ``TCPConnector``, ``ClientTimeout``,
client middlewares, the exception classes).

Bodies are read whole before the response is handed back (API answers are small JSON documents).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import contextvars
import logging
import ssl
from typing import Any

import aiohttp
import httpx
from yarl import URL

__all__ = ["AiohttpTransport"]

_HTTPX_LOG = logging.getLogger("httpx")  # the logger httpx.AsyncClient.send logs its line to
_HTTP11: dict[str, Any] = {"http_version": b"HTTP/1.1"}

# Headers aiohttp would add on its own; httpx has already set the ones it means to send.
_SKIP_AUTO_HEADERS = frozenset({"Accept", "Accept-Encoding", "Content-Type", "User-Agent"})


class _Attempts:
    """How many times aiohttp started sending the request of one ``handle_async_request``."""

    __slots__ = ("count",)

    def __init__(self) -> None:
        self.count = 0


_ATTEMPTS: contextvars.ContextVar[_Attempts | None] = contextvars.ContextVar(
    "capitalcom_sdk_aio_attempts", default=None
)


class _NotRepeated(Exception):
    """Raised inside aiohttp instead of letting it repeat a request; ``cause`` is the failure
    of the attempt that went out (None: a second attempt was refused before it connected)."""

    def __init__(self, cause: BaseException | None) -> None:
        super().__init__(type(cause).__name__ if cause is not None else "resend refused")
        self.cause = cause


async def _one_attempt(
    request: aiohttp.ClientRequest, handler: aiohttp.ClientHandlerType
) -> aiohttp.ClientResponse:
    """Client middleware (runs around every attempt: connect, send, read the head).

    aiohttp repeats an idempotent method once when the connection fails with ClientOSError or
    ServerDisconnectedError after it was written: those failures leave here as
    :class:`_NotRepeated`, which aiohttp does not retry. Should a later aiohttp retry on other
    failures too, the second attempt of the same request is refused before it connects.
    """
    attempts = _ATTEMPTS.get()
    if attempts is not None:
        attempts.count += 1
        if attempts.count > 1:
            raise _NotRepeated(None)
    try:
        return await handler(request)
    except aiohttp.ClientConnectorError:
        raise  # nothing was sent; aiohttp does not retry these
    except (aiohttp.ClientOSError, aiohttp.ServerDisconnectedError) as exc:
        raise _NotRepeated(exc) from exc


def _map_error(exc: BaseException, request: httpx.Request) -> httpx.TransportError:
    """The httpx error for an aiohttp failure; the order of the checks matters (subclasses)."""
    if isinstance(exc, _NotRepeated):
        if exc.cause is None:  # an attempt went out and failed; aiohttp tried another
            return httpx.RemoteProtocolError("connection lost after sending", request=request)
        exc = exc.cause
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
        ssl_context: certificate checking for https (also through a proxy tunnel); default
            ``httpx.create_ssl_context()`` (certifi, or ``SSL_CERT_FILE`` / ``SSL_CERT_DIR``
            when set), as the sync client.
        proxy: send every request through this ``http://`` or ``https://`` proxy (user and
            password in the URL become ``Proxy-Authorization``).
    """

    def __init__(
        self,
        limits: httpx.Limits | None = None,
        ssl_context: ssl.SSLContext | None = None,
        *,
        proxy: str | None = None,
    ) -> None:
        self._limits = limits or httpx.Limits()
        self._ssl_context = ssl_context
        self._proxy: URL | None = None
        self._proxy_headers: dict[str, str] | None = None
        if proxy is not None:
            url = URL(proxy)
            if url.scheme not in ("http", "https"):
                raise ValueError(
                    f"AiohttpTransport proxies http:// or https:// only, not {url.scheme}"
                )
            if url.user is not None:
                pair = f"{url.user}:{url.password or ''}".encode()
                self._proxy_headers = {
                    "Proxy-Authorization": "Basic " + base64.b64encode(pair).decode("ascii")
                }
            self._proxy = url.with_user(None)
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
            # aiohttp resends idempotent methods (PUT and DELETE too) once when a kept-alive
            # connection drops; closing or amending a position must not be repeated behind the
            # call procedure's back. Checked by tests/sdk/test_aio_transport.py.
            middlewares=(_one_attempt,),
        )
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
        status, raw_headers, content, _ = await self._exchange(request)
        return _response(status, raw_headers, content)

    async def send(self, request: httpx.Request, client: httpx.AsyncClient) -> httpx.Response:
        """What ``client.send(request)`` does for a client whose only transport this is.

        For :class:`~capitalcom_sdk._drivers.AsyncTransport` when this is ``client``'s only
        transport (no mounts: the AsyncClient's own ``httpx.AsyncClient`` without proxies):
        the answer comes back bound to its request, a ``Set-Cookie`` goes into the client's
        cookie jar, and httpx's INFO line is logged, as ``client.send`` does. It skips the
        layers that do nothing there (auth and redirect loops, stream wrapping, and httpx's
        cookie extraction on answers that set none): ~60-80 us of CPU a call. Should the
        client have auth, event hooks or redirects on, the request goes through
        ``client.send`` as it is.
        """
        hooks = client.event_hooks
        if hooks["request"] or hooks["response"] or client.auth or client.follow_redirects:
            return await client.send(request)
        if client.is_closed:
            raise RuntimeError("Cannot send a request, as the client has been closed.")
        status, raw_headers, content, sets_cookie = await self._exchange(request)
        response = _response(status, raw_headers, content)
        response.request = request
        if sets_cookie:
            client.cookies.extract_cookies(response)
        if _HTTPX_LOG.isEnabledFor(logging.INFO):
            _HTTPX_LOG.info(
                'HTTP Request: %s %s "%s %d %s"',
                request.method,
                request.url,
                response.http_version,
                status,
                response.reason_phrase,
            )
        return response

    async def _exchange(
        self, request: httpx.Request
    ) -> tuple[int, tuple[tuple[bytes, bytes], ...], bytes, bool]:
        """Send the request; its answer's status, raw headers, body and whether it sets a
        cookie."""
        session = self._session_for(asyncio.get_running_loop())
        body = await request.aread()
        # From the raw bytes (httpx wrote them as ASCII or UTF-8; aiohttp writes UTF-8):
        # multi_items() would work the headers' encoding out again for every item.
        headers = [(k.decode(), v.decode()) for k, v in request.headers.raw]
        proxy_headers = self._proxy_headers
        if proxy_headers is not None and request.url.scheme == "http":
            # A plain request goes to the proxy itself: it carries the proxy's credentials.
            # (For https they go on the CONNECT request, as proxy_headers.)
            headers += proxy_headers.items()
            proxy_headers = None
        attempts = _ATTEMPTS.set(_Attempts())
        try:
            async with session.request(
                request.method,
                URL(str(request.url), encoded=True),
                headers=headers,
                data=body or None,
                skip_auto_headers=_SKIP_AUTO_HEADERS,
                allow_redirects=False,
                timeout=self._timeout(request),
                proxy=self._proxy,
                proxy_headers=proxy_headers,
            ) as answer:
                content = await answer.read()
                status, raw_headers = answer.status, answer.raw_headers
                sets_cookie = "Set-Cookie" in answer.headers
        except (TimeoutError, aiohttp.ClientError, _NotRepeated) as exc:
            raise _map_error(exc, request) from exc
        finally:
            _ATTEMPTS.reset(attempts)
        return status, raw_headers, content, sets_cookie

    async def aclose(self) -> None:
        loop = asyncio.get_running_loop()
        sessions, self._sessions = self._sessions, {}
        for owner, session in sessions.items():
            if owner is loop:
                await session.close()
            else:
                _abandon(session)


def _response(
    status: int, raw_headers: tuple[tuple[bytes, bytes], ...], content: bytes
) -> httpx.Response:
    return httpx.Response(status, headers=list(raw_headers), content=content, extensions=_HTTP11)


def _abandon(session: aiohttp.ClientSession) -> None:
    """Close a pool without an event loop to await on: its own may be closed or elsewhere.

    Runs the public ``ClientSession.close()`` up to its first real wait: that part is
    synchronous and shuts the sockets (while their loop is open; on a closed loop it only marks
    the pool closed). Whatever it would still wait for is not waited for.
    """
    if session.closed:
        return
    closing = session.close()
    with contextlib.suppress(Exception):
        try:
            closing.send(None)
        except StopIteration:
            return
    closing.close()
