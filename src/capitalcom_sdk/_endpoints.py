"""Every REST endpoint of the API, declared once.

A declaration says how to call an endpoint (method, path template, response model), which rate
limit it counts against and whether it may be repeated when its outcome is unknown. The sync and
the async client execute the same declarations; the coverage table in docs is generated from
:data:`ENDPOINTS`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Generic, TypeVar
from urllib.parse import quote

from capitalcom_sdk.models.general import ServerTime, StatusResponse
from capitalcom_sdk.models.session import EncryptionKey, LoginResponse, SessionDetails

ResponseT = TypeVar("ResponseT")

API_PREFIX = "/api/v1"


class RateClass(StrEnum):
    """Which documented limit a request counts against (all count against GENERAL too)."""

    GENERAL = "general"  # 10 requests/s per user
    SESSION = "session"  # POST /session: 1/s per API key
    TRADING = "trading"  # POST /positions, POST /workingorders: 1 per 0.1 s; demo 1000/hour
    TOPUP = "topup"  # POST /accounts/topUp: 10/s, 100/day per account
    NONE = "none"  # not limited (GET /time)


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
            outcome raises :class:`~capitalcom_sdk.errors.OrderOutcomeUnknown`.
    """

    name: str
    method: str
    path: str
    response: type[ResponseT] | None
    auth: bool = True
    rate: RateClass = RateClass.GENERAL
    safe: bool = True
    order_write: bool = False

    @property
    def full_path(self) -> str:
        return API_PREFIX + self.path

    def call(
        self,
        path_params: Mapping[str, str] | None = None,
        *,
        params: Mapping[str, str | int | float | bool | None] | None = None,
        body: Mapping[str, Any] | None = None,
    ) -> ApiCall[ResponseT]:
        """Bind arguments: a ready-to-send call (pure; nothing is sent)."""
        path = self.full_path
        for key, value in (path_params or {}).items():
            path = path.replace("{" + key + "}", quote(str(value), safe=""))
        query = {
            k: ("true" if v is True else "false" if v is False else str(v))
            for k, v in (params or {}).items()
            if v is not None
        }
        return ApiCall(self, path, query, dict(body) if body is not None else None)


@dataclass(frozen=True, slots=True)
class ApiCall(Generic[ResponseT]):
    """A bound request of a declared endpoint: path filled in, query and body built."""

    endpoint: Endpoint[ResponseT]
    path: str
    params: dict[str, str]
    body: dict[str, Any] | None


# -- general -----------------------------------------------------------------------------------
SERVER_TIME = Endpoint(
    "general.server_time", "GET", "/time", ServerTime, auth=False, rate=RateClass.NONE
)
PING = Endpoint("general.ping", "GET", "/ping", StatusResponse)

# -- session -----------------------------------------------------------------------------------
ENCRYPTION_KEY = Endpoint(
    "session.encryption_key", "GET", "/session/encryptionKey", EncryptionKey, auth=False
)
SESSION_DETAILS = Endpoint("session.details", "GET", "/session", SessionDetails)
LOGIN = Endpoint(
    "session.login", "POST", "/session", LoginResponse, auth=False, rate=RateClass.SESSION
)

ENDPOINTS: tuple[Endpoint[Any], ...] = (
    SERVER_TIME,
    PING,
    ENCRYPTION_KEY,
    SESSION_DETAILS,
    LOGIN,
)
"""Every declared endpoint; the coverage check compares it with endpoints.tsv."""
