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
from importlib import import_module
from typing import TYPE_CHECKING, Any, Generic, TypeVar, cast
from urllib.parse import quote

if TYPE_CHECKING:  # the models load when an endpoint is first called: see Endpoint.response
    from capitalcom_sdk.models._base import RequestModel
    from capitalcom_sdk.models.accounts import Accounts, Preferences, TopUpResult
    from capitalcom_sdk.models.general import DealReference, ServerTime, StatusResponse
    from capitalcom_sdk.models.history import ActivityHistory, TransactionHistory
    from capitalcom_sdk.models.markets import MarketDetails, MarketNavigation, Markets
    from capitalcom_sdk.models.prices import PriceHistory
    from capitalcom_sdk.models.sentiment import ClientSentiment, ClientSentiments
    from capitalcom_sdk.models.session import (
        EncryptionKey,
        LoginResponse,
        SessionDetails,
        SwitchAccountResponse,
    )
    from capitalcom_sdk.models.trading import Confirm, Positions, PositionWithMarket, WorkingOrders
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


ModelRef = str
"""A model named ``"module.Class"`` under :mod:`capitalcom_sdk.models` (loaded on first use)."""


def _resolve(ref: type[Any] | ModelRef | None) -> type[Any] | None:
    if ref is None or isinstance(ref, type):
        return ref
    module, _, name = ref.rpartition(".")
    model: type[Any] = getattr(import_module(f"capitalcom_sdk.models.{module}"), name)
    return model


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

    ``response`` and ``body`` may be declared as a class or by name (``"accounts.Accounts"``,
    a class of :mod:`capitalcom_sdk.models`); a name is imported the first time the attribute
    is read, so that importing the client does not define every model (start-up time). An
    endpoint is immutable.
    """

    __slots__ = (
        "_body",
        "_response",
        "auth",
        "login",
        "method",
        "name",
        "order_write",
        "path",
        "rate",
        "safe",
        "session",
    )

    name: str
    method: str
    path: str
    auth: bool
    rate: RateClass
    safe: bool
    order_write: bool
    login: bool
    session: SessionEffect
    _response: type[ResponseT] | ModelRef | None
    _body: type[RequestModel] | ModelRef | None

    def __init__(
        self,
        name: str,
        method: str,
        path: str,
        response: type[ResponseT] | ModelRef | None,
        *,
        auth: bool = True,
        rate: RateClass = RateClass.GENERAL,
        safe: bool = True,
        order_write: bool = False,
        login: bool = False,
        session: SessionEffect = SessionEffect.NONE,
        body: type[RequestModel] | ModelRef | None = None,
    ) -> None:
        values = {
            "name": name,
            "method": method,
            "path": path,
            "auth": auth,
            "rate": rate,
            "safe": safe,
            "order_write": order_write,
            "login": login,
            "session": session,
            "_response": response,
            "_body": body,
        }
        for key, value in values.items():
            object.__setattr__(self, key, value)

    def __setattr__(self, key: str, value: object) -> None:
        raise AttributeError(f"Endpoint is immutable: cannot set {key!r}")

    def __delattr__(self, key: str) -> None:
        raise AttributeError(f"Endpoint is immutable: cannot delete {key!r}")

    def __repr__(self) -> str:
        return f"Endpoint({self.name!r}, {self.method!r}, {self.path!r})"

    @property
    def response(self) -> type[ResponseT] | None:
        """The model the answer's body is parsed into (``None``: body ignored)."""
        ref = self._response
        if not isinstance(ref, str):
            return ref
        model = cast("type[ResponseT]", _resolve(ref))
        object.__setattr__(self, "_response", model)
        return model

    @property
    def body(self) -> type[RequestModel] | None:
        """The request body's model (``None``: the endpoint takes no body)."""
        ref = self._body
        if not isinstance(ref, str):
            return ref
        model = cast("type[RequestModel]", _resolve(ref))
        object.__setattr__(self, "_body", model)
        return model

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
        if path_params:
            from capitalcom_sdk._validation import path_segment  # and the enums: loaded on use

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
        from capitalcom_sdk.models._base import RequestModel  # loaded with ``model``

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
SERVER_TIME: Endpoint[ServerTime] = Endpoint(
    "general.server_time", "GET", "/time", "general.ServerTime", auth=False, rate=RateClass.NONE
)
PING: Endpoint[StatusResponse] = Endpoint("general.ping", "GET", "/ping", "general.StatusResponse")

