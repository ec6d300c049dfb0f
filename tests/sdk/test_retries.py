"""Retry decisions and order safety, unit-tested with httpx.MockTransport (no server)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from capitalcom_sdk import (
    AsyncClient,
    Client,
    InvalidRequestError,
    NetworkError,
    OrderOutcomeUnknown,
    RateLimitError,
    ServerError,
)
from capitalcom_sdk import _endpoints as ep
from capitalcom_sdk._retry import Decision, RetryPolicy, decide

LOGIN_BODY = {
    "accountType": "CFD",
    "accountInfo": {"balance": 1, "deposit": 1, "profitLoss": 0, "available": 1},
    "currencyIsoCode": "USD",
    "currencySymbol": "$",
    "currentAccountId": "12345678901234567",
    "streamingHost": "wss://example.invalid/",
    "accounts": [],
    "clientId": "12345678",
    "timezoneOffset": 0,
    "hasActiveDemoAccounts": True,
    "hasActiveLiveAccounts": False,
    "trailingStopsEnabled": False,
}
ORDER = {"epic": "GOLD", "direction": "BUY", "size": 1.0}
FAST = RetryPolicy(max_retries=3, max_delay=5.0, base_delay=0.001, rate_limit_delay=0.001)

Handler = Callable[[httpx.Request], httpx.Response]


class Server:
    """A scripted fake server: login always works; other paths follow a list of outcomes."""

    def __init__(self, *outcomes: int | type[Exception]) -> None:
        self.outcomes = list(outcomes)
        self.seen: list[str] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if request.method == "POST" and path == "/api/v1/session":
            return httpx.Response(
                200, json=LOGIN_BODY, headers={"CST": "cst-1", "X-SECURITY-TOKEN": "tok-1"}
            )
        self.seen.append(f"{request.method} {path}")
        outcome = self.outcomes.pop(0) if self.outcomes else 200
        if isinstance(outcome, type):
            raise outcome("scripted failure", request=request)  # type: ignore[call-arg]
        if outcome == 200:
            body = {"status": "OK"} if request.method == "GET" else {"dealReference": "o_1"}
            return httpx.Response(200, json=body)
        code = {
            429: "error.too-many.requests",
            400: "error.invalid.size.minvalue",
            401: "error.invalid.session.token",
        }.get(outcome, "error.service.unavailable")
        return httpx.Response(outcome, json={"errorCode": code})


CREDENTIALS = ("key-123456", "me@example.com", "secret-pw")


def mocked(handler: Handler, **options: Any) -> Client:
    """A logged-out Client whose requests go to ``handler`` (no network)."""
    return Client(
        *CREDENTIALS, base_url="http://sdk.test", transport=httpx.MockTransport(handler), **options
    )


def client_for(server: Server, retry: RetryPolicy = FAST) -> Client:
    return mocked(server, retry=retry, rate_limit=False)


@pytest.mark.parametrize(
    ("status", "sent", "safe", "order_write", "expected"),
    [
        (429, True, False, True, Decision.RETRY),
        (503, True, True, False, Decision.RETRY),
        (503, True, False, True, Decision.UNKNOWN),
        (503, True, False, False, Decision.RAISE),
        (400, True, True, False, Decision.RAISE),
        (404, True, True, False, Decision.RAISE),
        (None, False, False, True, Decision.RETRY),
        (None, True, False, True, Decision.UNKNOWN),
        (None, True, True, False, Decision.RETRY),
        (None, True, False, False, Decision.RAISE),
    ],
)
def test_decision_table(
    status: int | None, sent: bool, safe: bool, order_write: bool, expected: Decision
) -> None:
    assert decide(status=status, sent=sent, safe=safe, order_write=order_write) is expected


def test_safe_get_is_retried_through_5xx_and_resets() -> None:
    server = Server(503, httpx.ReadError, 502)
    with client_for(server) as client:
        assert client.general.ping().status == "OK"
    assert server.seen == ["GET /api/v1/ping"] * 4


def test_retry_count_is_bounded() -> None:
    server = Server(503, 503, 503, 503, 503)
    with client_for(server) as client, pytest.raises(ServerError):
        client.general.ping()
    assert len(server.seen) == 4  # the first attempt and max_retries=3 repeats


def test_retry_total_delay_is_bounded() -> None:
    policy = RetryPolicy(max_retries=50, max_delay=0.05, base_delay=0.02, seed=1)
    server = Server(*([503] * 50))
    with client_for(server, policy) as client, pytest.raises(ServerError):
        client.general.ping()
    assert 2 <= len(server.seen) < 50


def test_429_is_retried_and_then_reported() -> None:
    server = Server(429, 429, 429, 429)
    with client_for(server) as client, pytest.raises(RateLimitError):
        client.general.ping()
    assert len(server.seen) == 4


def test_other_4xx_is_never_retried() -> None:
    server = Server(400)
    with client_for(server) as client, pytest.raises(InvalidRequestError) as info:
        client.general.ping()
    assert info.value.error_code == "error.invalid.size.minvalue"
    assert len(server.seen) == 1


def test_order_write_is_repeated_after_429_and_connect_errors_only() -> None:
    server = Server(429, httpx.ConnectError, 200)
    with client_for(server) as client:
        result = client._transport.execute(ep.OPEN_POSITION.call(body=ORDER))
    assert result.deal_reference == "o_1"
    assert server.seen == ["POST /api/v1/positions"] * 3


@pytest.mark.parametrize("failure", [httpx.ReadTimeout, httpx.RemoteProtocolError, 503, 500])
def test_ambiguous_order_failure_is_never_sent_twice(failure: int | type[Exception]) -> None:
    server = Server(failure)
    with client_for(server) as client, pytest.raises(OrderOutcomeUnknown) as info:
        client._transport.execute(ep.OPEN_POSITION.call(body=ORDER))
    assert server.seen == ["POST /api/v1/positions"]
    exc = info.value
    assert (exc.endpoint, exc.method, exc.path) == ("positions.open", "POST", "/api/v1/positions")
    assert exc.body == ORDER
    assert exc.sent_at > 0
    assert exc.request["body"] == ORDER


def test_unsafe_non_order_write_is_not_retried_on_ambiguous_failure() -> None:
    server = Server(httpx.ReadTimeout)
    call = ep.DELETE_WATCHLIST.call({"watchlistId": "w1"})
    with client_for(server) as client, pytest.raises(NetworkError) as info:
        client._transport.execute(call)
    assert info.value.sent is True
    assert len(server.seen) == 1


def test_a_close_is_retried_when_nothing_was_sent() -> None:
    server = Server(httpx.ConnectError, 200)
    with client_for(server) as client:
        client._transport.execute(ep.CLOSE_POSITION.call({"dealId": "d1"}))
    assert len(server.seen) == 2


def test_session_expiry_on_an_order_relogs_and_repeats_it_once() -> None:
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(f"{request.method} {request.url.path} {request.headers.get('cst')}")
        if request.url.path == "/api/v1/session":
            n = sum(c.startswith("POST /api/v1/session") for c in calls)
            tokens = {"CST": f"cst-{n}", "X-SECURITY-TOKEN": f"tok-{n}"}
            return httpx.Response(200, json=LOGIN_BODY, headers=tokens)
        if request.headers.get("cst") == "cst-1":
            return httpx.Response(401, json={"errorCode": "error.invalid.session.token"})
        return httpx.Response(200, json={"dealReference": "o_2"})

    with mocked(handler, rate_limit=False) as client:
        result = client._transport.execute(ep.OPEN_POSITION.call(body=ORDER))
    assert result.deal_reference == "o_2"
    assert calls == [
        "POST /api/v1/session None",
        "POST /api/v1/positions cst-1",
        "POST /api/v1/session None",
        "POST /api/v1/positions cst-2",
    ]


def test_a_relogin_does_not_use_up_the_retry_budget() -> None:
    server = Server(401, 503, 503, 503, 200)
    with client_for(server) as client:  # max_retries=3
        assert client.general.ping().status == "OK"
    assert len(server.seen) == 5


def test_late_echo_of_old_tokens_is_ignored() -> None:
    with client_for(Server()) as client:
        tokens = client._core.tokens
        tokens.update({"cst": "a-cst", "x-security-token": "a-tok"}, None)
        old = tokens.generation
        tokens.update({"cst": "b-cst", "x-security-token": "b-tok"}, None)  # a re-login
        assert not tokens.update({"cst": "a-cst", "x-security-token": "a-tok"}, old)
        assert tokens.cst == "b-cst"


def test_empty_logout_body_is_accepted() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            return httpx.Response(
                200, json=LOGIN_BODY, headers={"CST": "c-1234", "X-SECURITY-TOKEN": "t-1234"}
            )
        if request.method == "DELETE":
            return httpx.Response(200, content=b"")
        return httpx.Response(200, json={"status": "OK"})

    with mocked(handler) as client:
        client.general.ping()
        client.session.logout()
        assert not client._core.tokens.present


async def test_async_transport_follows_the_same_rules() -> None:
    server = Server(503, 200, httpx.ReadTimeout)
    async with AsyncClient(
        *CREDENTIALS,
        base_url="http://sdk.test",
        transport=httpx.MockTransport(server),
        retry=FAST,
        rate_limit=False,
    ) as client:
        assert (await client.general.ping()).status == "OK"
        with pytest.raises(OrderOutcomeUnknown):
            await client._transport.execute(ep.OPEN_POSITION.call(body=ORDER))
    assert server.seen == ["GET /api/v1/ping", "GET /api/v1/ping", "POST /api/v1/positions"]


def test_malformed_success_body_names_the_endpoint() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=json.dumps({"serverTime": "soon"}).encode())

    with (
        Client(base_url="http://sdk.test", transport=httpx.MockTransport(handler)) as client,
        pytest.raises(Exception, match=r"general\.server_time"),
    ):
        client.general.server_time()


def test_api_key_is_sent_only_where_the_api_requires_it() -> None:
    seen: dict[str, str | None] = {}

    def handler(request: httpx.Request) -> httpx.Response:
        seen[f"{request.method} {request.url.path}"] = request.headers.get("x-cap-api-key")
        if request.url.path == "/api/v1/session":
            return httpx.Response(
                200, json=LOGIN_BODY, headers={"CST": "c-1234", "X-SECURITY-TOKEN": "t-1234"}
            )
        if request.url.path == "/api/v1/time":
            return httpx.Response(200, json={"serverTime": 1})
        return httpx.Response(200, json={"status": "OK"})

    with mocked(handler) as client:
        client.general.server_time()
        client.general.ping()
    assert seen == {
        "GET /api/v1/time": None,
        "POST /api/v1/session": "key-123456",
        "GET /api/v1/ping": None,
    }
