"""The backtest's read-out under /_sim/ledger: trades with their costs and the equity series.

``GET /_sim/ledger[?accountId=...]`` answers the account's closed trades (open and close time and
level, size, realised P&L, fees, funding, close reason), its open ones and the equity points
sampled on clock moves (``--equity-sample-ms``); ``POST /_sim/ledger/close-all`` closes every
open position at the current price with the close reason ``END`` (the end of a backtest). The
account defaults to the first user's preferred one. Not part of the real API.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from capitalcom_sim.errors import ApiError
from capitalcom_sim.http import json_body, json_response, sim_state
from capitalcom_sim.state import SimState


def _account_id(state: SimState, given: object) -> str:
    if given is None:
        return state.config.users[0].preferred_account.account_id
    if not isinstance(given, str) or given not in state.engine.accounts:
        raise ApiError(400, "error.sim.invalid.accountId")
    return given


async def get_ledger(request: Request) -> Response:
    state = sim_state(request)
    unknown = set(request.query_params) - {"accountId"}
    if unknown:
        raise ApiError(400, f"error.sim.invalid.{sorted(unknown)[0]}")
    account_id = _account_id(state, request.query_params.get("accountId"))
    return json_response(state.engine.ledger_json(account_id))


async def close_all(request: Request) -> Response:
    state = sim_state(request)
    body = await json_body(request)
    unknown = set(body) - {"accountId"}
    if unknown:
        raise ApiError(400, f"error.sim.invalid.{sorted(unknown)[0]}")
    account_id = _account_id(state, body.get("accountId"))
    return json_response({"closed": state.engine.close_all(account_id, "END")})


routes = [
    Route("/_sim/ledger", get_ledger, methods=["GET"]),
    Route("/_sim/ledger/close-all", close_all, methods=["POST"]),
]
