"""Models of market navigation, market search and market details."""

from __future__ import annotations

from pydantic import AliasChoices, Field

from capitalcom_sdk.models._base import (
    ListModel,
    LocalDateTime,
    TableExport,
    UTCDateTime,
    WireModel,
)
from capitalcom_sdk.models._open import (
    OpenInstrumentType,
    OpenMarketMode,
    OpenMarketOrderPreference,
    OpenMarketStatus,
    OpenRuleUnit,
    OpenTrailingStopsPreference,
)


class MarketSummary(WireModel):
    """A market as listed by search, navigation, watchlists, positions and working orders.

    Closed markets may lack ``high``/``low``/``net_change``/``percentage_change``.
    """

    epic: str
    symbol: str | None = None
    instrument_name: str | None = None
    instrument_type: OpenInstrumentType | None = None
    instrument_id: int | None = None
    expiry: str | None = None
    market_status: OpenMarketStatus | None = None
    market_modes: list[OpenMarketMode] | None = None
    lot_size: float | None = None
    high: float | None = None
    low: float | None = None
    percentage_change: float | None = None
    net_change: float | None = None
    bid: float | None = None
    offer: float | None = None
    update_time: LocalDateTime | None = None
    update_time_utc: UTCDateTime | None = Field(default=None, alias="updateTimeUTC")
    delay_time: int | None = None
    streaming_prices_available: bool | None = None
    scaling_factor: float | None = None
    pip_position: int | None = None
    tick_size: float | None = None
    otc_tradeable: bool | None = None


class NavigationNode(WireModel):
    """A node of the market navigation tree."""

    id: str
    name: str


class MarketNavigation(WireModel):
    """``GET /marketnavigation[/{nodeId}]``: sub-nodes and/or the markets of a leaf node."""

    nodes: list[NavigationNode] = Field(default_factory=list)
    markets: list[MarketSummary] | None = None


class OpeningHours(WireModel):
    """Weekly trading sessions: ``"HH:MM - HH:MM"`` ranges per day in ``zone``."""

    mon: list[str] = Field(default_factory=list)
    tue: list[str] = Field(default_factory=list)
    wed: list[str] = Field(default_factory=list)
    thu: list[str] = Field(default_factory=list)
    fri: list[str] = Field(default_factory=list)
    sat: list[str] = Field(default_factory=list)
    sun: list[str] = Field(default_factory=list)
    zone: str = "UTC"


class OvernightFee(WireModel):
    """Swap rates and charge schedule."""

    long_rate: float | None = None
    short_rate: float | None = None
    swap_charge_timestamp: int | None = None
    swap_charge_interval: int | None = None


class Instrument(WireModel):
    """``instrument`` of the market details.

    ``guaranteed_stop_allowed`` is read from ``guaranteedStopAllowed`` or the legacy
    ``controlledRiskAllowed``.
    """

    epic: str
    symbol: str | None = None
    expiry: str | None = None
    name: str | None = None
    lot_size: float | None = None
    type: OpenInstrumentType | None = None
    guaranteed_stop_allowed: bool | None = Field(
        default=None,
        validation_alias=AliasChoices("guaranteedStopAllowed", "controlledRiskAllowed"),
    )
    streaming_prices_available: bool | None = None
    currency: str | None = None
    margin_factor: float | None = None
    margin_factor_unit: OpenRuleUnit | None = None
    opening_hours: OpeningHours | None = None
    overnight_fee: OvernightFee | None = None
    country: str | None = None


class DealingRule(WireModel):
    """A dealing rule value with its unit."""

    unit: OpenRuleUnit
    value: float


class DealingRules(WireModel):
    """``dealingRules`` of the market details; legacy (2022) names are accepted."""

    min_step_distance: DealingRule | None = None
    min_deal_size: DealingRule | None = None
    max_deal_size: DealingRule | None = None
    min_size_increment: DealingRule | None = None
    min_guaranteed_stop_distance: DealingRule | None = Field(
        default=None,
        validation_alias=AliasChoices("minGuaranteedStopDistance", "minControlledRiskStopDistance"),
    )
    min_stop_or_profit_distance: DealingRule | None = Field(
        default=None,
        validation_alias=AliasChoices("minStopOrProfitDistance", "minNormalStopOrLimitDistance"),
    )
    max_stop_or_profit_distance: DealingRule | None = Field(
        default=None,
        validation_alias=AliasChoices("maxStopOrProfitDistance", "maxStopOrLimitDistance"),
    )
    market_order_preference: OpenMarketOrderPreference | None = None
    trailing_stops_preference: OpenTrailingStopsPreference | None = None


class MarketSnapshot(WireModel):
    """``snapshot`` of the market details.

    ``update_time`` is kept naive as sent (it looks like UTC in the recorded examples, SPEC 11-Q9).
    """

    market_status: OpenMarketStatus | None = None
    net_change: float | None = None
    percentage_change: float | None = None
    update_time: LocalDateTime | None = None
    delay_time: int | None = None
    bid: float | None = None
    offer: float | None = None
    high: float | None = None
    low: float | None = None
    decimal_places_factor: int | None = None
    scaling_factor: float | None = None
    market_modes: list[OpenMarketMode] | None = None


class MarketDetails(WireModel):
    """``GET /markets/{epic}``: instrument, dealing rules and price snapshot."""

    instrument: Instrument
    dealing_rules: DealingRules | None = None
    snapshot: MarketSnapshot | None = None


class Markets(ListModel[MarketSummary | MarketDetails], TableExport):
    """``GET /markets``: ``markets`` (all / search) or ``market_details`` (by epics).

    Iterates over whichever list the server sent (``markets`` first).
    """

    items_field = "markets"

    markets: list[MarketSummary] | None = None
    market_details: list[MarketDetails] | None = None

    @property
    def items(self) -> list[MarketSummary | MarketDetails]:
        """``markets`` when sent, else ``market_details`` (an empty list when neither)."""
        if self.markets is not None:
            return list(self.markets)
        return list(self.market_details or [])