# -- session -----------------------------------------------------------------------------------
ENCRYPTION_KEY: Endpoint[EncryptionKey] = Endpoint(
    "session.encryption_key",
    "GET",
    "/session/encryptionKey",
    "session.EncryptionKey",
    auth=False,
    login=True,
)
SESSION_DETAILS: Endpoint[SessionDetails] = Endpoint(
    "session.details", "GET", "/session", "session.SessionDetails"
)
LOGIN: Endpoint[LoginResponse] = Endpoint(
    "session.login",
    "POST",
    "/session",
    "session.LoginResponse",
    auth=False,
    rate=RateClass.SESSION,
    login=True,
    body="requests.LoginRequest",
)
SWITCH_ACCOUNT: Endpoint[SwitchAccountResponse] = Endpoint(
    "session.switch_account",
    "PUT",
    "/session",
    "session.SwitchAccountResponse",
    safe=False,
    session=SessionEffect.SWITCH_ACCOUNT,
    body="requests.SwitchAccountRequest",
)
LOGOUT: Endpoint[StatusResponse] = Endpoint(
    "session.logout",
    "DELETE",
    "/session",
    "general.StatusResponse",
    safe=False,
    session=SessionEffect.LOGOUT,
)

# -- accounts ----------------------------------------------------------------------------------
ACCOUNTS: Endpoint[Accounts] = Endpoint("accounts.list", "GET", "/accounts", "accounts.Accounts")
PREFERENCES: Endpoint[Preferences] = Endpoint(
    "accounts.preferences", "GET", "/accounts/preferences", "accounts.Preferences"
)
UPDATE_PREFERENCES: Endpoint[StatusResponse] = Endpoint(
    "accounts.update_preferences",
    "PUT",
    "/accounts/preferences",
    "general.StatusResponse",
    safe=False,
    body="requests.UpdatePreferencesRequest",
)
TOP_UP: Endpoint[TopUpResult] = Endpoint(
    "accounts.top_up",
    "POST",
    "/accounts/topUp",
    "accounts.TopUpResult",
    rate=RateClass.TOPUP,
    safe=False,
    body="requests.TopUpRequest",
)

# -- history -----------------------------------------------------------------------------------
ACTIVITY: Endpoint[ActivityHistory] = Endpoint(
    "history.activity", "GET", "/history/activity", "history.ActivityHistory"
)
TRANSACTIONS: Endpoint[TransactionHistory] = Endpoint(
    "history.transactions", "GET", "/history/transactions", "history.TransactionHistory"
)

