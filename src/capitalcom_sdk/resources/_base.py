"""Resource namespaces: thin shells that hand declared calls and flows to a transport."""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:  # the trading flow and its models load with the first trading call
    from capitalcom_sdk._drivers import AsyncTransport, SyncTransport
    from capitalcom_sdk._endpoints import ApiCall
    from capitalcom_sdk._flow import Flow
    from capitalcom_sdk.models.general import DealReference
    from capitalcom_sdk.models.trading import Confirm

T = TypeVar("T")


def _confirm_timeout(transport: SyncTransport | AsyncTransport, override: float | None) -> float:
    if override is not None:
        return override
    return transport.core.confirm_timeout


class SyncResource:
    """Base of the sync namespaces (``client.positions`` ...)."""

    def __init__(self, transport: SyncTransport) -> None:
        self._transport = transport

    def _call(self, call: ApiCall[T]) -> T:
        return self._transport.execute(call)

    def _run(self, flow: Flow[T]) -> T:
        return self._transport.run(flow)

    def _confirm_timeout(self, override: float | None) -> float:
        return _confirm_timeout(self._transport, override)

    def _deal(
        self, call: ApiCall[DealReference], confirm: bool, confirm_timeout: float | None
    ) -> Confirm | DealReference:
        """Send a trading write and, when ``confirm``, wait for its confirmation."""
        from capitalcom_sdk.resources._trading import deal_flow

        flow = deal_flow(
            call,
            confirm=confirm,
            timeout=self._confirm_timeout(confirm_timeout),
            registry=self._transport.core.deals,
        )
        return self._transport.run(flow)


class AsyncResource:
    """Base of the async namespaces (``await client.positions...``)."""

    def __init__(self, transport: AsyncTransport) -> None:
        self._transport = transport

    async def _call(self, call: ApiCall[T]) -> T:
        return await self._transport.execute(call)

    async def _run(self, flow: Flow[T]) -> T:
        return await self._transport.run(flow)

    def _confirm_timeout(self, override: float | None) -> float:
        return _confirm_timeout(self._transport, override)

    async def _deal(
        self, call: ApiCall[DealReference], confirm: bool, confirm_timeout: float | None
    ) -> Confirm | DealReference:
        """Send a trading write and, when ``confirm``, wait for its confirmation."""
        from capitalcom_sdk.resources._trading import deal_flow

        flow = deal_flow(
            call,
            confirm=confirm,
            timeout=self._confirm_timeout(confirm_timeout),
            registry=self._transport.core.deals,
        )
        return await self._transport.run(flow)
