"""Request and response helpers shared by the REST routes."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

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


def json_response(payload: Any, status: int = 200, session: Session | None = None) -> Response:
    """A JSON response with the real servers' headers; echoes the session tokens when given."""
    body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    headers = dict(COMMON_HEADERS)
    if session is not None:
        headers["CST"] = session.cst
        headers["X-SECURITY-TOKEN"] = session.security_token
        headers["Access-Control-Expose-Headers"] = "CST, X-SECURITY-TOKEN"
    return Response(body, status_code=status, headers=headers, media_type="application/json")


def error_response(error: ApiError) -> Response:
    return json_response({"errorCode": error.error_code}, status=error.status)


def authenticate(request: Request) -> Session:
    """The session named by the request's CST / X-SECURITY-TOKEN headers (or an ApiError)."""
    return sim_state(request).sessions.authenticate(
        request.headers.get("cst"), request.headers.get("x-security-token")
    )


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
