"""ASGI application factory of the simulator."""

from __future__ import annotations

import logging

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp

from capitalcom_sim import control, recording, stream_control
from capitalcom_sim.config import SimConfig
from capitalcom_sim.errors import ApiError
from capitalcom_sim.http import error_response, json_response
from capitalcom_sim.middleware import PlatformMiddleware
from capitalcom_sim.routes import (
    accounts,
    general,
    history,
    markets,
    prices,
    sentiment,
    session,
    trading,
    watchlists,
)
from capitalcom_sim.state import SimState

logger = logging.getLogger(__name__)

# errorCodes for HTTP-level failures the real API documents no code for (our choice).
_HTTP_ERROR_CODES = {
    404: "error.not-found.route",
    405: "error.method-not-allowed",
}


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return error_response(exc, request)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code = _HTTP_ERROR_CODES.get(exc.status_code, f"error.http.{exc.status_code}")
    response = json_response({"errorCode": code}, status=exc.status_code)
    if exc.headers:
        response.headers.update(exc.headers)
    if exc.status_code == 405:
        # Starlette names only the first route's methods; list every route on this path.
        allowed = sorted(
            method
            for route in request.app.router.routes
            if isinstance(route, Route) and route.path_regex.match(request.url.path)
            for method in route.methods or ()
        )
        response.headers["Allow"] = ", ".join(allowed)
    return response


async def _internal_error(request: Request, exc: Exception) -> Response:
    # Logged (with traceback) by PlatformMiddleware, which sees the exception re-raised.
    return json_response({"errorCode": "error.internal"}, status=500)


class SimApp(Starlette):
    """Starlette with the platform layer outermost, so it talks to the server directly."""

    def build_middleware_stack(self) -> ASGIApp:
        state: SimState = self.state.sim
        return PlatformMiddleware(super().build_middleware_stack(), state, self.router.routes)


def create_app(config: SimConfig | None = None) -> SimApp:
    """Build a simulator app; each call has its own state (clock, market, sessions)."""
    config = config or SimConfig()
    route_list: list[BaseRoute] = [
        *general.routes,
        *session.routes,
        *markets.routes,  # the hottest routes first: Starlette matches in order
        *prices.routes,
        *accounts.routes,
        *history.routes,
        *trading.routes,
        *sentiment.routes,
        *watchlists.routes,
        *control.routes,
        *recording.routes,
        *stream_control.routes,  # /connect websocket and /_sim/stream/*
    ]
    app = SimApp(
        routes=route_list,
        exception_handlers={
            ApiError: _api_error,
            HTTPException: _http_error,
            Exception: _internal_error,
        },
    )
    app.state.sim = SimState.from_config(config)
    return app
