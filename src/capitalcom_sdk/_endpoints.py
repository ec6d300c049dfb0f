"""Every REST endpoint of the API, declared once, with everything the transport needs to know.

A declaration says how to call an endpoint (method, path template, request body model, response
model), which rate limit it counts against, whether it may be repeated when its outcome is
unknown, whether it is an order write, part of logging in, or changes the session (account
switch, logout). The transport reads these flags; it never looks at paths. The sync and the
async client execute the same declarations; the coverage table in docs is generated from
:data:`ENDPOINTS`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Generic, TypeVar
from urllib.parse import quote

from capitalcom_sdk._validation import path_segment
from capitalcom_sdk.models._base import RequestModel
from capitalcom_sdk.models.accounts import Accounts, Preferences, TopUpResult
from capitalcom_sdk.models.general import DealReference, ServerTime, StatusResponse
from capitalcom_sdk.models.history import ActivityHistory, TransactionHistory
from capitalcom_sdk.models.markets import MarketDetails, MarketNavigation, Markets
from capitalcom_sdk.models.prices import PriceHistory
from capitalcom_sdk.models.requests import (
    AddToWatchlistRequest,
    CreateOrderRequest,
    CreateWatchlistRequest,
    LoginRequest,
    OpenPositionRequest,
    SwitchAccountRequest,
    TopUpRequest,
    UpdateOrderRequest,
    UpdatePositionRequest,
    UpdatePreferencesRequest,
)
from capitalcom_sdk.models.sentiment import ClientSentiment, ClientSentiments
from capitalcom_sdk.models.session import (
    EncryptionKey,
    LoginResponse,
    SessionDetails,
    SwitchAccountResponse,
)
from capitalcom_sdk.models.trading import (
    Confirm,
    Positions,
    PositionWithMarket,
    WorkingOrders,
)
from capitalcom_sdk.models.watchlists import WatchlistCreated, WatchlistMarkets, Watchlists

ResponseT = TypeVar("ResponseT")

API_PREFIX = "/api/v1"


class RateClass(StrEnum):
    """Which documented limit a request counts against (all count against GENERAL too)."""

    GENERAL = "general"  # 10 requests/s per user
    SESSION = "session"  # POST /session: 1/s per API key
    TRADING = "trading"  # POST /positions, POST /workingorders: 1 per 0.1 s; demo 1000/hour
    TOPUP = "topup"  # POST /accounts/topUp: 10/s, 100/day per account
    NONE = "none"  # not limited (GET /time)


class SessionEffect(StrEnum):
    """What a successful answer does to the client's session."""

    NONE = "none"
    SWITCH_ACCOUNT = "switch_account"  # the body's account becomes the active one
    LOGOUT = "logout"  # the session ended: tokens forgotten


@dataclass(frozen=True, slots=True)
class Endpoint(Generic[ResponseT]):
    """One REST endpoint.

    Attributes:
        name: ``area.operation``, the name used in logs, coverage and errors.
        method, path: HTTP method and path template under ``/api/v1`` (``{dealId}`` style).
        response: model the body is parsed into (``None``: body ignored).
        auth: whether CST / X-SECURITY-TOKEN are required.
        rate: the limit it counts against.
        safe: True when repeating it cannot change anything twice (retries allowed).
        order_write: a position or working-order write; never repeated once sent, an unknown
            outcome raises :class:`~capitalcom_sdk.errors.OrderOutcomeUnknown`, and never sent
            while the session is on another account than the one the client was asked to use.
        login: part of logging in (``POST /session``, its encryption key): sent with the API
            key instead of session tokens.
        session: what a successful answer does to the session (account switch, logout).
        body: the request body's model (``None``: the endpoint takes no body).
    """

    name: str
    method: str
    path: str
    response: type[ResponseT] | None
    auth: bool = True
    rate: RateClass = RateClass.GENERAL
    safe: bool = True
    order_write: bool = False
    login: bool = False
    session: SessionEffect = SessionEffect.NONE
    body: type[RequestModel] | None = None

    @property
    def full_path(self) -> str:
        return API_PREFIX + self.path

    def call(
        self,
        path_params: Mapping[str, str] | None = None,
        *,
        params: Mapping[str, str | int | float | bool | None] | None = None,
        body: RequestModel | Mapping[str, Any] | None = None,
    ) -> ApiCall[ResponseT]:
        """Bind arguments: a ready-to-send call (pure; nothing is sent).

        ``body`` is an instance of the declared :attr:`body` model (a mapping of wire names is
        validated into one).

        Raises:
            RequestValidationError: a path parameter that would not stay one path segment
                (``.``, ``..``, empty, ``/``; see :func:`~capitalcom_sdk._validation.path_segment`).
        """
        path = self.full_path
        for key, value in (path_params or {}).items():
            segment = path_segment(str(value), key)
            path = path.replace("{" + key + "}", quote(segment, safe=""))
        query = {
            k: ("true" if v is True else "false" if v is False else str(v))
            for k, v in (params or {}).items()
            if v is not None
        }
        filled = {k: str(v) for k, v in (path_params or {}).items()}
        if body is None:
            return ApiCall(self, path, query, None, path_params=filled)
        model = self.body
        if model is None:
            raise TypeError(f"{self.name} takes no request body")
        if isinstance(body, RequestModel):
            if not isinstance(body, model):
                raise TypeError(f"{self.name} takes a {model.__name__}, not {type(body).__name__}")
            request = body
        else:
            request = model.model_validate(body)
        return ApiCall(self, path, query, request.to_wire(), request, filled)


