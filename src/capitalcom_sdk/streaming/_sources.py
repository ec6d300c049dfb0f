"""The client's session as the stream needs it: tokens, streaming host, log in again."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from capitalcom_sdk import _endpoints as ep
from capitalcom_sdk._auth import TokenStore
from capitalcom_sdk._pagination import price_history_flow

if TYPE_CHECKING:
    from capitalcom_sdk._transport import AsyncTransport, Flow, SyncTransport
    from capitalcom_sdk.models.prices import PriceBar, PriceHistory


def _bars_flow(epic: str, resolution: str, after_ms: int) -> Flow[PriceHistory]:
    """Closed bars starting after ``after_ms`` (paged), for filling a stream's gap."""
    start = datetime.fromtimestamp((after_ms + 1) / 1000, UTC)
    return price_history_flow(epic, resolution, start, drop_incomplete=True)


class AsyncTransportSession:
    """Session source over an :class:`AsyncTransport` (same event loop as the stream)."""

    def __init__(self, transport: AsyncTransport) -> None:
        self._transport = transport

    @property
    def tokens(self) -> TokenStore:
        return self._transport.core.tokens

    def streaming_host(self) -> str | None:
        response = self._transport.core.login_response
        return response.streaming_host if response is not None else None

    async def relogin(self, generation: int) -> None:
        await self._transport.relogin(generation)

    async def closed_bars(self, epic: str, resolution: str, after_ms: int) -> list[PriceBar]:
        history = await self._transport.run(_bars_flow(epic, resolution, after_ms))
        return list(history.prices)

    async def server_time_ms(self) -> int:
        return (await self._transport.execute(ep.SERVER_TIME.call())).server_time


class SyncTransportSession:
    """Session source over a :class:`SyncTransport`; logins run in a worker thread."""

    def __init__(self, transport: SyncTransport) -> None:
        self._transport = transport

    @property
    def tokens(self) -> TokenStore:
        return self._transport.core.tokens

    def streaming_host(self) -> str | None:
        response = self._transport.core.login_response
        return response.streaming_host if response is not None else None

    async def relogin(self, generation: int) -> None:
        await asyncio.to_thread(self._transport.relogin, generation)

    async def closed_bars(self, epic: str, resolution: str, after_ms: int) -> list[PriceBar]:
        flow = _bars_flow(epic, resolution, after_ms)
        history = await asyncio.to_thread(self._transport.run, flow)
        return list(history.prices)

    async def server_time_ms(self) -> int:
        time = await asyncio.to_thread(self._transport.execute, ep.SERVER_TIME.call())
        return time.server_time
