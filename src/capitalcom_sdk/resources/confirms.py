"""``client.confirms``: the confirmation of a deal reference."""

from __future__ import annotations

from capitalcom_sdk.models.trading import Confirm
from capitalcom_sdk.resources import _trading as trading
from capitalcom_sdk.resources._base import AsyncResource, SyncResource


class Confirms(SyncResource):
    def get(self, deal_reference: str) -> Confirm:
        """The confirmation as it is now (one request; 404 while it does not exist yet)."""
        return self._call(trading.get_confirm(deal_reference))

    def wait(self, deal_reference: str, confirm_timeout: float | None = None) -> Confirm:
        """Poll until the confirmation exists; raises DealRejectedError when REJECTED."""
        flow = trading.confirm_flow(
            deal_reference,
            timeout=self._confirm_timeout(confirm_timeout),
            clock=self._transport.core.clock.monotonic,
        )
        return self._run(flow)


class AsyncConfirms(AsyncResource):
    async def get(self, deal_reference: str) -> Confirm:
        """The confirmation as it is now (one request; 404 while it does not exist yet)."""
        return await self._call(trading.get_confirm(deal_reference))

    async def wait(self, deal_reference: str, confirm_timeout: float | None = None) -> Confirm:
        """Poll until the confirmation exists; raises DealRejectedError when REJECTED."""
        flow = trading.confirm_flow(
            deal_reference,
            timeout=self._confirm_timeout(confirm_timeout),
            clock=self._transport.core.clock.monotonic,
        )
        return await self._run(flow)
