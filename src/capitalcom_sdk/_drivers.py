"""The two drivers of the core's procedures: the only code that does I/O for a request.

:class:`SyncTransport` answers :class:`~capitalcom_sdk._flow.Send` with ``httpx.Client.send``,
the core clock's ``sleep`` for :class:`~capitalcom_sdk._flow.Sleep` and logs in under a thread lock;
:class:`AsyncTransport` does the same with ``httpx.AsyncClient`` (over aiohttp by default),
``asyncio.sleep`` and an ``asyncio.Lock``, and runs :class:`~capitalcom_sdk._flow.Start` as a
task. Neither decides anything: every decision is :class:`~capitalcom_sdk._transport._Core`'s.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any, TypeVar

import httpx

from capitalcom_sdk._endpoints import ApiCall
from capitalcom_sdk._flow import Flow, Join, Procedure, Send, Sleep, Start
from capitalcom_sdk._transport import _Core
from capitalcom_sdk.errors import CapitalError
from capitalcom_sdk.models.session import LoginResponse

if TYPE_CHECKING:
    from capitalcom_sdk._aio import AiohttpTransport

T = TypeVar("T")

__all__ = ["AsyncTransport", "SyncTransport"]


class SyncTransport:
    """Drives the core's procedures with an ``httpx.Client``, the core's clock and a thread lock."""

    def __init__(self, core: _Core, http: httpx.Client) -> None:
        self.core = core
        self.http = http
        self._login_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"SyncTransport({self.core!r})"

    def execute(self, call: ApiCall[T]) -> T:
        """Send one declared call (logging in, limiting, retrying as needed)."""
        return self._drive(self.core.procedure(call))

    def run(self, flow: Flow[T]) -> T:
        """Drive a flow to its result."""
        return self._drive(self.core.flow_procedure(flow))

    def login(self) -> LoginResponse:
        """Log in now (always a fresh session)."""
        with self._login_lock:
            return self._drive(self.core.login_procedure())

    def relogin(self, generation: int) -> None:
        """Log in again unless the tokens changed since ``generation`` (the one seen failing).

        Single flight, shared with the client's own re-logins: whoever comes second finds the
        generation changed and returns at once; if the login it waited for failed, it gets the
        same error. For the stream and other callers outside the request path.
        """
        gate = self.core.gate
        ticket = gate.ticket()
        with self._login_lock:
            if not gate.needed(generation, ticket):
                return
            try:
                self._drive(self.core.login_procedure())
            except CapitalError as exc:
                gate.finish(exc)
                raise
            gate.finish(None)

    def _drive(self, procedure: Procedure[T]) -> T:
        value: Any = None
        error: BaseException | None = None
        send = procedure.send
        while True:
            try:
                action = procedure.throw(error) if error is not None else send(value)
            except StopIteration as stop:
                return stop.value  # type: ignore[no-any-return]
            value, error = None, None
            kind = type(action)
            if kind is Send:
                try:
                    value = self.http.send(action.request)  # type: ignore[union-attr]
                except httpx.RequestError as exc:
                    error = exc
            elif kind is Sleep:
                self.core.clock.sleep(action.seconds)  # type: ignore[union-attr]
            elif kind is Start:
                value = action.procedure  # type: ignore[union-attr]  # run when joined
            elif kind is Join:
                try:
                    value = self._drive(action.handle)  # type: ignore[union-attr]
                except Exception as exc:
                    error = exc
            else:
                try:
                    self.relogin(action.generation)  # type: ignore[union-attr]
                except CapitalError as exc:
                    error = exc


class AsyncTransport:
    """Drives the core's procedures with an ``httpx.AsyncClient``, ``asyncio.sleep`` and an
    ``asyncio.Lock``."""

    def __init__(
        self, core: _Core, http: httpx.AsyncClient, direct: AiohttpTransport | None = None
    ) -> None:
        self.core = core
        self.http = http
        # ``direct``: the client's only transport (no mounts): requests go to its send(), which
        # skips httpx.AsyncClient.send's layers unless the client has hooks, auth or redirects.
        self._direct = direct
        import asyncio  # here, not at the top: a sync-only program never imports asyncio

        self._login_lock = asyncio.Lock()

    def __repr__(self) -> str:
        return f"AsyncTransport({self.core!r})"

    async def execute(self, call: ApiCall[T]) -> T:
        """Send one declared call (logging in, limiting, retrying as needed)."""
        return await self._drive(self.core.procedure(call))

    async def run(self, flow: Flow[T]) -> T:
        """Drive a flow to its result."""
        return await self._drive(self.core.flow_procedure(flow))

    async def login(self) -> LoginResponse:
        """Log in now (always a fresh session)."""
        async with self._login_lock:
            return await self._drive(self.core.login_procedure())

    async def relogin(self, generation: int) -> None:
        """Log in again unless the tokens changed since ``generation`` (the one seen failing).

        Single flight, shared with the client's own re-logins: whoever comes second finds the
        generation changed and returns at once; if the login it waited for failed, it gets the
        same error. For the stream and other callers outside the request path.
        """
        gate = self.core.gate
        ticket = gate.ticket()
        async with self._login_lock:
            if not gate.needed(generation, ticket):
                return
            try:
                await self._drive(self.core.login_procedure())
            except CapitalError as exc:
                gate.finish(exc)
                raise
            gate.finish(None)

    async def _drive(self, procedure: Procedure[T]) -> T:
        value: Any = None
        error: BaseException | None = None
        send = procedure.send
        import asyncio

        http = self.http
        direct = self._direct
        tasks: list[asyncio.Future[Any]] = []  # procedures started on the side (Prefetch)
        try:
            while True:
                try:
                    action = procedure.throw(error) if error is not None else send(value)
                except StopIteration as stop:
                    return stop.value  # type: ignore[no-any-return]
                value, error = None, None
                kind = type(action)
                if kind is Send:
                    request: httpx.Request = action.request  # type: ignore[union-attr]
                    try:
                        if direct is not None:
                            value = await direct.send(request, http)
                        else:
                            value = await http.send(request)
                    except httpx.RequestError as exc:
                        error = exc
                elif kind is Sleep:
                    await self.core.clock.asleep(action.seconds)  # type: ignore[union-attr]
                elif kind is Start:
                    value = asyncio.ensure_future(self._drive(action.procedure))  # type: ignore[union-attr]
                    tasks.append(value)
                elif kind is Join:
                    tasks.remove(action.handle)  # type: ignore[union-attr]
                    try:
                        value = await action.handle  # type: ignore[union-attr]
                    except Exception as exc:
                        error = exc
                else:
                    try:
                        await self.relogin(action.generation)  # type: ignore[union-attr]
                    except CapitalError as exc:
                        error = exc
        finally:
            if tasks:  # started, never joined: the flow failed or was cancelled
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
