"""Resource namespaces: thin shells that hand declared calls and flows to a transport."""

from __future__ import annotations

from typing import TypeVar

from capitalcom_sdk._endpoints import ApiCall
from capitalcom_sdk._transport import AsyncTransport, Flow, SyncTransport

T = TypeVar("T")


class SyncResource:
    """Base of the sync namespaces (``client.positions`` ...)."""

    def __init__(self, transport: SyncTransport) -> None:
        self._transport = transport

    def _call(self, call: ApiCall[T]) -> T:
        return self._transport.execute(call)

    def _run(self, flow: Flow[T]) -> T:
        return self._transport.run(flow)


class AsyncResource:
    """Base of the async namespaces (``await client.positions...``)."""

    def __init__(self, transport: AsyncTransport) -> None:
        self._transport = transport

    async def _call(self, call: ApiCall[T]) -> T:
        return await self._transport.execute(call)

    async def _run(self, flow: Flow[T]) -> T:
        return await self._transport.run(flow)
