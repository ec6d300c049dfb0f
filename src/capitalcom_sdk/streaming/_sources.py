"""The client's session as the stream needs it: tokens, streaming host, re-login, REST reads.

:class:`SessionSource` declares everything the stream uses of the client; :class:`TransportSession`
implements it over a transport (the async one on the stream's own event loop, the sync one in a
worker thread). Re-logging in is the transport's decision (``relogin(generation)``, single flight
shared with the client's requests); the stream only asks.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Protocol, TypeVar

from capitalcom_sdk import _endpoints as ep
from capitalcom_sdk._pagination import price_history_flow

if TYPE_CHECKING:
    from capitalcom_sdk._auth import TokenStore
    from capitalcom_sdk._clock import Clock
    from capitalcom_sdk._drivers import AsyncTransport, SyncTransport
    from capitalcom_sdk._flow import Flow
    from capitalcom_sdk.models.general import ServerTime
    from capitalcom_sdk.models.prices import PriceBar, PriceHistory
    from capitalcom_sdk.models.session import LoginResponse

T = TypeVar("T")


class TokenSource(Protocol):
    """What the stream needs from the client's token store."""

    cst: str | None
    security_token: str | None
    generation: int

    @property
    def present(self) -> bool: ...


class SessionSource(Protocol):
    """The client's session as the stream sees it."""

    @property
    def tokens(self) -> TokenSource: ...

    def streaming_host(self) -> str | None:
        """``streamingHost`` of the login response (None before a login)."""

    async def relogin(self, generation: int) -> None:
        """Log in again unless the tokens changed since ``generation`` (the client's single
        flight: callers that come second wait for the same login)."""

    async def closed_bars(self, epic: str, resolution: str, after_ms: int) -> list[PriceBar]:
        """The closed (classic) bars of ``epic`` starting after ``after_ms``, oldest first."""

    async def server_time_ms(self) -> int:
        """The server's clock (``GET /time``), epoch ms."""


class _Core(Protocol):
    """The part of a transport's core the stream reads."""

    @property
    def tokens(self) -> TokenStore: ...

    @property
    def login_response(self) -> LoginResponse | None: ...

    @property
    def clock(self) -> Clock: ...


class _Runner(Protocol):
    def __call__(self, flow: Flow[T], /) -> Awaitable[T]: ...


def _bars_flow(epic: str, resolution: str, after_ms: int) -> Flow[PriceHistory]:
    """Closed bars starting after ``after_ms`` (paged), for filling a stream's gap."""
    start = datetime.fromtimestamp((after_ms + 1) / 1000, UTC)
    return price_history_flow(epic, resolution, start, drop_incomplete=True)


def _server_time_flow() -> Flow[int]:
    server: ServerTime = yield ep.SERVER_TIME.call()
    return server.server_time


class TransportSession:
    """A :class:`SessionSource` over a client's core and a way to run its flows.

    ``clock`` is the client's (the stream follows it: in lock-step on a frozen simulator clock).
    """

    def __init__(
        self, core: _Core, run: _Runner, relogin: Callable[[int], Awaitable[None]]
    ) -> None:
        self._core = core
        self._run = run
        self._relogin = relogin
        self.clock: Clock = core.clock

    @property
    def tokens(self) -> TokenStore:
        return self._core.tokens

    def streaming_host(self) -> str | None:
        response = self._core.login_response
        return response.streaming_host if response is not None else None

    async def relogin(self, generation: int) -> None:
        await self._relogin(generation)

    async def closed_bars(self, epic: str, resolution: str, after_ms: int) -> list[PriceBar]:
        history = await self._run(_bars_flow(epic, resolution, after_ms))
        return list(history.prices)

    async def server_time_ms(self) -> int:
        return await self._run(_server_time_flow())


class AsyncTransportSession(TransportSession):
    """Over an :class:`AsyncTransport` (the same event loop as the stream)."""

    def __init__(self, transport: AsyncTransport) -> None:
        super().__init__(transport.core, transport.run, transport.relogin)


class SyncTransportSession(TransportSession):
    """Over a :class:`SyncTransport`: its calls (logins included) run in a worker thread."""

    def __init__(self, transport: SyncTransport) -> None:
        async def run(flow: Flow[T]) -> T:
            return await asyncio.to_thread(transport.run, flow)

        async def relogin(generation: int) -> None:
            await asyncio.to_thread(transport.relogin, generation)

        super().__init__(transport.core, run, relogin)
