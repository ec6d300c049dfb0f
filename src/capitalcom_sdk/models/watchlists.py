"""Models of the /watchlists endpoints."""

from __future__ import annotations

from pydantic import Field

from capitalcom_sdk.data._tabular import Tabular
from capitalcom_sdk.models._base import WireModel
from capitalcom_sdk.models.enums import OpenWatchlistCreateStatus
from capitalcom_sdk.models.markets import MarketSummary


class Watchlist(WireModel):
    """A watchlist (``deleteable`` is the API's spelling)."""

    id: str
    name: str
    editable: bool | None = None
    deleteable: bool | None = None
    default_system_watchlist: bool | None = None


class Watchlists(WireModel):
    """``GET /watchlists``."""

    watchlists: list[Watchlist] = Field(default_factory=list)


class WatchlistMarkets(WireModel, Tabular):
    """``GET /watchlists/{id}``: the markets of a watchlist."""

    markets: list[MarketSummary] = Field(default_factory=list)


class WatchlistCreated(WireModel):
    """``POST /watchlists``: the new id; status tells whether every epic was added."""

    watchlist_id: str
    status: OpenWatchlistCreateStatus | None = None
