"""Models of GET /prices/{epic}."""

from __future__ import annotations

from pydantic import Field

from capitalcom_sdk.data._tabular import Tabular
from capitalcom_sdk.models._base import LocalDateTime, UTCDateTime, WireModel
from capitalcom_sdk.models.enums import OpenInstrumentType


class BidAsk(WireModel):
    """A price on both sides."""

    bid: float | None = None
    ask: float | None = None
    last_traded: float | None = None

    @property
    def mid(self) -> float | None:
        """Mid price, None when a side is missing."""
        if self.bid is None or self.ask is None:
            return None
        return (self.bid + self.ask) / 2


class PriceBar(WireModel):
    """One OHLC bar; ``snapshot_time_utc`` is the bar's start."""

    snapshot_time: LocalDateTime | None = None
    snapshot_time_utc: UTCDateTime = Field(alias="snapshotTimeUTC")
    open_price: BidAsk
    close_price: BidAsk
    high_price: BidAsk
    low_price: BidAsk
    last_traded_volume: float | None = None


class PriceHistory(WireModel, Tabular):
    """``GET /prices/{epic}``: bars in ascending time."""

    prices: list[PriceBar] = Field(default_factory=list)
    instrument_type: OpenInstrumentType | None = None
