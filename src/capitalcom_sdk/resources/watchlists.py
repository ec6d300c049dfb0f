"""``client.watchlists``: list, create, read, edit and delete watchlists."""

from __future__ import annotations

from collections.abc import Iterable

from capitalcom_sdk import _endpoints as ep
from capitalcom_sdk import _validation as check
from capitalcom_sdk._endpoints import ApiCall
from capitalcom_sdk.models import watchlists as models
from capitalcom_sdk.models.general import StatusResponse
from capitalcom_sdk.models.requests import AddToWatchlistRequest, CreateWatchlistRequest
from capitalcom_sdk.models.watchlists import WatchlistCreated, WatchlistMarkets
from capitalcom_sdk.resources._base import AsyncResource, SyncResource


def _watchlist(watchlist_id: str) -> dict[str, str]:
    return {"watchlistId": check.identifier(watchlist_id, "watchlistId")}


def create_call(name: str, epics: Iterable[str]) -> ApiCall[WatchlistCreated]:
    """``POST /watchlists`` after validation (name 1..20 characters, at most 50 epics)."""
    checked = check.watchlist_name(name)
    listed = list(epics) if not isinstance(epics, str) else [epics]
    chosen = check.epic_list(listed, maximum=check.MAX_LIST_EPICS) if listed else None
    body = CreateWatchlistRequest(name=checked, epics=chosen)
    return ep.CREATE_WATCHLIST.call(body=body)


def get_call(watchlist_id: str) -> ApiCall[WatchlistMarkets]:
    """``GET /watchlists/{watchlistId}``."""
    return ep.WATCHLIST.call(_watchlist(watchlist_id))


def add_market_call(watchlist_id: str, epic: str) -> ApiCall[StatusResponse]:
    """``PUT /watchlists/{watchlistId}`` with the epic."""
    body = AddToWatchlistRequest(epic=check.epic(epic))
    return ep.ADD_TO_WATCHLIST.call(_watchlist(watchlist_id), body=body)


def remove_market_call(watchlist_id: str, epic: str) -> ApiCall[StatusResponse]:
    """``DELETE /watchlists/{watchlistId}/{epic}``."""
    return ep.REMOVE_FROM_WATCHLIST.call({**_watchlist(watchlist_id), "epic": check.epic(epic)})


def delete_call(watchlist_id: str) -> ApiCall[StatusResponse]:
    """``DELETE /watchlists/{watchlistId}``."""
    return ep.DELETE_WATCHLIST.call(_watchlist(watchlist_id))


class Watchlists(SyncResource):
    def list(self) -> models.Watchlists:
        """All watchlists."""
        return self._call(ep.WATCHLISTS.call())

    def get(self, watchlist_id: str) -> WatchlistMarkets:
        """The markets of one watchlist."""
        return self._call(get_call(watchlist_id))

    def create(self, name: str, epics: Iterable[str] = ()) -> WatchlistCreated:
        """Create a watchlist; ``status`` says whether every epic could be added."""
        return self._call(create_call(name, epics))

    def add_market(self, watchlist_id: str, epic: str) -> StatusResponse:
        """Add a market to a watchlist."""
        return self._call(add_market_call(watchlist_id, epic))

    def remove_market(self, watchlist_id: str, epic: str) -> StatusResponse:
        """Remove a market from a watchlist."""
        return self._call(remove_market_call(watchlist_id, epic))

    def delete(self, watchlist_id: str) -> StatusResponse:
        """Delete a watchlist."""
        return self._call(delete_call(watchlist_id))


class AsyncWatchlists(AsyncResource):
    async def list(self) -> models.Watchlists:
        """All watchlists."""
        return await self._call(ep.WATCHLISTS.call())

    async def get(self, watchlist_id: str) -> WatchlistMarkets:
        """The markets of one watchlist."""
        return await self._call(get_call(watchlist_id))

    async def create(self, name: str, epics: Iterable[str] = ()) -> WatchlistCreated:
        """Create a watchlist; ``status`` says whether every epic could be added."""
        return await self._call(create_call(name, epics))

    async def add_market(self, watchlist_id: str, epic: str) -> StatusResponse:
        """Add a market to a watchlist."""
        return await self._call(add_market_call(watchlist_id, epic))

    async def remove_market(self, watchlist_id: str, epic: str) -> StatusResponse:
        """Remove a market from a watchlist."""
        return await self._call(remove_market_call(watchlist_id, epic))

    async def delete(self, watchlist_id: str) -> StatusResponse:
        """Delete a watchlist."""
        return await self._call(delete_call(watchlist_id))
