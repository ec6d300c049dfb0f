"""GET /time and GET /ping."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from capitalcom_sim.http import authenticate, json_response, sim_state


async def server_time(request: Request) -> Response:
    return json_response({"serverTime": sim_state(request).clock.now_ms()})


async def ping(request: Request) -> Response:
    session = authenticate(request)
    return json_response({"status": "OK"}, session=session)


routes = [
    Route("/api/v1/time", server_time, methods=["GET"]),
    Route("/api/v1/ping", ping, methods=["GET"]),
]
