"""GET /markets, GET /markets/{epic}, GET /marketnavigation[/{nodeId}]."""

from __future__ import annotations

import json
import weakref
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from capitalcom_sim import numbers
from capitalcom_sim.engine import Engine, MarketSnapshot
from capitalcom_sim.errors import ApiError
from capitalcom_sim.http import json_response
from capitalcom_sim.routes._wire import (
    begin,
    market_details,
    mount,
    offset_of,
    query_int,
    summary_for,
)

MAX_EPICS = 50


async def list_markets(request: Request) -> Response:
    session, engine = begin(request)
    offset = offset_of(session)
    params = request.query_params
    search_term = params.get("searchTerm")
    epics_param = params.get("epics")
    if search_term is not None:
        if not search_term.strip():
            raise ApiError(400, "error.null.searchTerm")
        found = engine.search(search_term.strip())
        payload: dict[str, Any] = {"markets": [summary_for(engine, i, offset) for i in found]}
    elif epics_param is not None:
        epics = [e.strip() for e in epics_param.split(",") if e.strip()]
        if not epics:
            raise ApiError(400, "error.null.epic")
        if len(epics) > MAX_EPICS:
            raise ApiError(400, "error.invalid.epics.size", MAX_EPICS)
        known = [engine.instruments.get(e) for e in dict.fromkeys(epics)]
        details = [market_details(engine, i, session.account_id) for i in known if i is not None]
        if not details:
            raise ApiError(404, "error.not-found.epic")
        payload = {"marketDetails": details}
    else:
        payload = {"markets": [summary_for(engine, i, offset) for i in engine.instruments]}
    return json_response(payload, session=session)


# Serialized market details by engine, keyed by (snapshot, marginFactor): the hot path of
# benchmarks serves the same bytes for every request within one tick.
_DETAILS: weakref.WeakKeyDictionary[Engine, dict[tuple[MarketSnapshot, float], bytes]] = (
    weakref.WeakKeyDictionary()
)
_DETAILS_MAX = 2048


async def market(request: Request) -> Response:
    session, engine = begin(request)
    inst = engine.instrument(request.path_params["epic"])
    key = (engine.snapshot(inst.epic), engine.margin_factor(session.account_id, inst))
    cache = _DETAILS.setdefault(engine, {})
    body = cache.get(key)
    if body is None:
        payload = numbers.apply(market_details(engine, inst, session.account_id))
        body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        if len(cache) >= _DETAILS_MAX:
            cache.clear()
        cache[key] = body
    response = json_response({}, session=session)
    response.body = body
    response.headers["content-length"] = str(len(body))
    return response


async def navigation_root(request: Request) -> Response:
    session, engine = begin(request)
    nodes, _ = engine.navigation(None)
    payload = {"nodes": [{"id": n.id, "name": n.name} for n in nodes]}
    return json_response(payload, session=session)


async def navigation_node(request: Request) -> Response:
    session, engine = begin(request)
    limit = query_int(request, "limit", 500, 1, 500, "error.invalid.limit")
    nodes, markets = engine.navigation(
        request.path_params["node_id"], limit, client_id=session.user.client_id
    )
    payload: dict[str, Any] = {"nodes": [{"id": n.id, "name": n.name} for n in nodes]}
    if markets is not None:
        offset = offset_of(session)
        payload["markets"] = [summary_for(engine, i, offset) for i in markets]
    return json_response(payload, session=session)


routes = [
    *mount("/markets", list_markets, ["GET"]),
    *mount("/markets/{epic}", market, ["GET"]),
    *mount("/marketnavigation", navigation_root, ["GET"]),
    *mount("/marketnavigation/{node_id}", navigation_node, ["GET"]),
]
