"""POST/GET/PUT/DELETE /session and GET /session/encryptionKey."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from capitalcom_sim.config import AccountConfig, UserConfig
from capitalcom_sim.errors import ApiError
from capitalcom_sim.http import authenticate, json_body, json_response, sim_state

STREAMING_HOST = "wss://api-streaming-capital.backend-capital.com/"
_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "CHF": "CHF"}


def _account_json(account: AccountConfig) -> dict[str, Any]:
    balance = {
        "balance": account.balance,
        "deposit": account.balance,
        "profitLoss": 0.0,
        "available": account.balance,
    }
    return {
        "accountId": account.account_id,
        "accountName": account.account_name,
        "preferred": account.preferred,
        "accountType": account.account_type,
        "currency": account.currency,
        "symbol": _SYMBOLS.get(account.currency, account.currency),
        "balance": balance,
    }


def _preferred(user: UserConfig) -> AccountConfig:
    return next((a for a in user.accounts if a.preferred), user.accounts[0])


async def create_session(request: Request) -> Response:
    state = sim_state(request)
    api_key = request.headers.get("x-cap-api-key")
    if not api_key:
        raise ApiError(400, "error.null.api.key")
    user = state.user_by_api_key(api_key)
    if user is None:
        raise ApiError(401, "error.invalid.api.key")
    body = await json_body(request)
    identifier, password = body.get("identifier"), body.get("password")
    if not isinstance(identifier, str) or not identifier:
        raise ApiError(400, "error.null.identifier")
    if not isinstance(password, str) or not password:
        raise ApiError(400, "error.null.password")
    if identifier != user.identifier or password != user.password:
        raise ApiError(401, "error.invalid.details")
    account = _preferred(user)
    session = state.sessions.create(user, account.account_id)
    accounts = [_account_json(a) for a in user.accounts]
    payload = {
        "accountType": account.account_type,
        "accountInfo": accounts[user.accounts.index(account)]["balance"],
        "currencyIsoCode": account.currency,
        "currencySymbol": _SYMBOLS.get(account.currency, account.currency),
        "currentAccountId": account.account_id,
        "streamingHost": STREAMING_HOST,
        "accounts": accounts,
        "clientId": user.client_id,
        "timezoneOffset": user.timezone_offset,
        "hasActiveDemoAccounts": state.config.demo,
        "hasActiveLiveAccounts": not state.config.demo,
        "trailingStopsEnabled": False,
    }
    return json_response(payload, session=session)


async def session_details(request: Request) -> Response:
    session = authenticate(request)
    account = next(a for a in session.user.accounts if a.account_id == session.account_id)
    payload = {
        "clientId": session.user.client_id,
        "accountId": session.account_id,
        "timezoneOffset": session.user.timezone_offset,
        "locale": session.user.locale,
        "currency": account.currency,
        "streamEndpoint": STREAMING_HOST,
    }
    return json_response(payload, session=session)


routes = [
    Route("/api/v1/session", create_session, methods=["POST"]),
    Route("/api/v1/session", session_details, methods=["GET"]),
]
