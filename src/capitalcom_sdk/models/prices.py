"""Models of GET /prices/{epic}.

A backfill holds tens of thousands of bars, so a bar and its four bid/ask pairs are
:class:`~capitalcom_sdk.models._base.WireRecord` s (slotted pydantic dataclasses, ~0.8 KB a bar
with everything it references) rather than ``BaseModel`` s (~3.6 KB).
"""

from __future__ import annotations

from typing import Any

from pydantic import Field, SerializerFunctionWrapHandler, model_serializer
from pydantic.dataclasses import dataclass

from capitalcom_sdk.models._base import (
    RECORD_CONFIG,
    ListModel,
    LocalDateTime,
    TableExport,
    UTCDateTime,
    WireRecord,
)
from capitalcom_sdk.models._open import OpenInstrumentType


@dataclass(frozen=True, slots=True, kw_only=True, config=RECORD_CONFIG)
class BidAsk(WireRecord):
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

    @model_serializer(mode="wrap")
    def _serialize(self, handler: SerializerFunctionWrapHandler) -> Any:
        return self._dump_with_extras(handler)


@dataclass(frozen=True, slots=True, kw_only=True, config=RECORD_CONFIG)
class PriceBar(WireRecord):
    """One OHLC bar; ``snapshot_time_utc`` is the bar's start."""

    snapshot_time: LocalDateTime | None = None
    snapshot_time_utc: UTCDateTime = Field(alias="snapshotTimeUTC")
    open_price: BidAsk
    close_price: BidAsk
    high_price: BidAsk
    low_price: BidAsk
    last_traded_volume: float | None = None

    @model_serializer(mode="wrap")
    def _serialize(self, handler: SerializerFunctionWrapHandler) -> Any:
        return self._dump_with_extras(handler)


class PriceHistory(ListModel[PriceBar], TableExport):
    """``GET /prices/{epic}``: bars in ascending time; iterates over the bars."""

    items_field = "prices"

    prices: list[PriceBar] = Field(default_factory=list)
    instrument_type: OpenInstrumentType | None = None
