"""Models of positions, working orders and deal confirmations."""

from __future__ import annotations

from pydantic import Field

from capitalcom_sdk.models._base import (
    ListModel,
    LocalDateTime,
    TableExport,
    UTCDateTime,
    WireModel,
)
from capitalcom_sdk.models._open import (
    OpenAffectedDealStatus,
    OpenConfirmReason,
    OpenDealStatus,
    OpenDirection,
    OpenOrderType,
    OpenPositionStatus,
    OpenTimeInForce,
)
from capitalcom_sdk.models.enums import AffectedDealStatus, DealStatus
from capitalcom_sdk.models.markets import MarketSummary


class Position(WireModel):
    """An open position (``position`` of ``GET /positions``)."""

    deal_id: str
    deal_reference: str | None = None
    working_order_id: str | None = None
    contract_size: float | None = None
    created_date: LocalDateTime | None = None
    created_date_utc: UTCDateTime | None = Field(default=None, alias="createdDateUTC")
    size: float
    leverage: float | None = None
    upl: float | None = None
    direction: OpenDirection
    level: float
    currency: str | None = None
    guaranteed_stop: bool | None = None
    trailing_stop: bool | None = None
    stop_level: float | None = None
    stop_distance: float | None = None
    profit_level: float | None = None
    profit_distance: float | None = None


class PositionWithMarket(WireModel):
    """``GET /positions/{dealId}``: the position and its market."""

    position: Position
    market: MarketSummary | None = None


class Positions(ListModel[PositionWithMarket], TableExport):
    """``GET /positions``; iterates over the positions."""

    items_field = "positions"

    positions: list[PositionWithMarket] = Field(default_factory=list)


class WorkingOrder(WireModel):
    """A pending LIMIT/STOP order (``workingOrderData``).

    ``stop_distance``/``profit_distance`` are signed distances from ``order_level``.
    """

    deal_id: str
    direction: OpenDirection
    epic: str
    order_size: float
    order_level: float
    leverage: float | None = None
    time_in_force: OpenTimeInForce | None = None
    good_till_date: LocalDateTime | None = None
    good_till_date_utc: UTCDateTime | None = Field(default=None, alias="goodTillDateUTC")
    created_date: LocalDateTime | None = None
    created_date_utc: UTCDateTime | None = Field(default=None, alias="createdDateUTC")
    guaranteed_stop: bool | None = None
    trailing_stop: bool | None = None
    order_type: OpenOrderType
    stop_distance: float | None = None
    profit_distance: float | None = None
    stop_level: float | None = None
    profit_level: float | None = None
    currency_code: str | None = None


class WorkingOrderWithMarket(WireModel):
    """A working order and its market."""

    working_order_data: WorkingOrder
    market_data: MarketSummary | None = None


class WorkingOrders(ListModel[WorkingOrderWithMarket], TableExport):
    """``GET /workingorders``; iterates over the working orders."""

    items_field = "working_orders"

    working_orders: list[WorkingOrderWithMarket] = Field(default_factory=list)


class AffectedDeal(WireModel):
    """A deal changed by a confirmed order."""

    deal_id: str
    status: OpenAffectedDealStatus | None = None


class Confirm(WireModel):
    """``GET /confirms/{dealReference}``: the outcome of a trading write.

    For ``POST /positions`` the top-level ``deal_id`` is the order's id; the opened position is
    in ``affected_deals`` (status ``OPENED``), see :attr:`opened_deal_ids`. ``date`` has no zone
    on the wire and is UTC in the recorded examples.
    """

    date: UTCDateTime | None = None
    status: OpenPositionStatus | None = None
    reason: OpenConfirmReason | None = None
    reject_reason: OpenConfirmReason | None = None
    deal_status: OpenDealStatus
    epic: str | None = None
    deal_reference: str
    deal_id: str | None = None
    affected_deals: list[AffectedDeal] = Field(default_factory=list)
    level: float | None = None
    size: float | None = None
    direction: OpenDirection | None = None
    guaranteed_stop: bool | None = None
    trailing_stop: bool | None = None
    stop_level: float | None = None
    stop_distance: float | None = None
    profit_level: float | None = None
    profit_distance: float | None = None
    profit: float | None = None
    profit_currency: str | None = None

    @property
    def accepted(self) -> bool:
        """True when ``deal_status`` is ACCEPTED."""
        return self.deal_status == DealStatus.ACCEPTED

    @property
    def rejection_reason(self) -> str | None:
        """The reason of a rejection (``rejectReason`` or ``reason``), None when accepted."""
        if self.accepted:
            return None
        return self.reject_reason or self.reason

    @property
    def opened_deal_ids(self) -> list[str]:
        """Deal ids of the positions this order opened (``affectedDeals`` with OPENED)."""
        return [d.deal_id for d in self.affected_deals if d.status == AffectedDealStatus.OPENED]
