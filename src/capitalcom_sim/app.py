"""ASGI application factory of the simulator."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from capitalcom_sim.config import SimConfig
from capitalcom_sim.errors import ApiError
from capitalcom_sim.http import error_response
from capitalcom_sim.routes import general, session
from capitalcom_sim.state import SimState


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return error_response(exc)


def create_app(config: SimConfig | None = None) -> Starlette:
    """Build a simulator app; each call has its own state (clock, market, sessions)."""
    config = config or SimConfig()
    route_list: list[BaseRoute] = [*general.routes, *session.routes]
    app = Starlette(routes=route_list, exception_handlers={ApiError: _api_error})
    app.state.sim = SimState.from_config(config)
    return app
