"""GET/POST /watchlists, GET/PUT/DELETE /watchlists/{id}, DELETE /watchlists/{id}/{epic}."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from capitalcom_sim.errors import ApiError
from capitalcom_sim.http import json_body, json_response
from capitalcom_sim.routes._wire import begin, body_str, mount, offset_of, summary_for

_SUCCESS = {"status": "SUCCESS"}


async def list_watchlists(request: Request) -> Response:
    session, engine = begin(request)
    items = [
        {
            "id": w.id,
            "name": w.name,
            "editable": w.editable,
            "deleteable": w.deleteable,
            "defaultSystemWatchlist": w.default_system_watchlist,
        }
        for w in engine.watchlists(session.user.client_id)
    ]
    return json_response({"watchlists": items}, session=session)


async def create_watchlist(request: Request) -> Response:
    session, engine = begin(request)
    body = await json_body(request)
    name = body.get("name")
    if name is None:
        name = ""
    if not isinstance(name, str):
        raise ApiError(400, "error.invalid.name")
    epics = body.get("epics")
    if epics is None:
        epics = []
    if not isinstance(epics, list) or not all(isinstance(e, str) for e in epics):
        raise ApiError(400, "error.invalid.epics")
    watchlist_id, complete = engine.create_watchlist(session.user.client_id, name, epics)
    status = "SUCCESS" if complete else "SUCCESS_NOT_ALL_INSTRUMENTS_ADDED"
    return json_response({"watchlistId": watchlist_id, "status": status}, session=session)


async def watchlist_markets(request: Request) -> Response:
    session, engine = begin(request)
    watchlist = engine.watchlist(session.user.client_id, request.path_params["watchlist_id"])
    offset = offset_of(session)
    markets = [summary_for(engine, engine.instrument(e), offset) for e in watchlist.epics]
    return json_response({"markets": markets}, session=session)


async def add_market(request: Request) -> Response:
    session, engine = begin(request)
    body = await json_body(request)
    epic = body_str(body, "epic", required=True)
    assert epic is not None
    engine.add_to_watchlist(session.user.client_id, request.path_params["watchlist_id"], epic)
    return json_response(_SUCCESS, session=session)


async def delete_watchlist(request: Request) -> Response:
    session, engine = begin(request)
    engine.delete_watchlist(session.user.client_id, request.path_params["watchlist_id"])
    return json_response(_SUCCESS, session=session)


async def remove_market(request: Request) -> Response:
    session, engine = begin(request)
    engine.remove_from_watchlist(
        session.user.client_id, request.path_params["watchlist_id"], request.path_params["epic"]
    )
    return json_response(_SUCCESS, session=session)


routes = [
    *mount("/watchlists", list_watchlists, ["GET"]),
    *mount("/watchlists", create_watchlist, ["POST"]),
    *mount("/watchlists/{watchlist_id}", watchlist_markets, ["GET"]),
    *mount("/watchlists/{watchlist_id}", add_market, ["PUT"]),
    *mount("/watchlists/{watchlist_id}", delete_watchlist, ["DELETE"]),
    *mount("/watchlists/{watchlist_id}/{epic}", remove_market, ["DELETE"]),
]