@dataclass(frozen=True, slots=True)
class ApiCall(Generic[ResponseT]):
    """A bound request of a declared endpoint: path filled in, query and body built.

    ``body`` is the wire form (JSON object) of ``request``, the typed body model. The repr
    shows the model, not the body: a login body holds the password, and tracebacks printed
    with local variables show calls.

    ``path_params`` keeps the unquoted values the path was filled with (e.g. the ``dealId`` an
    order write acts on), so nobody has to parse them back out of ``path``.
    """

    endpoint: Endpoint[ResponseT]
    path: str
    params: dict[str, str]
    body: dict[str, Any] | None = field(repr=False)
    request: RequestModel | None = None
    path_params: dict[str, str] = field(default_factory=dict)


# Reads are safe to repeat. Writes are marked safe=False: either they change state each time
# (top-up, watchlist creation) or a blind repeat after an unknown outcome could act on a state the
# first attempt already changed (amending or closing a position, cancelling an order). Every
# position and working-order write is also order_write: never re-sent once it may have reached
# the server; the unknown outcome is raised as OrderOutcomeUnknown, for reconcile() to settle.

# -- general -----------------------------------------------------------------------------------
SERVER_TIME = Endpoint(
    "general.server_time", "GET", "/time", ServerTime, auth=False, rate=RateClass.NONE
)
PING = Endpoint("general.ping", "GET", "/ping", StatusResponse)

# -- session -----------------------------------------------------------------------------------
ENCRYPTION_KEY = Endpoint(
    "session.encryption_key",
    "GET",
    "/session/encryptionKey",
    EncryptionKey,
    auth=False,
    login=True,
)
SESSION_DETAILS = Endpoint("session.details", "GET", "/session", SessionDetails)
LOGIN = Endpoint(
    "session.login",
    "POST",
    "/session",
    LoginResponse,
    auth=False,
    rate=RateClass.SESSION,
    login=True,
    body=LoginRequest,
)
SWITCH_ACCOUNT = Endpoint(
    "session.switch_account",
    "PUT",
    "/session",
    SwitchAccountResponse,
    safe=False,
    session=SessionEffect.SWITCH_ACCOUNT,
    body=SwitchAccountRequest,
)
LOGOUT = Endpoint(
    "session.logout",
    "DELETE",
    "/session",
    StatusResponse,
    safe=False,
    session=SessionEffect.LOGOUT,
)

# -- accounts ----------------------------------------------------------------------------------
ACCOUNTS = Endpoint("accounts.list", "GET", "/accounts", Accounts)
PREFERENCES = Endpoint("accounts.preferences", "GET", "/accounts/preferences", Preferences)
UPDATE_PREFERENCES = Endpoint(
    "accounts.update_preferences",
    "PUT",
    "/accounts/preferences",
    StatusResponse,
    safe=False,
    body=UpdatePreferencesRequest,
)
TOP_UP = Endpoint(
    "accounts.top_up",
    "POST",
    "/accounts/topUp",
    TopUpResult,
    rate=RateClass.TOPUP,
    safe=False,
    body=TopUpRequest,
)

# -- history -----------------------------------------------------------------------------------
ACTIVITY = Endpoint("history.activity", "GET", "/history/activity", ActivityHistory)
TRANSACTIONS = Endpoint("history.transactions", "GET", "/history/transactions", TransactionHistory)

