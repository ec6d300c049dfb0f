"""Resource namespaces: thin shells that hand declared calls and flows to a transport."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, TypeVar

from capitalcom_sdk._clock import utc

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


def _deal_flow(
    transport: SyncTransport | AsyncTransport,
    call: ApiCall[DealReference],
    confirm: bool,
    confirm_timeout: float | None,
) -> Flow[Confirm | DealReference]:
    """The flow of an order write: through the safety layer when the client has one."""
    from capitalcom_sdk.resources._trading import deal_flow

    timeout = _confirm_timeout(transport, confirm_timeout)
    registry = transport.core.deals
    clock = transport.core.clock

    def inner(checked: ApiCall[DealReference]) -> Flow[Confirm | DealReference]:
        return deal_flow(checked, confirm=confirm, timeout=timeout, registry=registry, clock=clock)

    guard = transport.core.guard
    if guard is not None:
        return guard.deal_flow(transport.core, call, confirm=confirm, timeout=timeout, inner=inner)
    return inner(call)


class SyncResource:
    """Base of the sync namespaces (``client.positions`` ...)."""

    def __init__(self, transport: SyncTransport) -> None:
        self._transport = transport

    def _now(self) -> datetime:
        """The client's time (``goodTillDate`` must be in its future: simulated in a backtest)."""
        return utc(self._transport.core.clock.time())

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
        return self._transport.run(_deal_flow(self._transport, call, confirm, confirm_timeout))


class AsyncResource:
    """Base of the async namespaces (``await client.positions...``)."""

    def __init__(self, transport: AsyncTransport) -> None:
        self._transport = transport

    def _now(self) -> datetime:
        """The client's time (``goodTillDate`` must be in its future: simulated in a backtest)."""
        return utc(self._transport.core.clock.time())

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
        return await self._transport.run(
            _deal_flow(self._transport, call, confirm, confirm_timeout)
        )
