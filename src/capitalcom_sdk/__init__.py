"""capitalcom_sdk: typed sync and async client of the Capital.com public API.

Quick start::

    from capitalcom_sdk import Client

    with Client.from_env() as client:
        print(client.general.server_time().datetime)
"""

from capitalcom_sdk import models
from capitalcom_sdk._client import AsyncClient, Client
from capitalcom_sdk.errors import (
    APIError,
    AuthenticationError,
    CapitalError,
    ConfigurationError,
    DealRejectedError,
    InvalidRequestError,
    NetworkError,
    NotFoundError,
    OrderOutcomeUnknown,
    RateLimitError,
    RequestValidationError,
    ServerError,
    SessionExpiredError,
)
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

__version__ = "0.1.0"

__all__ = [
    "APIError",
    "AsyncClient",
    "AsyncStream",
    "AuthenticationError",
    "CapitalError",
    "Client",
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
    "RequestValidationError",
    "Resolution",
    "ServerError",
    "SessionExpiredError",
    "Stream",
    "StreamError",
    "StreamOptions",
    "StreamStats",
    "SubscriptionError",
    "TimeInForce",
    "TransactionType",
    "__version__",
    "models",
]
