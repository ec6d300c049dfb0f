"""GET /accounts, GET/PUT /accounts/preferences, POST /accounts/topUp."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from capitalcom_sim.engine import Engine
from capitalcom_sim.errors import ApiError
from capitalcom_sim.http import json_body, json_response, sim_state
from capitalcom_sim.routes._wire import begin, body_bool, body_number, coerce_number, mount


def balance_json(engine: Engine, account_id: str) -> dict[str, float]:
    balance = engine.balance(account_id)
    return {
        "balance": balance.balance,
        "deposit": balance.deposit,
        "profitLoss": balance.profit_loss,
        "available": balance.available,
    }


async def accounts(request: Request) -> Response:
    session, engine = begin(request)
    items = [
        {
            "accountId": a.account_id,
            "accountName": a.account_name,
            "status": "ENABLED",
            "accountType": a.account_type,
            "preferred": a.preferred,
            "balance": balance_json(engine, a.account_id),
            "currency": a.currency,
            "symbol": engine.currency_symbol(a.currency),
        }
        for a in session.user.accounts
    ]
    return json_response({"accounts": items}, session=session)


async def preferences(request: Request) -> Response:
    session, engine = begin(request)
    prefs = engine.preferences(session.account_id)
    payload: dict[str, Any] = {
        "hedgingMode": prefs.hedging_mode,
        "leverages": {
            group: {"current": lev.current, "available": list(lev.available)}
            for group, lev in prefs.leverages.items()
        },
    }
    return json_response(payload, session=session)


async def update_preferences(request: Request) -> Response:
    session, engine = begin(request)
    body = await json_body(request)
    hedging_mode = body_bool(body, "hedgingMode")
    raw = body.get("leverages")
    leverages: dict[str, int] | None = None
    if raw is not None:
        if not isinstance(raw, dict):
            raise ApiError(400, "error.invalid.leverages")
        leverages = {}
        for group, raw_value in raw.items():
            value = coerce_number(raw_value)
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ApiError(400, "error.invalid.leverage.value")
            if value != int(value):
                raise ApiError(400, "error.invalid.leverage.value")
            leverages[str(group)] = int(value)
    engine.set_preferences(session.account_id, leverages, hedging_mode)
    return json_response({"status": "SUCCESS"}, session=session)


async def top_up(request: Request) -> Response:
    session, engine = begin(request)
    body = await json_body(request)
    amount = body_number(body, "amount", required=True)
    assert amount is not None
    try:
        engine.top_up(session.account_id, amount)
    except ApiError as exc:
        # SimConfig.top_up_cap_error: the code for a top-up past the demo balance cap is not
        # documented; one client reports account.limit.reached (docs/simulator.md).
        account_limit = sim_state(request).config.top_up_cap_error == "account-limit"
        if account_limit and exc.code == "error.invalid.balance.maxvalue":
            raise ApiError(400, "account.limit.reached") from None
        raise
    return json_response({"successful": True}, session=session)


routes = [
    *mount("/accounts", accounts, ["GET"]),
    *mount("/accounts/preferences", preferences, ["GET"]),
    *mount("/accounts/preferences", update_preferences, ["PUT"]),
    *mount("/accounts/topUp", top_up, ["POST"]),
]
