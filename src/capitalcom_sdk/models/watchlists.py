"""Models of the /watchlists endpoints."""

from __future__ import annotations

from pydantic import Field

from capitalcom_sdk.models._base import ListModel, TableExport, WireModel
from capitalcom_sdk.models._open import OpenWatchlistCreateStatus
from capitalcom_sdk.models.markets import MarketSummary


class Watchlist(WireModel):
    """A watchlist (``deleteable`` is the API's spelling)."""

    id: str
    name: str
    editable: bool | None = None
    deleteable: bool | None = None
    default_system_watchlist: bool | None = None


class Watchlists(ListModel[Watchlist]):
    """``GET /watchlists``; iterates over the watchlists."""

    items_field = "watchlists"

    watchlists: list[Watchlist] = Field(default_factory=list)


class WatchlistMarkets(ListModel[MarketSummary], TableExport):
    """``GET /watchlists/{id}``: the markets of a watchlist; iterates over them."""

    items_field = "markets"

    markets: list[MarketSummary] = Field(default_factory=list)


class WatchlistCreated(WireModel):
    """``POST /watchlists``: the new id; status tells whether every epic was added."""

    watchlist_id: str
    status: OpenWatchlistCreateStatus | None = None
