"""``client.markets``: navigation tree, search / details by epics, one market's details."""

from __future__ import annotations

from collections.abc import Iterable

from capitalcom_sdk import _endpoints as ep
from capitalcom_sdk import _validation as check
from capitalcom_sdk._endpoints import ApiCall
from capitalcom_sdk.errors import RequestValidationError
from capitalcom_sdk.models import markets as models
from capitalcom_sdk.models.markets import MarketDetails, MarketNavigation
from capitalcom_sdk.resources._base import AsyncResource, SyncResource


def navigation_call(node_id: str | None, limit: int | None) -> ApiCall[MarketNavigation]:
    """Top-level nodes (no ``node_id``) or a node's children and markets."""
    if node_id is None:
        if limit is not None:
            raise RequestValidationError("limit", "only applies together with node_id")
        return ep.NAVIGATION.call()
    low, high = check.NAVIGATION_LIMIT
    return ep.NAVIGATION_NODE.call(
        {"nodeId": check.identifier(node_id, "nodeId")},
        params={"limit": None if limit is None else check.bounded_int(limit, "limit", low, high)},
    )


def search_call(
    search_term: str | None, epics: Iterable[str] | str | None
) -> ApiCall[models.Markets]:
    """``GET /markets``: every market, a name search, or details of up to 50 epics."""
    if search_term is not None and epics is not None:
        raise RequestValidationError("epics", "give search_term or epics, not both")
    if search_term is not None:
        return ep.MARKETS.call(params={"searchTerm": check.identifier(search_term, "searchTerm")})
    if epics is not None:
        listed = check.epic_list(epics, maximum=check.MAX_SEARCH_EPICS)
        return ep.MARKETS.call(params={"epics": ",".join(listed)})
    return ep.MARKETS.call()


def market_call(epic: str) -> ApiCall[MarketDetails]:
    """``GET /markets/{epic}``."""
    return ep.MARKET.call({"epic": check.epic(epic)})


class Markets(SyncResource):
    def navigation(self, node_id: str | None = None, limit: int | None = None) -> MarketNavigation:
        """The navigation tree: top-level nodes, or the sub-nodes/markets of ``node_id``
        (``limit`` 1..500 markets)."""
        return self._call(navigation_call(node_id, limit))

    def search(
        self, search_term: str | None = None, epics: Iterable[str] | str | None = None
    ) -> models.Markets:
        """All markets (no argument), a name search (``.markets``) or the details of up to 50
        epics (``.market_details``)."""
        return self._call(search_call(search_term, epics))

    def get(self, epic: str) -> MarketDetails:
        """Instrument, dealing rules and price snapshot of one market."""
        return self._call(market_call(epic))


class AsyncMarkets(AsyncResource):
    async def navigation(
        self, node_id: str | None = None, limit: int | None = None
    ) -> MarketNavigation:
        """The navigation tree (see :meth:`Markets.navigation`)."""
        return await self._call(navigation_call(node_id, limit))

    async def search(
        self, search_term: str | None = None, epics: Iterable[str] | str | None = None
    ) -> models.Markets:
        """All markets, a name search or the details of up to 50 epics."""
        return await self._call(search_call(search_term, epics))

    async def get(self, epic: str) -> MarketDetails:
        """Instrument, dealing rules and price snapshot of one market."""
        return await self._call(market_call(epic))
