"""Client-side limits against the simulator with its rate limits ON: no 429, near full speed."""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from capitalcom_sdk import AsyncClient, Client
from capitalcom_sim.config import SimConfig, single_user
from tests.conftest import SimHandle

ALLOWED_PER_SECOND = 10.0


@pytest.fixture
def sim_config() -> SimConfig:
    return SimConfig(users=(single_user(),), rate_limits=True, seed=7)


def ideal_seconds(requests: int) -> float:
    """The shortest time the server's sliding window allows: 10 at once, then 10 per second."""
    return float((requests - 1) // int(ALLOWED_PER_SECOND))


def rejected(sim: SimHandle) -> int:
    return int(sim.state.stats.snapshot()["status"].get("429", 0))


@pytest.mark.slow
async def test_hundred_concurrent_requests_get_no_429_at_over_90_percent_of_the_rate(
    sim: SimHandle,
) -> None:
    async with AsyncClient(**sim.client_kwargs(), max_retries=0) as client:
        await client.session.login()
        n = 100
        started = time.monotonic()
        results = await asyncio.gather(*(client.general.ping() for _ in range(n)))
        elapsed = time.monotonic() - started
    assert {r.status for r in results} == {"OK"}
    assert rejected(sim) == 0
    ideal = ideal_seconds(n + 1)  # the login shares the first window
    assert ideal / elapsed >= 0.90, f"{n} requests took {elapsed:.2f} s (ideal {ideal:.2f} s)"


@pytest.mark.slow
def test_threads_sharing_a_client_stay_within_the_limit(sim: SimHandle) -> None:
    with Client(**sim.client_kwargs(), max_retries=0) as client:
        client.session.login()
        started = time.monotonic()
        with ThreadPoolExecutor(8) as pool:
            statuses = list(pool.map(lambda _: client.general.ping().status, range(40)))
        elapsed = time.monotonic() - started
    assert set(statuses) == {"OK"}
    assert rejected(sim) == 0
    assert elapsed >= ideal_seconds(41) - 0.05
    assert ideal_seconds(41) / elapsed >= 0.90


def test_request_delay_says_when_the_next_request_could_go(sim: SimHandle) -> None:
    with (
        Client(**sim.client_kwargs()) as client,
        Client(**sim.client_kwargs(), rate_limit=False) as unlimited,
    ):
        client.session.login()
        assert client.request_delay() == 0.0  # one request (the login) in the window
        for _ in range(9):
            client.general.ping()
        delay = client.request_delay()
        assert 0.0 < delay <= 1.01  # the login and 9 pings fill one window
        started = time.monotonic()
        client.general.ping()  # the look booked nothing: this one waits about as long
        assert time.monotonic() - started >= delay - 0.05
        assert unlimited.request_delay() == 0.0


def test_rate_limit_false_turns_the_limiter_off(sim: SimHandle) -> None:
    with Client(**sim.client_kwargs(), rate_limit=False, max_retries=0) as client:
        assert client._core.limiter is None
        client.session.login()
        errors = 0
        for _ in range(25):
            try:
                client.general.ping()
            except Exception:
                errors += 1
    assert errors > 0  # the server's own limit shows: the client did not hold back
    assert rejected(sim) == errors


@pytest.mark.slow
async def test_unlimited_server_time_does_not_eat_into_the_users_budget(sim: SimHandle) -> None:
    async with AsyncClient(**sim.client_kwargs(), max_retries=0) as client:
        await client.session.login()
        calls = [client.general.ping() for _ in range(25)]
        calls += [client.general.server_time() for _ in range(25)]
        await asyncio.gather(*calls)
    assert rejected(sim) == 0


async def test_a_client_taking_over_from_another_of_the_same_key_gets_no_429(
    sim: SimHandle,
) -> None:
    """A new AsyncClient of the key right after another one filled the second (a catalog run
    after the previous one): the server counts both against the same user."""
    for _ in range(3):
        async with AsyncClient(**sim.client_kwargs(), max_retries=0) as client:
            await client.session.login()
            await asyncio.gather(*(client.general.ping() for _ in range(12)))
    assert rejected(sim) == 0
