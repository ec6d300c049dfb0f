"""``client.general``: server time and keep-alive ping."""

from __future__ import annotations

from capitalcom_sdk import _endpoints as ep
from capitalcom_sdk.models.general import ServerTime, StatusResponse
from capitalcom_sdk.resources._base import AsyncResource, SyncResource


class General(SyncResource):
    def server_time(self) -> ServerTime:
        """Server time (``GET /time``); needs no session."""
        return self._call(ep.SERVER_TIME.call())

    def ping(self) -> StatusResponse:
        """Keep the session alive (``GET /ping``); status ``OK``."""
        return self._call(ep.PING.call())


class AsyncGeneral(AsyncResource):
    async def server_time(self) -> ServerTime:
        """Server time (``GET /time``); needs no session."""
        return await self._call(ep.SERVER_TIME.call())

    async def ping(self) -> StatusResponse:
        """Keep the session alive (``GET /ping``); status ``OK``."""
        return await self._call(ep.PING.call())
