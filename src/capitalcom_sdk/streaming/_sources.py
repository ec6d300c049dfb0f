"""The client's session as the stream needs it: tokens, streaming host, log in again."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from capitalcom_sdk._auth import TokenStore

if TYPE_CHECKING:
    from capitalcom_sdk._transport import AsyncTransport, SyncTransport


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
