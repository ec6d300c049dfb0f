"""capitalcom_sdk: typed sync and async client of the Capital.com public API.

Quick start::

    from capitalcom_sdk import Client

    with Client.from_env() as client:
        print(client.general.server_time().datetime)
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from capitalcom_sdk.errors import (
    APIError,
    AuthenticationError,
    BacktestEnded,
    CapitalError,
    ClientRateLimitError,
    ConfigurationError,
    DealRejectedError,
    InvalidRequestError,
    NetworkError,
    NotFoundError,
    OrderOutcomeUnknown,
    RateLimitError,
    RequestTimeoutError,
    RequestValidationError,
    ServerError,
    SessionExpiredError,
    SimulatorClockError,
    UnexpectedResponseError,
)

if TYPE_CHECKING:
    from capitalcom_sdk import models
    from capitalcom_sdk._auth import SessionTokens
    from capitalcom_sdk._client import AsyncClient, Client
    from capitalcom_sdk._clock import Clock, SimulatorClock, WallClock
    from capitalcom_sdk._decimal import to_decimal
    from capitalcom_sdk._reconcile import ReconcileResult, ReconcileStatus
    from capitalcom_sdk._retry import RetryPolicy
    from capitalcom_sdk.models import (
        Confirm,
        DealReference,
        DealStatus,
        Direction,
        InstrumentType,
        MarketStatus,
        OrderType,
        PriceHistory,
        Resolution,
        TimeInForce,
        TransactionType,
    )
    from capitalcom_sdk.streaming import (
        AsyncStream,
        OHLCBar,
        Quote,
        Stream,
        StreamError,
        StreamOptions,
        StreamStats,
        SubscriptionError,
    )

# Loaded on first access (PEP 562): the clients pull in httpx and the pydantic models, which
# cost most of the import time; ``import capitalcom_sdk`` alone stays cheap (bench/startup.py).
_LAZY = {
    "models": "capitalcom_sdk.models",
    **dict.fromkeys(("AsyncClient", "Client"), "capitalcom_sdk._client"),
    **dict.fromkeys(("ReconcileResult", "ReconcileStatus"), "capitalcom_sdk._reconcile"),
    "RetryPolicy": "capitalcom_sdk._retry",
    **dict.fromkeys(("Clock", "SimulatorClock", "WallClock"), "capitalcom_sdk._clock"),
    "SessionTokens": "capitalcom_sdk._auth",
    "to_decimal": "capitalcom_sdk._decimal",
    **dict.fromkeys(
        (
            "Confirm",
            "DealReference",
            "DealStatus",
            "Direction",
            "InstrumentType",
            "MarketStatus",
            "OrderType",
            "PriceHistory",
            "Resolution",
            "TimeInForce",
            "TransactionType",
        ),
        "capitalcom_sdk.models",
    ),
    **dict.fromkeys(
        (
            "AsyncStream",
            "OHLCBar",
            "Quote",
            "Stream",
            "StreamError",
            "StreamOptions",
            "StreamStats",
            "SubscriptionError",
        ),
        "capitalcom_sdk.streaming",
    ),
}


def __getattr__(name: str) -> Any:
    module_name = _LAZY.get(name)
    if module_name is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module = importlib.import_module(module_name)
    value = module if name == "models" else getattr(module, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})


__version__ = "0.1.0"

__all__ = [
    "APIError",
    "AsyncClient",
    "AsyncStream",
    "AuthenticationError",
    "BacktestEnded",
    "CapitalError",
    "Client",
    "ClientRateLimitError",
    "Clock",
    "ConfigurationError",
    "Confirm",
    "DealReference",
    "DealRejectedError",
    "DealStatus",
    "Direction",
    "InstrumentType",
    "InvalidRequestError",
    "MarketStatus",
    "NetworkError",
    "NotFoundError",
    "OHLCBar",
    "OrderOutcomeUnknown",
    "OrderType",
    "PriceHistory",
    "Quote",
    "RateLimitError",
    "ReconcileResult",
    "ReconcileStatus",
    "RequestTimeoutError",
    "RequestValidationError",
    "Resolution",
    "RetryPolicy",
    "ServerError",
    "SessionExpiredError",
    "SessionTokens",
    "SimulatorClock",
    "SimulatorClockError",
    "Stream",
    "StreamError",
    "StreamOptions",
    "StreamStats",
    "SubscriptionError",
    "TimeInForce",
    "TransactionType",
    "UnexpectedResponseError",
    "WallClock",
    "__version__",
    "models",
    "to_decimal",
]
