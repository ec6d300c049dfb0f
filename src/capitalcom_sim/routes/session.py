"""POST/GET/PUT/DELETE /session and GET /session/encryptionKey (SPEC 3, 7.3-7.7)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from capitalcom_sim.config import AccountConfig, UserConfig
from capitalcom_sim.crypto import PasswordDecryptionError
from capitalcom_sim.errors import ApiError
from capitalcom_sim.http import authenticate, json_body, json_response, sim_state
from capitalcom_sim.state import SimState

STREAMING_HOST = "wss://api-streaming-capital.backend-capital.com/"
SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "CHF": "CHF", "PLN": "zł", "AUD": "A$"}
_TRUE = (True, "true")
_FALSE = (False, "false", None)


def _streaming_host(request: Request) -> str:
    """This simulator's WebSocket root, ``ws://host:port/`` (clients append ``connect``)."""
    host = request.headers.get("host") or request.url.netloc
    return f"{'wss' if request.url.scheme == 'https' else 'ws'}://{host}/"


def _balance(state: SimState, account: AccountConfig) -> dict[str, float]:
    """The account's balance block, from the engine's books."""
    try:
        balance = state.engine.balance(account.account_id)
    except NotImplementedError:  # engine accounts not landed yet: the configured balance
        return {
            "balance": account.balance,
            "deposit": account.balance,
            "profitLoss": 0.0,
            "available": account.balance,
        }
    return {
        "balance": balance.balance,
        "deposit": balance.deposit,
        "profitLoss": balance.profit_loss,
        "available": balance.available,
    }


def _account_json(state: SimState, account: AccountConfig) -> dict[str, Any]:
    return {
        "accountId": account.account_id,
        "accountName": account.account_name,
        "preferred": account.preferred,
        "accountType": account.account_type,
        "currency": account.currency,
        "symbol": SYMBOLS.get(account.currency, account.currency),
        "balance": _balance(state, account),
    }


def _api_key_user(request: Request) -> UserConfig:
    api_key = request.headers.get("x-cap-api-key")
    if not api_key:
        raise ApiError(400, "error.null.api.key")
    user = sim_state(request).user_by_api_key(api_key)
    if user is None:
        raise ApiError(401, "error.invalid.api.key")
    return user


def _plain_password(state: SimState, body: dict[str, Any], password: str) -> str:
    """The password as typed: decrypted (and its timestamp checked) when encryptedPassword."""
    encrypted = body.get("encryptedPassword")
    if encrypted in _FALSE:
        return password
    if encrypted not in _TRUE:
        raise ApiError(400, "error.invalid.encryptedPassword")
    try:
        plain, timestamp = state.keys.decrypt_password(password)
    except PasswordDecryptionError:
        raise ApiError(401, "error.invalid.details") from None
    if not state.keys.is_fresh(timestamp, state.clock.now_ms()):
        raise ApiError(401, "error.invalid.details")
    return plain


async def encryption_key(request: Request) -> Response:
    _api_key_user(request)
    state = sim_state(request)
    key, timestamp = state.keys.issue(state.clock.now_ms())
    return json_response({"encryptionKey": key, "timeStamp": timestamp})


async def create_session(request: Request) -> Response:
    state = sim_state(request)
    user = _api_key_user(request)
    body = await json_body(request)
    identifier, password = body.get("identifier"), body.get("password")
    if not isinstance(identifier, str) or not identifier:
        raise ApiError(400, "error.null.identifier")
    if not isinstance(password, str) or not password:
        raise ApiError(400, "error.null.password")
    plain = _plain_password(state, body, password)
    if identifier.casefold() != user.identifier.casefold() or plain != user.password:
        raise ApiError(401, "error.invalid.details")
    account = user.preferred_account
    session = state.sessions.create(user, account.account_id)
    accounts = [_account_json(state, a) for a in user.accounts]
    payload = {
        "accountType": account.account_type,
        "accountInfo": _balance(state, account),
        "currencyIsoCode": account.currency,
        "currencySymbol": SYMBOLS.get(account.currency, account.currency),
        "currentAccountId": account.account_id,
        "streamingHost": _streaming_host(request),
        "accounts": accounts,
        "clientId": user.client_id,
        "timezoneOffset": user.timezone_offset,
        # Every recorded login, demo ones and a live one, has both flags true: they say what the
        # client owns, not which server answers (docs/simulator.md "Evidence and choices").
        "hasActiveDemoAccounts": True,
        "hasActiveLiveAccounts": True,
        "trailingStopsEnabled": account.trailing_stops_enabled,
    }
    return json_response(payload, session=session)


async def session_details(request: Request) -> Response:
    session = authenticate(request)
    account = session.user.account(session.account_id) or session.user.preferred_account
    payload = {
        "clientId": session.user.client_id,
        "accountId": session.account_id,
        "timezoneOffset": session.user.timezone_offset,
        "locale": session.user.locale,
        "currency": account.currency,
        "streamEndpoint": _streaming_host(request),
    }
    return json_response(payload, session=session)


async def switch_account(request: Request) -> Response:
    state = sim_state(request)
    session = authenticate(request)
    body = await json_body(request)
    account_id = body.get("accountId")
    if account_id is None or account_id == "":
        raise ApiError(400, "error.null.accountId")
    if not isinstance(account_id, str) or session.user.account(account_id) is None:
        raise ApiError(400, "error.invalid.accountId")
    if account_id == session.account_id:
        raise ApiError(400, "error.not-different.accountId")
    previous = state.sessions.switch_account(session, account_id)
    state.account_switched(session, previous)
    account = session.user.account(account_id) or session.user.preferred_account
    payload = {
        "trailingStopsEnabled": account.trailing_stops_enabled,
        "dealingEnabled": True,
        # as recorded in the official "Account switched" example (a demo server's answer)
        "hasActiveDemoAccounts": False,
        "hasActiveLiveAccounts": True,
    }
    return json_response(payload, session=session)


async def logout(request: Request) -> Response:
    state = sim_state(request)
    session = authenticate(request)
    state.sessions.delete(session)
    state.session_ended(session)
    return json_response({"status": "SUCCESS"})


routes = [
    Route("/api/v1/session/encryptionKey", encryption_key, methods=["GET"]),
    Route("/api/v1/session", create_session, methods=["POST"]),
    Route("/api/v1/session", session_details, methods=["GET"]),
    Route("/api/v1/session", switch_account, methods=["PUT"]),
    Route("/api/v1/session", logout, methods=["DELETE"]),
]
