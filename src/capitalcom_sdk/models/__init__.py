"""Typed models of the API's requests and responses (pydantic v2).

Conventions: snake_case attributes with the wire's camelCase names as aliases; frozen; unknown
fields kept (``model_extra``); enums open (a documented value is an enum member, an unknown one a
plain string, see :mod:`capitalcom_sdk.models.enums`); ``*_utc`` datetimes aware in UTC, their
local-time twins naive as sent.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from capitalcom_sdk.models._base import (
        ListModel,
        LocalDateTime,
        RequestModel,
        TableExport,
        UTCDateTime,
        WireModel,
    )
    from capitalcom_sdk.models.accounts import Account, Accounts, Leverage, Preferences, TopUpResult
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
    from capitalcom_sdk.models.general import DealReference, ServerTime, StatusResponse
    from capitalcom_sdk.models.history import (
        Activity,
        ActivityDetails,
        ActivityHistory,
        Transaction,
        TransactionHistory,
    )
    from capitalcom_sdk.models.markets import (
        DealingRule,
        DealingRules,
        Instrument,
        MarketDetails,
        MarketNavigation,
        Markets,
        MarketSnapshot,
        MarketSummary,
        NavigationNode,
        OpeningHours,
        OvernightFee,
    )
    from capitalcom_sdk.models.prices import BidAsk, PriceBar, PriceHistory
    from capitalcom_sdk.models.sentiment import ClientSentiment, ClientSentiments
    from capitalcom_sdk.models.session import (
        AccountBalance,
        EncryptionKey,
        LoginResponse,
        SessionAccount,
        SessionDetails,
        SwitchAccountResponse,
    )
    from capitalcom_sdk.models.trading import (
        AffectedDeal,
        Confirm,
        Position,
        Positions,
        PositionWithMarket,
        WorkingOrder,
        WorkingOrders,
        WorkingOrderWithMarket,
    )
    from capitalcom_sdk.models.watchlists import (
        Watchlist,
        WatchlistCreated,
        WatchlistMarkets,
        Watchlists,
    )

# Names load with their submodule on first access (PEP 562): ``import capitalcom_sdk.models.enums``
# (the CLI's option types) does not define every response model, and the client imports only
# the submodules its endpoint table names.
_SUBMODULE_OF: dict[str, str] = {
    "ListModel": "_base",
    "LocalDateTime": "_base",
    "RequestModel": "_base",
    "TableExport": "_base",
    "UTCDateTime": "_base",
    "WireModel": "_base",
    "Account": "accounts",
    "Accounts": "accounts",
    "Leverage": "accounts",
    "Preferences": "accounts",
    "TopUpResult": "accounts",
    "AccountStatus": "enums",
    "AccountType": "enums",
    "ActivitySource": "enums",
    "ActivityStatus": "enums",
    "ActivityType": "enums",
    "AffectedDealStatus": "enums",
    "ConfirmReason": "enums",
    "DealStatus": "enums",
    "Direction": "enums",
    "InstrumentType": "enums",
    "LeverageGroup": "enums",
    "MarketMode": "enums",
    "MarketOrderPreference": "enums",
    "MarketStatus": "enums",
    "OrderType": "enums",
    "PositionStatus": "enums",
    "Resolution": "enums",
    "ResponseStatus": "enums",
    "RuleUnit": "enums",
    "TimeInForce": "enums",
    "TrailingStopsPreference": "enums",
    "TransactionStatus": "enums",
    "TransactionType": "enums",
    "WatchlistCreateStatus": "enums",
    "DealReference": "general",
    "ServerTime": "general",
    "StatusResponse": "general",
    "Activity": "history",
    "ActivityDetails": "history",
    "ActivityHistory": "history",
    "Transaction": "history",
    "TransactionHistory": "history",
    "DealingRule": "markets",
    "DealingRules": "markets",
    "Instrument": "markets",
    "MarketDetails": "markets",
    "MarketNavigation": "markets",
    "Markets": "markets",
    "MarketSnapshot": "markets",
    "MarketSummary": "markets",
    "NavigationNode": "markets",
    "OpeningHours": "markets",
    "OvernightFee": "markets",
    "BidAsk": "prices",
    "PriceBar": "prices",
    "PriceHistory": "prices",
    "ClientSentiment": "sentiment",
    "ClientSentiments": "sentiment",
    "AccountBalance": "session",
    "EncryptionKey": "session",
    "LoginResponse": "session",
    "SessionAccount": "session",
    "SessionDetails": "session",
    "SwitchAccountResponse": "session",
    "AffectedDeal": "trading",
    "Confirm": "trading",
    "Position": "trading",
    "Positions": "trading",
    "PositionWithMarket": "trading",
    "WorkingOrder": "trading",
    "WorkingOrders": "trading",
    "WorkingOrderWithMarket": "trading",
    "Watchlist": "watchlists",
    "WatchlistCreated": "watchlists",
    "WatchlistMarkets": "watchlists",
    "Watchlists": "watchlists",
}


def __getattr__(name: str) -> Any:
    submodule = _SUBMODULE_OF.get(name)
    if submodule is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{submodule}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_SUBMODULE_OF})


__all__ = [
    "Account",
    "AccountBalance",
    "AccountStatus",
    "AccountType",
    "Accounts",
    "Activity",
    "ActivityDetails",
    "ActivityHistory",
    "ActivitySource",
    "ActivityStatus",
    "ActivityType",
    "AffectedDeal",
    "AffectedDealStatus",
    "BidAsk",
    "ClientSentiment",
    "ClientSentiments",
    "Confirm",
    "ConfirmReason",
    "DealReference",
    "DealStatus",
    "DealingRule",
    "DealingRules",
    "Direction",
    "EncryptionKey",
    "Instrument",
    "InstrumentType",
    "Leverage",
    "LeverageGroup",
    "ListModel",
    "LocalDateTime",
    "LoginResponse",
    "MarketDetails",
    "MarketMode",
    "MarketNavigation",
    "MarketOrderPreference",
    "MarketSnapshot",
    "MarketStatus",
    "MarketSummary",
    "Markets",
    "NavigationNode",
    "OpeningHours",
    "OrderType",
    "OvernightFee",
    "Position",
    "PositionStatus",
    "PositionWithMarket",
    "Positions",
    "Preferences",
    "PriceBar",
    "PriceHistory",
    "RequestModel",
    "Resolution",
    "ResponseStatus",
    "RuleUnit",
    "ServerTime",
    "SessionAccount",
    "SessionDetails",
    "StatusResponse",
    "SwitchAccountResponse",
    "TableExport",
    "TimeInForce",
    "TopUpResult",
    "TrailingStopsPreference",
    "Transaction",
    "TransactionHistory",
    "TransactionStatus",
    "TransactionType",
    "UTCDateTime",
    "Watchlist",
    "WatchlistCreateStatus",
    "WatchlistCreated",
    "WatchlistMarkets",
    "Watchlists",
    "WireModel",
    "WorkingOrder",
    "WorkingOrderWithMarket",
    "WorkingOrders",
]
