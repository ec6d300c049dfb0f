"""The platform layer in front of the routes: stats, faults, rate limits and the last-resort 500.

A plain ASGI wrapper (no BaseHTTPMiddleware: it costs too much per request). It only touches
real-API HTTP requests; the control plane (``/_sim/...``) and websockets pass straight through.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
from typing import Any

from starlette.requests import ClientDisconnect
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from capitalcom_sim.errors import ApiError
from capitalcom_sim.faults import MAX_HOLD_MS, Fault
from capitalcom_sim.http import COMMON_HEADERS
from capitalcom_sim.ratelimit import Caller, limits_for
from capitalcom_sim.state import SimState

logger = logging.getLogger(__name__)

API_PREFIX = "/api/v1"
MAX_BODY_BYTES = 8 * 1024 * 1024
UNMATCHED = "(unmatched)"
CLIENT_GONE = "client_disconnected"  # stats status of a request whose client left unanswered
TOO_LARGE = "error.request.too-large"
_KNOWN_METHODS = frozenset({"GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"})
_TEMPLATE_CACHE_SIZE = 4096
_SLASH_RUNS = re.compile(r"/{2,}")
_RAW_COMMON_HEADERS = [
    (name.lower().encode("latin-1"), value.encode("latin-1"))
    for name, value in COMMON_HEADERS.items()
]


class RouteTemplates:
    """Maps a request path to its route template (``/api/v1/positions/{dealId}``), cached."""

    def __init__(self, routes: list[BaseRoute]) -> None:
        self._routes = routes
        self._patterns: list[tuple[re.Pattern[str], str]] = []
        self._cache: dict[str, str] = {}
        self._seen = -1

    def lookup(self, path: str) -> str:
        if len(self._routes) != self._seen:
            self._seen = len(self._routes)
            self._cache.clear()
            self._patterns = []
            for route in self._routes:
                regex, template = getattr(route, "path_regex", None), getattr(route, "path", None)
                if isinstance(regex, re.Pattern) and isinstance(template, str):
                    self._patterns.append((regex, template))
        template = self._cache.get(path)
        if template is None:
            template = next((t for regex, t in self._patterns if regex.match(path)), UNMATCHED)
            if len(self._cache) >= _TEMPLATE_CACHE_SIZE:
                self._cache.clear()
            self._cache[path] = template
        return template


async def send_json(send: Send, status: int, payload: Any) -> None:
    """Answer with a JSON body and the real servers' common headers."""
    body = json.dumps(payload, separators=(",", ":")).encode("utf-8")
    headers = [
        *_RAW_COMMON_HEADERS,
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode("ascii")),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body, "more_body": False})


async def drop_connection(send: Send) -> None:
    """Close the client's TCP connection without answering.

    Uses the transport behind uvicorn's ``send`` (its request cycle object); waits until uvicorn
    has seen the connection go, so it neither logs nor tries to send a 500.
    """
    cycle = getattr(send, "__self__", None)
    transport = getattr(cycle, "transport", None)
    if transport is None:
        raise RuntimeError("cannot drop the connection: server transport not reachable")
    transport.close()
    for _ in range(100):
        if getattr(cycle, "disconnected", True):
            return
        await asyncio.sleep(0)


def _caller(state: SimState, scope: Scope) -> Caller:
    cst = api_key = None
    for name, value in scope["headers"]:
        if name == b"cst":
            cst = value.decode("latin-1")
        elif name == b"x-cap-api-key":
            api_key = value.decode("latin-1")
    session = state.sessions.peek(cst)
    if session is not None:
        return Caller(session.user.client_id, session.user.api_key, session.account_id)
    user = state.user_by_api_key(api_key) if api_key else None
    return Caller(user.client_id if user else None, api_key, None)


