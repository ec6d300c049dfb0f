"""Retries against injected simulator faults (CONTRACTS §1): budgets and order safety."""

from __future__ import annotations

import httpx
import pytest

from capitalcom_sdk import AsyncClient, Client, NetworkError, RateLimitError, ServerError
from capitalcom_sdk._retry import RetryPolicy
from capitalcom_sdk.errors import RequestTimeoutError
from tests.conftest import SimHandle

PING = "GET /api/v1/ping"
FAST = RetryPolicy(max_retries=3, max_delay=5.0, base_delay=0.01, rate_limit_delay=0.01)


def requests(sim: SimHandle, key: str) -> int:
    return int(sim.state.stats.snapshot()["requests"].get(key, 0))


def fault(sim: SimHandle, **spec: object) -> None:
    sim.state.faults.add({"method": "GET", "path": "/api/v1/ping", **spec})


def test_injected_5xx_is_retried_within_budget(sim: SimHandle) -> None:
    fault(sim, kind="status", status=503, times=2)
    with Client(**sim.client_kwargs(), retry=FAST, rate_limit=False) as client:
        assert client.general.ping().status == "OK"
    assert requests(sim, PING) == 3


def test_retry_budget_is_respected_under_persistent_5xx(sim: SimHandle) -> None:
    fault(sim, kind="status", status=502, errorCode="error.bad.gateway", times=None)
    with (
        Client(**sim.client_kwargs(), retry=FAST, rate_limit=False) as client,
        pytest.raises(ServerError) as info,
    ):
        client.general.ping()
    assert info.value.status == 502
    assert requests(sim, PING) == 1 + FAST.max_retries


async def test_injected_429_is_retried_and_reported_after_the_budget(sim: SimHandle) -> None:
    fault(sim, kind="status", status=429, errorCode="error.too-many.requests", times=None)
    async with AsyncClient(**sim.client_kwargs(), retry=FAST, rate_limit=False) as client:
        with pytest.raises(RateLimitError):
            await client.general.ping()
    assert requests(sim, PING) == 1 + FAST.max_retries


def test_dropped_connection_on_a_read_is_retried(sim: SimHandle) -> None:
    fault(sim, kind="drop", times=1)
    with Client(**sim.client_kwargs(), retry=FAST, rate_limit=False) as client:
        assert client.general.ping().status == "OK"
    assert requests(sim, PING) == 2


def test_timeouts_are_retried_then_raised_as_timeout_error(sim: SimHandle) -> None:
    fault(sim, kind="timeout", times=None, latencyMs=2000)
    policy = RetryPolicy(max_retries=1, base_delay=0.01)
    with (
        Client(
            **sim.client_kwargs(),
            retry=policy,
            rate_limit=False,
            timeout=httpx.Timeout(0.3, connect=2.0),
        ) as client,
        pytest.raises(RequestTimeoutError) as info,
    ):
        client.general.ping()
    assert isinstance(info.value, NetworkError)
    assert info.value.sent
    assert requests(sim, PING) == 2


def test_max_retries_zero_turns_retries_off(sim: SimHandle) -> None:
    fault(sim, kind="status", status=503, times=1)
    with (
        Client(**sim.client_kwargs(), max_retries=0, rate_limit=False) as client,
        pytest.raises(ServerError),
    ):
        client.general.ping()
    assert requests(sim, PING) == 1


def test_connection_refused_is_a_network_error_that_was_not_sent() -> None:
    # A port nothing listens on (bound, never accepting) on loopback.
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        with (
            Client(base_url=f"http://127.0.0.1:{port}", retry=FAST) as client,
            pytest.raises(NetworkError) as info,
        ):
            client.general.server_time()
    assert info.value.sent is False
