"""Client configuration: explicit arguments, from_env, validation, reprs."""

from __future__ import annotations

import httpx
import pytest

from capitalcom_sdk import AsyncClient, Client, ConfigurationError
from capitalcom_sdk._retry import RetryPolicy

ENV = {
    "CAPITAL_API_KEY": "env-key-9876",
    "CAPITAL_IDENTIFIER": "env@example.com",
    "CAPITAL_PASSWORD": "env-password-5432",
}


def test_from_env_reads_credentials_and_environment() -> None:
    with Client.from_env({**ENV, "CAPITAL_ENV": "live"}) as client:
        assert client.base_url == "https://api-capital.backend-capital.com"
        assert client._core.credentials is not None
        assert client._core.credentials.identifier == "env@example.com"
        assert "env-key-9876" not in repr(client)
        assert "env-password-5432" not in repr(client._core.credentials)


def test_from_env_base_url_and_overrides() -> None:
    environ = {**ENV, "CAPITAL_BASE_URL": "http://127.0.0.1:8765/api/v1/"}
    with Client.from_env(environ, rate_limit=False, max_retries=0) as client:
        assert client.base_url == "http://127.0.0.1:8765"
        assert client._core.limiter is None
        assert client._core.retry.max_retries == 0


def test_demo_is_the_default_and_applies_the_demo_budgets() -> None:
    with Client() as client:
        assert client.base_url == "https://demo-api-capital.backend-capital.com"
        assert client._core.credentials is None


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"env": "staging"}, "env must be"),
        ({"api_key": "k-12345"}, "given together"),
        ({"max_retries": 1, "retry": RetryPolicy()}, "either max_retries or retry"),
    ],
)
def test_bad_configuration_is_refused_clearly(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        Client(**kwargs)  # type: ignore[arg-type]


def test_retry_policy_rejects_negative_budgets() -> None:
    with pytest.raises(ValueError, match="max_retries"):
        RetryPolicy(max_retries=-1)


def test_retry_delays_grow_with_full_jitter_inside_the_budget() -> None:
    policy = RetryPolicy(max_retries=5, max_delay=100.0, base_delay=0.5, max_backoff=4.0, seed=3)
    ceilings = [0.5, 1.0, 2.0, 4.0, 4.0]
    for retry, ceiling in enumerate(ceilings, start=1):
        delay = policy.next_delay(retry, 0.0, rate_limited=False)
        assert delay is not None
        assert 0.0 <= delay <= ceiling
    assert policy.next_delay(6, 0.0, rate_limited=False) is None  # out of attempts
    tight = RetryPolicy(max_delay=1.0)
    assert tight.next_delay(1, 0.95, rate_limited=True) is None  # >= 0.1 s would overrun it
    assert RetryPolicy(max_delay=0.0).next_delay(1, 0.0, rate_limited=True) is None


async def test_async_client_takes_the_same_options_and_an_injected_transport() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.headers["accept"] == "application/json"
        return httpx.Response(200, json={"serverTime": 123})

    async with AsyncClient(
        base_url="http://sdk.test",
        transport=httpx.MockTransport(handler),
        timeout=3.0,
        confirm_timeout=2.5,
        max_rate_wait=5.0,
    ) as client:
        assert (await client.general.server_time()).server_time == 123
        assert client._core.confirm_timeout == 2.5
        assert client._core.max_rate_wait == 5.0


def test_one_connection_pool_per_client_with_keep_alive() -> None:
    opened: list[int] = []

    class Counting(httpx.MockTransport):
        def handle_request(self, request: httpx.Request) -> httpx.Response:
            opened.append(id(self))
            return super().handle_request(request)

    transport = Counting(lambda request: httpx.Response(200, json={"serverTime": 1}))
    with Client(base_url="http://sdk.test", transport=transport) as client:
        for _ in range(3):
            client.general.server_time()
        assert client._http is client._transport.http
    assert opened == [id(transport)] * 3


@pytest.mark.parametrize("cls", [Client, AsyncClient])
def test_env_and_base_url_are_documented_read_only_properties(cls: type[Client]) -> None:
    # Declared on the class (so the generated API reference lists them), not set per instance.
    for name in ("env", "base_url"):
        prop = getattr(cls, name)
        assert isinstance(prop, property), name
        assert prop.__doc__, name
    client = cls(env="live", base_url="http://127.0.0.1:8765/api/v1/")
    try:
        assert (client.env, client.base_url) == ("live", "http://127.0.0.1:8765")
        with pytest.raises(AttributeError):
            client.env = "demo"  # type: ignore[misc]
        with pytest.raises(AttributeError):
            client.base_url = "http://127.0.0.1:1"  # type: ignore[misc]
    finally:
        if isinstance(client, Client):
            client.close()


def test_reconcile_defaults_of_the_clients_are_those_of_reconcile() -> None:
    # The clients import _reconcile on first use, so they repeat its defaults: kept equal here.
    import inspect

    from capitalcom_sdk import _reconcile

    for cls in (Client, AsyncClient):
        params = inspect.signature(cls.reconcile).parameters
        assert params["clock_skew"].default == _reconcile.DEFAULT_SKEW
        assert params["late_apply_window"].default == _reconcile.DEFAULT_LATE_APPLY_WINDOW