class PlatformMiddleware:
    """Counts, injects faults, enforces rate limits and turns stray exceptions into JSON 500s."""

    def __init__(self, app: ASGIApp, state: SimState, routes: list[BaseRoute]) -> None:
        self.app = app
        self.state = state
        self.templates = RouteTemplates(routes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        if "//" in path and self.state.config.double_slash_paths == "serve":
            # SimConfig.double_slash_paths="serve": //api/v1/ping is /api/v1/ping. By default
            # such paths match no route (404 error.not-found.route), see docs/simulator.md.
            path = _SLASH_RUNS.sub("/", path)
            scope = dict(scope, path=path, raw_path=path.encode("latin-1", "replace"))
        if not path.startswith(API_PREFIX):
            await self._guarded(scope, receive, send)
            return
        if len(path) > 1 and path.endswith("/"):
            # The real API accepts a trailing slash (/clientsentiment/?marketIds=...).
            path = path.rstrip("/") or "/"
            raw_path = scope.get("raw_path")
            if isinstance(raw_path, bytes):
                raw_path = raw_path.rstrip(b"/") or b"/"
            scope = dict(scope, path=path, raw_path=raw_path)
        method: str = scope["method"]
        state = self.state
        try:
            counted = method if method in _KNOWN_METHODS else "OTHER"  # bounded stats keys
            state.stats.request(f"{counted} {self.templates.lookup(path)}")
            fault = state.faults.take(method, path)
            exhausted = None
            if state.config.rate_limits and (fault is None or fault.kind == "latency"):
                caller = _caller(state, scope)
                exhausted = state.limiter.admit(limits_for(method, path, caller, state.config.demo))
        except Exception:
            logger.exception("simulator bug before routing %s %s", method, path)
            await send_json(send, 500, {"errorCode": "error.internal"})
            return

        if fault is not None and await self._apply_fault(fault, exhausted, scope, receive, send):
            return
        if exhausted is not None:
            state.stats.rejected(exhausted)
            state.stats.status(429)
            await send_json(send, 429, {"errorCode": "error.too-many.requests"})
            return

        await self._guarded(scope, receive, self._counting(send))

    def _counting(self, send: Send) -> Send:
        stats = self.state.stats

        async def counting_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                stats.status(message["status"])
            await send(message)

        return counting_send

    async def _guarded(self, scope: Scope, receive: Receive, send: Send) -> None:
        for name, value in scope["headers"]:
            if name == b"content-length" and value.isdigit() and int(value) > MAX_BODY_BYTES:
                await send_json(send, 413, {"errorCode": TOO_LARGE})
                return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > MAX_BODY_BYTES:
                raise ApiError(413, TOO_LARGE)
            return message

        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except ClientDisconnect:
            # The client left before its body arrived: nothing to answer, nobody to answer to.
            logger.debug("client left during %s %s", scope["method"], scope["path"])
            self.state.stats.status(CLIENT_GONE)
        except Exception:
            logger.exception("simulator bug while serving %s %s", scope["method"], scope["path"])
            if not started:
                await send_json(send, 500, {"errorCode": "error.internal"})

    async def _apply_fault(
        self, fault: Fault, exhausted: str | None, scope: Scope, receive: Receive, send: Send
    ) -> bool:
        """Act on a fault; True when the request is finished (answered or dropped)."""
        stats = self.state.stats
        kind = fault.kind
        if kind == "status":
            stats.status(fault.status)
            await send_json(send, fault.status, {"errorCode": fault.error_code})
            return True
        if kind == "answer":
            await self._answer(fault, scope, receive, send)
            return True
        if kind == "drop":
            stats.status("dropped")
            await drop_connection(send)
            return True
        # The rest hold the request: read its body first, then watch for the client leaving.
        held = await _Held.start(receive)
        try:
            if kind == "latency":
                await asyncio.sleep(fault.latency_ms / 1000)
                answer = held.answer(send, stats)
                if exhausted is not None:
                    stats.rejected(exhausted)
                    await send_json(answer, 429, {"errorCode": "error.too-many.requests"})
                else:
                    # Served even if the client left meanwhile: the server had the request.
                    await self._guarded(scope, held.receive, answer)
                return True
            if kind == "apply_then_drop":
                await self._guarded(scope, held.receive, _swallow)
            elif kind in ("timeout", "apply_late"):
                hold = (fault.latency_ms or MAX_HOLD_MS) / 1000
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(held.gone.wait(), timeout=hold)
                if kind == "apply_late":
                    # Applied after the client gave up (a slow proxy, a server queue).
                    await asyncio.sleep(fault.apply_delay_ms / 1000)
                    await self._guarded(scope, held.receive, _swallow)
            if held.gone.is_set():
                stats.status(CLIENT_GONE)
            else:
                stats.status("dropped")
                await drop_connection(send)
            return True
        finally:
            held.stop()

    async def _answer(self, fault: Fault, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer with a response that is not the API's own, after applying when asked."""
        body = fault.body.encode()
        if fault.apply:
            captured: list[bytes] = []

            async def capture(message: Message) -> None:
                if message["type"] == "http.response.body":
                    captured.append(message.get("body", b""))

            await self._guarded(scope, receive, capture)
            if fault.truncate:
                real = b"".join(captured)
                body = real[: len(real) // 2]
        headers = [
            *_RAW_COMMON_HEADERS,
            *((k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in fault.headers.items()),
        ]
        if fault.status not in (204, 304):
            headers.append((b"content-type", fault.content_type.encode("latin-1")))
            headers.append((b"content-length", str(len(body)).encode("ascii")))
        self.state.stats.status(fault.status)
        await send({"type": "http.response.start", "status": fault.status, "headers": headers})
        await send({"type": "http.response.body", "body": body, "more_body": False})


async def _swallow(message: Message) -> None:
    return None


class _Held:
    """A request held by a fault: its body read up front (so the handler can still run after
    the client left), and a watcher that notices the client leaving."""

    def __init__(self, body: bytes, receive: Receive) -> None:
        self._body: bytes | None = body
        self.gone = asyncio.Event()
        self._watcher = asyncio.ensure_future(self._watch(receive))

    @classmethod
    async def start(cls, receive: Receive) -> _Held:
        chunks: list[bytes] = []
        gone = False
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                gone = True
                break
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        held = cls(b"".join(chunks), receive)
        if gone:
            held.gone.set()
        return held

    async def _watch(self, receive: Receive) -> None:
        if self.gone.is_set():
            return
        while (await receive())["type"] != "http.disconnect":
            pass
        self.gone.set()

    async def receive(self) -> Message:
        """The buffered body once, then (like a server) wait until the client leaves."""
        if self._body is not None:
            body, self._body = self._body, None
            return {"type": "http.request", "body": body, "more_body": False}
        await self.gone.wait()
        return {"type": "http.disconnect"}

    def answer(self, send: Send, stats: Any) -> Send:
        """A send that delivers (and counts) the answer, or counts the client as gone."""

        async def answering(message: Message) -> None:
            if self.gone.is_set():
                if message["type"] == "http.response.start":
                    stats.status(CLIENT_GONE)
                return
            if message["type"] == "http.response.start":
                stats.status(message["status"])
            await send(message)

        return answering

    def stop(self) -> None:
        self._watcher.cancel()
