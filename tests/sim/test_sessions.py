"""Sessions on the simulator: plain and RSA login, tokens, expiry, account switch, logout."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.serialization import load_der_public_key

from capitalcom_sim.config import AccountConfig, SimConfig, UserConfig, single_user
from capitalcom_sim.sessions import Session
from tests.conftest import SimHandle, handle_for, start_sim


@pytest.fixture
def http(sim: SimHandle) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sim.base_url + "/api/v1", timeout=10) as client:
        yield client


def _login(http: httpx.Client, sim: SimHandle, **body: Any) -> httpx.Response:
    payload: dict[str, Any] = {"identifier": sim.identifier, "password": sim.password}
    payload.update(body)
    return http.post("/session", headers={"X-CAP-API-KEY": sim.api_key}, json=payload)


def _tokens(response: httpx.Response) -> dict[str, str]:
    headers = response.headers
    return {"CST": headers["CST"], "X-SECURITY-TOKEN": headers["X-SECURITY-TOKEN"]}


def _encrypt(password: str, key_b64: str, timestamp: int) -> str:
    """Reference implementation of SPEC 3.3, independent of the SDK."""
    key = load_der_public_key(base64.b64decode(key_b64))
    assert isinstance(key, rsa.RSAPublicKey)
    assert key.key_size == 2048
    plain = base64.b64encode(f"{password}|{timestamp}".encode())
    return base64.b64encode(key.encrypt(plain, padding.PKCS1v15())).decode()


def test_plain_login_returns_tokens_and_two_accounts(http: httpx.Client, sim: SimHandle) -> None:
    response = _login(http, sim)
    assert response.status_code == 200
    body = response.json()
    assert len(body["accounts"]) >= 2
    assert body["currentAccountId"] == body["accounts"][0]["accountId"]
    assert set(body["accountInfo"]) == {"balance", "deposit", "profitLoss", "available"}
    assert _tokens(response)["CST"] != _tokens(response)["X-SECURITY-TOKEN"]


@pytest.mark.parametrize("flag", [False, "false", None])
def test_encrypted_password_flag_false_means_plain(
    http: httpx.Client, sim: SimHandle, flag: object
) -> None:
    assert _login(http, sim, encryptedPassword=flag).status_code == 200


def test_unknown_encrypted_password_flag_is_a_400(http: httpx.Client, sim: SimHandle) -> None:
    response = _login(http, sim, encryptedPassword="maybe")
    assert response.status_code == 400
    assert response.json() == {"errorCode": "error.invalid.encryptedPassword"}


@pytest.mark.parametrize(
    ("headers", "status", "code"),
    [
        ({}, 400, "error.null.api.key"),
        ({"X-CAP-API-KEY": "wrong"}, 401, "error.invalid.api.key"),
    ],
)
def test_login_and_encryption_key_check_the_api_key(
    http: httpx.Client, sim: SimHandle, headers: dict[str, str], status: int, code: str
) -> None:
    body = {"identifier": sim.identifier, "password": sim.password}
    login = http.post("/session", headers=headers, json=body)
    key = http.get("/session/encryptionKey", headers=headers)
    assert (login.status_code, login.json()) == (status, {"errorCode": code})
    assert (key.status_code, key.json()) == (status, {"errorCode": code})


@pytest.mark.parametrize(
    "body", [{"password": "wrong"}, {"identifier": "someone@else.com"}, {"password": "x" * 500}]
)
def test_wrong_credentials_are_invalid_details(
    http: httpx.Client, sim: SimHandle, body: dict[str, str]
) -> None:
    response = _login(http, sim, **body)
    assert (response.status_code, response.json()) == (401, {"errorCode": "error.invalid.details"})


def test_identifier_is_case_insensitive(http: httpx.Client, sim: SimHandle) -> None:
    assert _login(http, sim, identifier=sim.identifier.upper()).status_code == 200


@pytest.mark.parametrize("flag", [True, "true"])
def test_encrypted_login_with_reference_encryption(
    http: httpx.Client, sim: SimHandle, flag: object
) -> None:
    key = http.get("/session/encryptionKey", headers={"X-CAP-API-KEY": sim.api_key}).json()
    assert isinstance(key["timeStamp"], int)
    encrypted = _encrypt(sim.password, key["encryptionKey"], key["timeStamp"])
    assert len(encrypted) == 344
    response = _login(http, sim, password=encrypted, encryptedPassword=flag)
    assert response.status_code == 200, response.text


def test_encrypted_login_splits_on_the_last_pipe() -> None:
    config = SimConfig(users=(single_user(password="a|b|c"),), rate_limits=False)
    server = start_sim(config)
    try:
        sim = handle_for(server)
        with httpx.Client(base_url=sim.base_url + "/api/v1") as http:
            headers = {"X-CAP-API-KEY": sim.api_key}
            key = http.get("/session/encryptionKey", headers=headers).json()
            encrypted = _encrypt("a|b|c", key["encryptionKey"], key["timeStamp"])
            response = _login(http, sim, password=encrypted, encryptedPassword=True)
    finally:
        server.stop()
    assert response.status_code == 200


def test_encrypted_login_rejects_a_wrong_password(http: httpx.Client, sim: SimHandle) -> None:
    key = http.get("/session/encryptionKey", headers={"X-CAP-API-KEY": sim.api_key}).json()
    encrypted = _encrypt("not-it", key["encryptionKey"], key["timeStamp"])
    response = _login(http, sim, password=encrypted, encryptedPassword=True)
    assert (response.status_code, response.json()) == (401, {"errorCode": "error.invalid.details"})


def test_encrypted_login_rejects_a_timestamp_not_issued(http: httpx.Client, sim: SimHandle) -> None:
    key = http.get("/session/encryptionKey", headers={"X-CAP-API-KEY": sim.api_key}).json()
    encrypted = _encrypt(sim.password, key["encryptionKey"], key["timeStamp"] - 1234)
    response = _login(http, sim, password=encrypted, encryptedPassword=True)
    assert response.status_code == 401


def test_encrypted_login_rejects_a_stale_timestamp(http: httpx.Client, sim: SimHandle) -> None:
    key = http.get("/session/encryptionKey", headers={"X-CAP-API-KEY": sim.api_key}).json()
    encrypted = _encrypt(sim.password, key["encryptionKey"], key["timeStamp"])
    sim.state.clock.advance(sim.state.config.encryption_key_window_seconds + 1)
    response = _login(http, sim, password=encrypted, encryptedPassword=True)
    assert (response.status_code, response.json()) == (401, {"errorCode": "error.invalid.details"})


@pytest.mark.parametrize("garbage", ["not base64 !!", base64.b64encode(b"x" * 256).decode()])
def test_encrypted_login_with_garbage_is_invalid_details(
    http: httpx.Client, sim: SimHandle, garbage: str
) -> None:
    http.get("/session/encryptionKey", headers={"X-CAP-API-KEY": sim.api_key})
    response = _login(http, sim, password=garbage, encryptedPassword=True)
    assert (response.status_code, response.json()) == (401, {"errorCode": "error.invalid.details"})


def test_session_details_and_token_echo(http: httpx.Client, sim: SimHandle) -> None:
    login = _login(http, sim)
    response = http.get("/session", headers=_tokens(login))
    assert response.status_code == 200
    assert response.json()["accountId"] == login.json()["currentAccountId"]
    assert response.json()["streamEndpoint"] == sim.base_url.replace("http://", "ws://") + "/"
    assert _tokens(response) == _tokens(login)


@pytest.mark.parametrize(
    ("headers", "status", "code"),
    [
        ({}, 400, "error.null.client.token"),
        ({"CST": "x"}, 400, "error.null.client.token"),
        ({"CST": "x", "X-SECURITY-TOKEN": "y"}, 401, "error.invalid.session.token"),
    ],
)
def test_missing_or_unknown_tokens(
    http: httpx.Client, headers: dict[str, str], status: int, code: str
) -> None:
    response = http.get("/ping", headers=headers)
    assert (response.status_code, response.json()) == (status, {"errorCode": code})


def test_tokens_expire_after_ten_idle_minutes(http: httpx.Client, sim: SimHandle) -> None:
    tokens = _tokens(_login(http, sim))
    sim.state.clock.advance(599)
    assert http.get("/ping", headers=tokens).status_code == 200  # use extends the lifetime
    sim.state.clock.advance(599)
    assert http.get("/ping", headers=tokens).status_code == 200
    sim.state.clock.advance(601)
    response = http.get("/ping", headers=tokens)
    assert (response.status_code, response.json()["errorCode"]) == (
        401,
        "error.invalid.session.token",
    )


def test_tokens_die_at_the_hard_lifetime_despite_use(http: httpx.Client, sim: SimHandle) -> None:
    tokens = _tokens(_login(http, sim))
    for _ in range(11):  # 11 x 5 min = 55 min of steady use
        sim.state.clock.advance(300)
        assert http.get("/ping", headers=tokens).status_code == 200
    sim.state.clock.advance(301)  # 60 min 1 s after login
    assert http.get("/ping", headers=tokens).status_code == 401


def test_switch_account_rotates_the_security_token_and_calls_hooks(
    http: httpx.Client, sim: SimHandle
) -> None:
    login = _login(http, sim)
    tokens = _tokens(login)
    other = login.json()["accounts"][1]["accountId"]
    switched: list[tuple[str, str, str]] = []
    sim.state.on_account_switch.append(lambda s, old, new: switched.append((s.cst, old, new)))

    response = http.put("/session", headers=tokens, json={"accountId": other})

    assert response.status_code == 200
    assert set(response.json()) >= {"dealingEnabled", "hasActiveDemoAccounts"}
    new_tokens = _tokens(response)
    assert new_tokens["CST"] == tokens["CST"]
    assert new_tokens["X-SECURITY-TOKEN"] != tokens["X-SECURITY-TOKEN"]
    assert switched == [(tokens["CST"], login.json()["currentAccountId"], other)]
    assert http.get("/session", headers=new_tokens).json()["accountId"] == other
    # The replaced security token still works, for the now active account (issue 13.6)
    assert http.get("/session", headers=tokens).json()["accountId"] == other


def test_every_replaced_security_token_keeps_working_and_answers_carry_the_newest(
    http: httpx.Client, sim: SimHandle
) -> None:
    login = _login(http, sim)
    first = _tokens(login)
    accounts = [a["accountId"] for a in login.json()["accounts"]]
    second = _tokens(http.put("/session", headers=first, json={"accountId": accounts[1]}))
    # a client that never adopts the rotated token switches back with the original one
    back = http.put("/session", headers=first, json={"accountId": accounts[0]})
    assert back.status_code == 200
    newest = _tokens(back)
    assert (
        len({first["X-SECURITY-TOKEN"], second["X-SECURITY-TOKEN"], newest["X-SECURITY-TOKEN"]})
        == 3
    )
    for tokens in (first, second, newest):
        answer = http.get("/session", headers=tokens)
        assert answer.json()["accountId"] == accounts[0]
        assert answer.headers["X-SECURITY-TOKEN"] == newest["X-SECURITY-TOKEN"]
    assert http.get("/ping", headers={**first, "X-SECURITY-TOKEN": "forged"}).status_code == 401
    http.delete("/session", headers=first)
    assert all(http.get("/ping", headers=t).status_code == 401 for t in (first, second, newest))


def test_strict_mode_refuses_the_replaced_security_token() -> None:
    config = SimConfig(
        users=(single_user(),), rate_limits=False, accept_previous_security_token=False
    )
    server = start_sim(config)
    try:
        handle = handle_for(server)
        with httpx.Client(base_url=handle.base_url + "/api/v1", timeout=10) as client:
            login = _login(client, handle)
            tokens = _tokens(login)
            other = login.json()["accounts"][1]["accountId"]
            new = _tokens(client.put("/session", headers=tokens, json={"accountId": other}))
            assert client.get("/ping", headers=new).status_code == 200
            refused = client.get("/ping", headers=tokens)
            assert (refused.status_code, refused.json()) == (
                401,
                {"errorCode": "error.invalid.session.token"},
            )
    finally:
        server.stop()


def test_login_says_demo_and_live_accounts_exist_even_on_demo(
    http: httpx.Client, sim: SimHandle
) -> None:
    """Every recorded login (demo and live) has both flags true (issue 13.5)."""
    assert sim.state.config.demo
    login = _login(http, sim)
    body = login.json()
    assert (body["hasActiveDemoAccounts"], body["hasActiveLiveAccounts"]) == (True, True)
    other = body["accounts"][1]["accountId"]
    switched = http.put("/session", headers=_tokens(login), json={"accountId": other}).json()
    # the official "Account switched" example (demo): hasActiveDemoAccounts false, live true
    assert (switched["hasActiveDemoAccounts"], switched["hasActiveLiveAccounts"]) == (False, True)


def test_one_account_with_an_empty_name_and_an_18_digit_id() -> None:
    """The recorded live login: a single account, accountName "", an 18-digit accountId."""
    account = AccountConfig("178500000000000001", "", "USD", 1000.0, trailing_stops_enabled=True)
    user = UserConfig("24900000", "solo@example.com", "solo-key", "solo-pass", (account,))
    server = start_sim(SimConfig(users=(user,), rate_limits=False))
    try:
        with httpx.Client(base_url=server.base_url + "/api/v1", timeout=10) as client:
            login = client.post(
                "/session",
                headers={"X-CAP-API-KEY": "solo-key"},
                json={"identifier": "solo@example.com", "password": "solo-pass"},
            )
            body = login.json()
            assert [a["accountName"] for a in body["accounts"]] == [""]
            assert body["currentAccountId"] == "178500000000000001"
            assert body["trailingStopsEnabled"] is True  # as in that recording
            tokens = _tokens(login)
            listed = client.get("/accounts", headers=tokens).json()["accounts"]
            assert [(a["accountId"], a["accountName"]) for a in listed] == [
                ("178500000000000001", "")
            ]
            # switching to the only account is "not different", not a crash
            same = client.put("/session", headers=tokens, json={"accountId": "178500000000000001"})
            assert same.json() == {"errorCode": "error.not-different.accountId"}
    finally:
        server.stop()


def test_default_account_ids_have_18_digits_and_trailing_stops_follow_the_account(
    http: httpx.Client, sim: SimHandle
) -> None:
    body = _login(http, sim).json()
    assert all(len(a["accountId"]) == 18 and a["accountId"].isdigit() for a in body["accounts"])
    assert body["trailingStopsEnabled"] is False  # as in the official examples; per account


def test_trailing_stops_enabled_follows_the_account_switched_to() -> None:
    accounts = (
        AccountConfig("111111111111111111", "A", preferred=True),
        AccountConfig("222222222222222222", "B", trailing_stops_enabled=True),
    )
    user = UserConfig("24900001", "t@example.com", "t-key", "t-pass", accounts)
    server = start_sim(SimConfig(users=(user,), rate_limits=False))
    try:
        with httpx.Client(base_url=server.base_url + "/api/v1", timeout=10) as client:
            login = client.post(
                "/session",
                headers={"X-CAP-API-KEY": "t-key"},
                json={"identifier": "t@example.com", "password": "t-pass"},
            )
            assert login.json()["trailingStopsEnabled"] is False
            body = {"accountId": "222222222222222222"}
            switched = client.put("/session", headers=_tokens(login), json=body)
            assert switched.json()["trailingStopsEnabled"] is True
    finally:
        server.stop()


@pytest.mark.parametrize(
    ("account", "code"),
    [
        ("99999999999999999", "error.invalid.accountId"),
        (17, "error.invalid.accountId"),
        (None, "error.null.accountId"),
    ],
)
def test_switch_to_a_bad_account(
    http: httpx.Client, sim: SimHandle, account: object, code: str
) -> None:
    tokens = _tokens(_login(http, sim))
    response = http.put("/session", headers=tokens, json={"accountId": account})
    assert (response.status_code, response.json()) == (400, {"errorCode": code})


def test_switch_to_the_active_account_is_not_different(http: httpx.Client, sim: SimHandle) -> None:
    login = _login(http, sim)
    body = {"accountId": login.json()["currentAccountId"]}
    response = http.put("/session", headers=_tokens(login), json=body)
    assert (response.status_code, response.json()) == (
        400,
        {"errorCode": "error.not-different.accountId"},
    )


def test_logout_invalidates_tokens_and_calls_hooks(http: httpx.Client, sim: SimHandle) -> None:
    tokens = _tokens(_login(http, sim))
    ended: list[Session] = []
    sim.state.on_session_end.append(ended.append)
    response = http.delete("/session", headers=tokens)
    assert (response.status_code, response.json()) == (200, {"status": "SUCCESS"})
    assert len(ended) == 1
    assert http.get("/ping", headers=tokens).status_code == 401


def test_control_plane_expires_sessions(http: httpx.Client, sim: SimHandle) -> None:
    tokens = _tokens(_login(http, sim))
    client_id = sim.state.config.users[0].client_id
    other = httpx.post(f"{sim.base_url}/_sim/sessions/expire", json={"clientId": "nobody"})
    assert other.json() == {"expired": 0}
    listed = httpx.get(f"{sim.base_url}/_sim/sessions").json()["sessions"]
    assert [s["clientId"] for s in listed] == [client_id]
    expired = httpx.post(f"{sim.base_url}/_sim/sessions/expire", json={"clientId": client_id})
    assert expired.json() == {"expired": 1}
    assert http.get("/ping", headers=tokens).status_code == 401


def test_secrets_stay_out_of_reprs(http: httpx.Client, sim: SimHandle) -> None:
    _login(http, sim)
    session = sim.state.sessions.active()[0]
    text = repr(session) + repr(session.user) + repr(sim.state.config)
    for secret in (session.cst, session.security_token, sim.password, sim.api_key):
        assert secret not in text


def test_login_balances_come_from_the_engine_books(http: httpx.Client, sim: SimHandle) -> None:
    tokens = _tokens(_login(http, sim))
    assert http.post("/accounts/topUp", headers=tokens, json={"amount": 250}).status_code == 200
    login = _login(http, sim).json()
    account_id = login["currentAccountId"]
    booked = sim.state.engine.balance(account_id)
    assert login["accountInfo"]["balance"] == booked.balance
    assert login["accountInfo"]["deposit"] == booked.deposit
    first = next(a for a in login["accounts"] if a["accountId"] == account_id)
    configured = sim.state.config.users[0].preferred_account.balance
    assert first["balance"]["balance"] == booked.balance == configured + 250
