"""Request and response helpers shared by the REST routes."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from capitalcom_sim import numbers
from capitalcom_sim.errors import ApiError
from capitalcom_sim.sessions import Session
from capitalcom_sim.state import SimState

# Headers every recorded response of the real servers carries (SPEC.md section 2).
COMMON_HEADERS = {
    "Vary": "Origin, Access-Control-Request-Method, Access-Control-Request-Headers",
    "Content-Security-Policy": "connect-src 'self'",
    "X-Content-Type-Options": "nosniff",
    "X-XSS-Protection": "1; mode=block",
    "Cache-Control": "no-cache, no-store, max-age=0, must-revalidate",
    "Pragma": "no-cache",
    "Expires": "0",
    "X-Frame-Options": "DENY",
}


def sim_state(request: Request) -> SimState:
    state: SimState = request.app.state.sim
    return state


EXPOSE_HEADERS = "CST, X-SECURITY-TOKEN"
_SESSION_KEY = "capitalcom_sim.session"

# Error answers and the session headers they carry (docs/simulator.md "Errors and robustness"). In
# the official examples an error raised once the request is authenticated carries CST and
# X-SECURITY-TOKEN (24 of 29); the two request-validation errors below do not: the watchlist
# name-length check carries none, the navigation limit check only Access-Control-Expose-Headers.
# Errors before authentication (login, missing or dead tokens) have no session to echo.
NO_SESSION_HEADERS = "none"
EXPOSE_ONLY = "expose-only"
_ERROR_HEADER_EXCEPTIONS = {
    "error.size.createwatchlistrequest.name": NO_SESSION_HEADERS,
    "error.invalid.limit": EXPOSE_ONLY,
}


def json_response(
    payload: Any,
    status: int = 200,
    session: Session | None = None,
    *,
    wire_numbers: bool = True,
) -> Response:
    """A JSON response with the real servers' headers; echoes the session tokens when given.

    ``wire_numbers`` writes numbers as the recordings do (``capitalcom_sim.numbers``); turn it
    off only for payloads none of its fields occur in.
    """
    if wire_numbers:
        numbers.apply(payload)
    body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    headers = dict(COMMON_HEADERS)
    if session is not None:
        headers["CST"] = session.cst
        headers["X-SECURITY-TOKEN"] = session.security_token
        headers["Access-Control-Expose-Headers"] = EXPOSE_HEADERS
    return Response(body, status_code=status, headers=headers, media_type="application/json")


def request_session(request: Request | None) -> Session | None:
    """The session this request authenticated with, if it got that far."""
    if request is None:
        return None
    session = request.scope.get("state", {}).get(_SESSION_KEY)
    return session if isinstance(session, Session) else None


def error_response(error: ApiError, request: Request | None = None) -> Response:
    """``{"errorCode": ...}``; with the session headers when the request was authenticated."""
    session = request_session(request)
    policy = _ERROR_HEADER_EXCEPTIONS.get(error.code)
    if policy is None:
        return json_response({"errorCode": error.error_code}, status=error.status, session=session)
    response = json_response({"errorCode": error.error_code}, status=error.status)
    if policy == EXPOSE_ONLY and session is not None:
        response.headers["Access-Control-Expose-Headers"] = EXPOSE_HEADERS
    return response


def authenticate(request: Request) -> Session:
    """The session named by the request's CST / X-SECURITY-TOKEN headers (or an ApiError).

    The session is remembered on the request so that an error answer raised later carries the
    session headers, as the real servers' do.
    """
    session = sim_state(request).sessions.authenticate(
        request.headers.get("cst"), request.headers.get("x-security-token")
    )
    request.scope.setdefault("state", {})[_SESSION_KEY] = session
    return session


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


async def json_body(request: Request) -> dict[str, Any]:
    """The request's JSON object body; malformed JSON or a non-object is a 400.

    ``NaN``/``Infinity`` (accepted by Python's json, not by JSON) and absurd nesting are malformed.
    """
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        data = json.loads(raw, parse_constant=_reject_constant)
    except (ValueError, RecursionError):
        raise ApiError(400, "error.malformed.request") from None
    if not isinstance(data, dict):
        raise ApiError(400, "error.malformed.request")
    return data