# -- trading -----------------------------------------------------------------------------------
CONFIRM = Endpoint("confirms.get", "GET", "/confirms/{dealReference}", Confirm)
POSITIONS = Endpoint("positions.list", "GET", "/positions", Positions)
POSITION = Endpoint("positions.get", "GET", "/positions/{dealId}", PositionWithMarket)
OPEN_POSITION = Endpoint(
    "positions.open",
    "POST",
    "/positions",
    DealReference,
    rate=RateClass.TRADING,
    safe=False,
    order_write=True,
    body=OpenPositionRequest,
)
UPDATE_POSITION = Endpoint(
    "positions.update",
    "PUT",
    "/positions/{dealId}",
    DealReference,
    safe=False,
    order_write=True,
    body=UpdatePositionRequest,
)
CLOSE_POSITION = Endpoint(
    "positions.close", "DELETE", "/positions/{dealId}", DealReference, safe=False, order_write=True
)
WORKING_ORDERS = Endpoint("orders.list", "GET", "/workingorders", WorkingOrders)
CREATE_ORDER = Endpoint(
    "orders.create",
    "POST",
    "/workingorders",
    DealReference,
    rate=RateClass.TRADING,
    safe=False,
    order_write=True,
    body=CreateOrderRequest,
)
UPDATE_ORDER = Endpoint(
    "orders.update",
    "PUT",
    "/workingorders/{dealId}",
    DealReference,
    safe=False,
    order_write=True,
    body=UpdateOrderRequest,
)
DELETE_ORDER = Endpoint(
    "orders.delete",
    "DELETE",
    "/workingorders/{dealId}",
    DealReference,
    safe=False,
    order_write=True,
)

# -- markets -----------------------------------------------------------------------------------
NAVIGATION = Endpoint("markets.navigation", "GET", "/marketnavigation", MarketNavigation)
NAVIGATION_NODE = Endpoint(
    "markets.navigation_node", "GET", "/marketnavigation/{nodeId}", MarketNavigation
)
MARKETS = Endpoint("markets.search", "GET", "/markets", Markets)
MARKET = Endpoint("markets.get", "GET", "/markets/{epic}", MarketDetails)

# -- prices ------------------------------------------------------------------------------------
PRICES = Endpoint("prices.get", "GET", "/prices/{epic}", PriceHistory)

# -- sentiment ---------------------------------------------------------------------------------
SENTIMENTS = Endpoint("sentiment.list", "GET", "/clientsentiment", ClientSentiments)
SENTIMENT = Endpoint("sentiment.get", "GET", "/clientsentiment/{marketId}", ClientSentiment)

# -- watchlists --------------------------------------------------------------------------------
WATCHLISTS = Endpoint("watchlists.list", "GET", "/watchlists", Watchlists)
CREATE_WATCHLIST = Endpoint(
    "watchlists.create",
    "POST",
    "/watchlists",
    WatchlistCreated,
    safe=False,
    body=CreateWatchlistRequest,
)
WATCHLIST = Endpoint("watchlists.get", "GET", "/watchlists/{watchlistId}", WatchlistMarkets)
ADD_TO_WATCHLIST = Endpoint(
    "watchlists.add_market",
    "PUT",
    "/watchlists/{watchlistId}",
    StatusResponse,
    safe=False,
    body=AddToWatchlistRequest,
)
DELETE_WATCHLIST = Endpoint(
    "watchlists.delete", "DELETE", "/watchlists/{watchlistId}", StatusResponse, safe=False
)
REMOVE_FROM_WATCHLIST = Endpoint(
    "watchlists.remove_market",
    "DELETE",
    "/watchlists/{watchlistId}/{epic}",
    StatusResponse,
    safe=False,
)

ENDPOINTS: tuple[Endpoint[Any], ...] = (
    SERVER_TIME,
    PING,
    ENCRYPTION_KEY,
    SESSION_DETAILS,
    LOGIN,
    SWITCH_ACCOUNT,
    LOGOUT,
    ACCOUNTS,
    PREFERENCES,
    UPDATE_PREFERENCES,
    TOP_UP,
    ACTIVITY,
    TRANSACTIONS,
    CONFIRM,
    POSITIONS,
    OPEN_POSITION,
    POSITION,
    UPDATE_POSITION,
    CLOSE_POSITION,
    WORKING_ORDERS,
    CREATE_ORDER,
    UPDATE_ORDER,
    DELETE_ORDER,
    NAVIGATION,
    NAVIGATION_NODE,
    MARKETS,
    MARKET,
    PRICES,
    SENTIMENTS,
    SENTIMENT,
    WATCHLISTS,
    CREATE_WATCHLIST,
    WATCHLIST,
    ADD_TO_WATCHLIST,
    DELETE_WATCHLIST,
    REMOVE_FROM_WATCHLIST,
)
"""Every declared endpoint, in the order of endpoints.tsv; the coverage check compares the two."""

BY_NAME: Mapping[str, Endpoint[Any]] = {endpoint.name: endpoint for endpoint in ENDPOINTS}
"""Declared endpoints by ``area.operation`` name."""
