"""The messages of the commonest mistakes say what is wrong (against the simulator)."""

from __future__ import annotations

import socket

import pytest

from capitalcom_sdk import (
    AsyncClient,
    AuthenticationError,
    Client,
    NetworkError,
    NotFoundError,
    RequestTimeoutError,
)
from capitalcom_sdk.errors import hint_for
from tests.conftest import SimHandle


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


def test_wrong_password_names_the_api_key_password(sim: SimHandle) -> None:
    kwargs = {**sim.client_kwargs(), "password": "not-the-password-123"}
    with Client(**kwargs) as client, pytest.raises(AuthenticationError) as info:
        client.session.login()
    message = str(info.value)
    assert "error.invalid.details" in message
    assert "the one you set for this API key" in message
    assert "not your platform password" in message
    assert "not-the-password-123" not in message
    assert sim.api_key not in message


async def test_wrong_password_message_is_the_same_on_the_async_client(sim: SimHandle) -> None:
    kwargs = {**sim.client_kwargs(), "password": "not-the-password-123"}
    async with AsyncClient(**kwargs) as client:
        with pytest.raises(AuthenticationError) as info:
            await client.session.login()
    assert info.value.hint is not None
    assert "API key" in info.value.hint


def test_lower_case_epic_hints_at_the_upper_case_one(sim: SimHandle) -> None:
    with Client(**sim.client_kwargs()) as client:
        with pytest.raises(NotFoundError) as info:
            client.markets.get("gold")
        assert info.value.hint == "epics are upper-case: did you mean GOLD?"
        assert str(info.value).endswith("did you mean GOLD?")
        with pytest.raises(NotFoundError) as unknown:
            client.markets.get("NO_SUCH_EPIC")
    assert unknown.value.hint is None
    assert "did you mean" not in str(unknown.value)


def test_connection_failure_names_the_url_without_query_or_credentials() -> None:
    port = _closed_port()
    with (
        Client("key-abc", "me@example.com", "pw-xyz", base_url=f"http://127.0.0.1:{port}") as c,
        pytest.raises(NetworkError) as info,
    ):
        c.general.server_time()
    message = str(info.value)
    assert f"http://127.0.0.1:{port}/api/v1/time" in message
    assert "ConnectError" in message
    assert "key-abc" not in message
    assert not isinstance(info.value, RequestTimeoutError)


async def test_async_connection_failure_names_the_url() -> None:
    port = _closed_port()
    async with AsyncClient(
        "key-abc", "me@example.com", "pw-xyz", base_url=f"http://127.0.0.1:{port}"
    ) as client:
        with pytest.raises(NetworkError) as info:
            await client.general.server_time()
    assert f"127.0.0.1:{port}/api/v1/time" in str(info.value)


@pytest.mark.parametrize(
    ("code", "path", "expected"),
    [
        ("error.not-found.epic", "/api/v1/markets/gold", "did you mean GOLD?"),
        ("error.not-found.epic", "/api/v1/prices/eurUsd", "did you mean EURUSD?"),
        ("error.not-found.epic", "/api/v1/markets/GOLD", None),
        ("error.not-found.dealId", "/api/v1/positions/abc", None),
        ("error.invalid.details", "/api/v1/session", "not your platform password"),
        ("error.invalid.api.key", "/api/v1/session", None),
        (None, "/api/v1/markets/gold", None),
    ],
)
def test_hints_of_the_common_mistakes(code: str | None, path: str, expected: str | None) -> None:
    hint = hint_for(code, path)
    if expected is None:
        assert hint is None
    else:
        assert hint is not None
        assert expected in hint


def test_the_old_timeout_name_still_resolves_with_a_warning() -> None:
    import capitalcom_sdk.errors as errors

    with pytest.warns(DeprecationWarning, match="RequestTimeoutError"):
        old = errors.TimeoutError
    assert old is RequestTimeoutError
    assert RequestTimeoutError is not TimeoutError  # the builtin is not shadowed
    assert "TimeoutError" not in errors.__all__
