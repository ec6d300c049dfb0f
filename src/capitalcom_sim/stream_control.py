"""Streaming controls under /_sim/stream/ (CONTRACTS section 1): list, drop, stall, pause.

Not part of the real API. JSON in, JSON out; bad input is a 400 naming the field.
"""

from __future__ import annotations

import math
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route, WebSocketRoute

from capitalcom_sim.errors import ApiError
from capitalcom_sim.http import json_body, json_response, sim_state
from capitalcom_sim.streaming import StreamHub, connect_endpoint

MAX_STALL_SECONDS = 600.0


def _invalid(field_name: str) -> ApiError:
    return ApiError(400, f"error.sim.invalid.{field_name}")


def _hub(request: Request) -> StreamHub:
    return sim_state(request).streams


def _only(body: dict[str, Any], *allowed: str) -> None:
    unknown = set(body) - set(allowed)
    if unknown:
        raise _invalid(sorted(unknown)[0])


def _connection_id(body: dict[str, Any]) -> str | None:
    value = body.get("id")
    if value is not None and not isinstance(value, str):
        raise _invalid("id")
    return value


async def connections(request: Request) -> Response:
    hub = _hub(request)
    return json_response({"connections": hub.describe(), "paused": sorted(hub.paused)})


async def drop(request: Request) -> Response:
    body = await json_body(request)
    _only(body, "id")
    return json_response({"dropped": _hub(request).drop(_connection_id(body))})


async def stall(request: Request) -> Response:
    body = await json_body(request)
    _only(body, "id", "seconds")
    seconds = body.get("seconds")
    if (
        isinstance(seconds, bool)
        or not isinstance(seconds, int | float)
        or not math.isfinite(seconds)
        or not 0 <= seconds <= MAX_STALL_SECONDS
    ):
        raise _invalid("seconds")
    stalled = _hub(request).stall(_connection_id(body), float(seconds))
    return json_response({"stalled": stalled, "seconds": seconds})


async def pause(request: Request) -> Response:
    body = await json_body(request)
    _only(body, "epic", "paused")
    epic, paused = body.get("epic"), body.get("paused", True)
    if not isinstance(epic, str) or not epic:
        raise _invalid("epic")
    if not isinstance(paused, bool):
        raise _invalid("paused")
    hub = _hub(request)
    hub.pause(epic, paused)
    return json_response({"epic": epic, "paused": paused, "pausedEpics": sorted(hub.paused)})


routes: list[BaseRoute] = [
    WebSocketRoute("/connect", connect_endpoint),
    Route("/_sim/stream/connections", connections, methods=["GET"]),
    Route("/_sim/stream/drop", drop, methods=["POST"]),
    Route("/_sim/stream/stall", stall, methods=["POST"]),
    Route("/_sim/stream/pause", pause, methods=["POST"]),
]
"""The ``/connect`` websocket and its control routes; app.py mounts them with one line."""
