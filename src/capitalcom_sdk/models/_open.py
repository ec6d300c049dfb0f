"""The open, tolerant field types of the API's enumerations: ``Open<Enum> = <Enum> | str``.

A documented value parses into the enum member (:mod:`capitalcom_sdk.models.enums`), a value the
server adds later is kept as the plain string instead of failing the whole response.
"""

from __future__ import annotations

from typing import Annotated, TypeAlias

from pydantic import Field

from capitalcom_sdk.models.enums import (
    AccountStatus,
    AccountType,
    ActivitySource,
    ActivityStatus,
    ActivityType,
    AffectedDealStatus,
    ConfirmReason,
    DealStatus,
    Direction,
    InstrumentType,
    LeverageGroup,
    MarketMode,
    MarketOrderPreference,
    MarketStatus,
    OrderType,
    PositionStatus,
    Resolution,
    ResponseStatus,
    RuleUnit,
    TimeInForce,
    TrailingStopsPreference,
    TransactionStatus,
    TransactionType,
    WatchlistCreateStatus,
)

_OPEN = Field(union_mode="left_to_right")

OpenDirection: TypeAlias = Annotated[Direction | str, _OPEN]
OpenOrderType: TypeAlias = Annotated[OrderType | str, _OPEN]
OpenTimeInForce: TypeAlias = Annotated[TimeInForce | str, _OPEN]
OpenResolution: TypeAlias = Annotated[Resolution | str, _OPEN]
OpenDealStatus: TypeAlias = Annotated[DealStatus | str, _OPEN]
OpenConfirmReason: TypeAlias = Annotated[ConfirmReason | str, _OPEN]
OpenResponseStatus: TypeAlias = Annotated[ResponseStatus | str, _OPEN]
OpenPositionStatus: TypeAlias = Annotated[PositionStatus | str, _OPEN]
OpenAffectedDealStatus: TypeAlias = Annotated[AffectedDealStatus | str, _OPEN]
OpenInstrumentType: TypeAlias = Annotated[InstrumentType | str, _OPEN]
OpenMarketStatus: TypeAlias = Annotated[MarketStatus | str, _OPEN]
OpenMarketMode: TypeAlias = Annotated[MarketMode | str, _OPEN]
OpenRuleUnit: TypeAlias = Annotated[RuleUnit | str, _OPEN]
OpenMarketOrderPreference: TypeAlias = Annotated[MarketOrderPreference | str, _OPEN]
OpenTrailingStopsPreference: TypeAlias = Annotated[TrailingStopsPreference | str, _OPEN]
OpenAccountStatus: TypeAlias = Annotated[AccountStatus | str, _OPEN]
OpenAccountType: TypeAlias = Annotated[AccountType | str, _OPEN]
OpenActivitySource: TypeAlias = Annotated[ActivitySource | str, _OPEN]
OpenActivityStatus: TypeAlias = Annotated[ActivityStatus | str, _OPEN]
OpenActivityType: TypeAlias = Annotated[ActivityType | str, _OPEN]
OpenTransactionType: TypeAlias = Annotated[TransactionType | str, _OPEN]
OpenTransactionStatus: TypeAlias = Annotated[TransactionStatus | str, _OPEN]
OpenWatchlistCreateStatus: TypeAlias = Annotated[WatchlistCreateStatus | str, _OPEN]
OpenLeverageGroup: TypeAlias = Annotated[LeverageGroup | str, _OPEN]