# -- trading -----------------------------------------------------------------------------------
CONFIRM: Endpoint[Confirm] = Endpoint(
    "confirms.get", "GET", "/confirms/{dealReference}", "trading.Confirm"
)
POSITIONS: Endpoint[Positions] = Endpoint(
    "positions.list", "GET", "/positions", "trading.Positions"
)
POSITION: Endpoint[PositionWithMarket] = Endpoint(
    "positions.get", "GET", "/positions/{dealId}", "trading.PositionWithMarket"
)
OPEN_POSITION: Endpoint[DealReference] = Endpoint(
    "positions.open",
    "POST",
    "/positions",
    "general.DealReference",
    rate=RateClass.TRADING,
    safe=False,
    order_write=True,
    body="requests.OpenPositionRequest",
)
UPDATE_POSITION: Endpoint[DealReference] = Endpoint(
    "positions.update",
    "PUT",
    "/positions/{dealId}",
    "general.DealReference",
    safe=False,
    order_write=True,
    body="requests.UpdatePositionRequest",
)
CLOSE_POSITION: Endpoint[DealReference] = Endpoint(
    "positions.close",
    "DELETE",
    "/positions/{dealId}",
    "general.DealReference",
    safe=False,
    order_write=True,
)
WORKING_ORDERS: Endpoint[WorkingOrders] = Endpoint(
    "orders.list", "GET", "/workingorders", "trading.WorkingOrders"
)
CREATE_ORDER: Endpoint[DealReference] = Endpoint(
    "orders.create",
    "POST",
    "/workingorders",
    "general.DealReference",
    rate=RateClass.TRADING,
    safe=False,
    order_write=True,
    body="requests.CreateOrderRequest",
)
UPDATE_ORDER: Endpoint[DealReference] = Endpoint(
    "orders.update",
    "PUT",
    "/workingorders/{dealId}",
    "general.DealReference",
    safe=False,
    order_write=True,
    body="requests.UpdateOrderRequest",
)
DELETE_ORDER: Endpoint[DealReference] = Endpoint(
    "orders.delete",
    "DELETE",
    "/workingorders/{dealId}",
    "general.DealReference",
    safe=False,
    order_write=True,
)

# -- markets -----------------------------------------------------------------------------------
NAVIGATION: Endpoint[MarketNavigation] = Endpoint(
    "markets.navigation", "GET", "/marketnavigation", "markets.MarketNavigation"
)
NAVIGATION_NODE: Endpoint[MarketNavigation] = Endpoint(
    "markets.navigation_node", "GET", "/marketnavigation/{nodeId}", "markets.MarketNavigation"
)
MARKETS: Endpoint[Markets] = Endpoint("markets.search", "GET", "/markets", "markets.Markets")
MARKET: Endpoint[MarketDetails] = Endpoint(
    "markets.get", "GET", "/markets/{epic}", "markets.MarketDetails"
)

# -- prices ------------------------------------------------------------------------------------
PRICES: Endpoint[PriceHistory] = Endpoint(
    "prices.get", "GET", "/prices/{epic}", "prices.PriceHistory"
)

# -- sentiment ---------------------------------------------------------------------------------
SENTIMENTS: Endpoint[ClientSentiments] = Endpoint(
    "sentiment.list", "GET", "/clientsentiment", "sentiment.ClientSentiments"
)
SENTIMENT: Endpoint[ClientSentiment] = Endpoint(
    "sentiment.get", "GET", "/clientsentiment/{marketId}", "sentiment.ClientSentiment"
)

# -- watchlists --------------------------------------------------------------------------------
WATCHLISTS: Endpoint[Watchlists] = Endpoint(
    "watchlists.list", "GET", "/watchlists", "watchlists.Watchlists"
)
CREATE_WATCHLIST: Endpoint[WatchlistCreated] = Endpoint(
    "watchlists.create",
    "POST",
    "/watchlists",
    "watchlists.WatchlistCreated",
    safe=False,
    body="requests.CreateWatchlistRequest",
)
WATCHLIST: Endpoint[WatchlistMarkets] = Endpoint(
    "watchlists.get", "GET", "/watchlists/{watchlistId}", "watchlists.WatchlistMarkets"
)
ADD_TO_WATCHLIST: Endpoint[StatusResponse] = Endpoint(
    "watchlists.add_market",
    "PUT",
    "/watchlists/{watchlistId}",
    "general.StatusResponse",
    safe=False,
    body="requests.AddToWatchlistRequest",
)
DELETE_WATCHLIST: Endpoint[StatusResponse] = Endpoint(
    "watchlists.delete", "DELETE", "/watchlists/{watchlistId}", "general.StatusResponse", safe=False
)
REMOVE_FROM_WATCHLIST: Endpoint[StatusResponse] = Endpoint(
    "watchlists.remove_market",
    "DELETE",
    "/watchlists/{watchlistId}/{epic}",
    "general.StatusResponse",
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
