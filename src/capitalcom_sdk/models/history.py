"""Models of GET /history/activity and GET /history/transactions."""

from __future__ import annotations

from pydantic import Field, field_validator

from capitalcom_sdk.models._base import (
    ListModel,
    LocalDateTime,
    TableExport,
    UTCDateTime,
    WireModel,
)
from capitalcom_sdk.models._open import (
    OpenActivitySource,
    OpenActivityStatus,
    OpenActivityType,
    OpenDirection,
    OpenTransactionStatus,
    OpenTransactionType,
)


class ActivityDetails(WireModel):
    """``details`` of an activity (only with ``detailed=True``); further keys kept as extras."""

    deal_reference: str | None = None
    market_name: str | None = None
    currency: str | None = None
    size: float | None = None
    direction: OpenDirection | None = None
    level: float | None = None
    guaranteed_stop: bool | None = None
    stop_level: float | None = None
    profit_level: float | None = None
    working_order_id: str | None = None
    """On the POSITION activity of a working-order fill: the dealId of the order that filled."""


class Activity(WireModel):
    """One account activity (position, working order, stop/limit edit, ...)."""

    date: LocalDateTime | None = None
    date_utc: UTCDateTime = Field(alias="dateUTC")
    epic: str | None = None
    deal_id: str | None = None
    source: OpenActivitySource | None = None
    type: OpenActivityType | None = None
    status: OpenActivityStatus | None = None
    details: ActivityDetails | None = None


class ActivityHistory(ListModel[Activity], TableExport):
    """``GET /history/activity``; the SDK's merged results are newest first. Iterates over the
    activities."""

    items_field = "activities"

    activities: list[Activity] = Field(default_factory=list)


class Transaction(WireModel):
    """One transaction (trade result, deposit, swap, fee, ...).

    ``size`` is a string on the wire (``"416.0"``); it is exposed as a float.
    """

    date: LocalDateTime | None = None
    date_utc: UTCDateTime = Field(alias="dateUtc")
    instrument_name: str | None = None
    transaction_type: OpenTransactionType | None = None
    note: str | None = None
    reference: str | None = None
    size: float
    currency: str | None = None
    status: OpenTransactionStatus | None = None

    @field_validator("size", mode="before")
    @classmethod
    def _size_from_text(cls, value: object) -> object:
        return float(value) if isinstance(value, str) else value


class TransactionHistory(ListModel[Transaction], TableExport):
    """``GET /history/transactions``; the SDK's merged results are newest first. Iterates over
    the transactions."""

    items_field = "transactions"

    transactions: list[Transaction] = Field(default_factory=list)
