"""The client's clock: the wall clock by default; with ``clock="simulator"`` the simulator's,
moved only by the client's waits (the lock-step of a backtest), over real sockets."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from capitalcom_sdk import (
    AsyncClient,
    Client,
    ConfigurationError,
    RequestValidationError,
    SimulatorClock,
    SimulatorClockError,
    WallClock,
)
from capitalcom_sim.config import SimConfig
from tests.conftest import SimHandle, single_user

START_MS = 1_767_571_200_000  # Mon 2026-01-05 00:00 UTC


@pytest.fixture
def sim_config() -> SimConfig:
    return SimConfig(users=(single_user(),), rate_limits=False, start_ms=START_MS, clock_speed=0.0)


def test_wall_clock_is_the_default(sim: SimHandle) -> None:
    with Client(**sim.client_kwargs()) as client:
        assert isinstance(client.clock, WallClock)
        assert abs(client.now().timestamp() - time.time()) < 2
        started = time.monotonic()
        client.sleep(0.05)
        assert time.monotonic() - started >= 0.045


def test_simulator_clock_moves_only_when_the_bot_waits(sim: SimHandle) -> None:
    with Client(**sim.client_kwargs(), clock="simulator") as client:
        assert isinstance(client.clock, SimulatorClock)
        assert client.now() == datetime.fromtimestamp(START_MS / 1000, UTC)
        client.markets.get("GOLD")  # thinking takes no simulated time
        assert client.now() == datetime.fromtimestamp(START_MS / 1000, UTC)
        started = time.monotonic()
        client.sleep(3600)  # an hour passes at once
        assert time.monotonic() - started < 5
        assert sim.state.clock.now_ms() == START_MS + 3_600_000
        assert client.now() == datetime.fromtimestamp(START_MS / 1000 + 3600, UTC)
        client.wait_until(client.now() + timedelta(minutes=30))
        assert sim.state.clock.now_ms() == START_MS + 5_400_000
        client.wait_until(client.now() - timedelta(minutes=30))  # the past: no wait
        assert sim.state.clock.now_ms() == START_MS + 5_400_000


async def test_async_simulator_clock(sim: SimHandle) -> None:
    async with AsyncClient(**sim.client_kwargs(), clock="simulator") as client:
        assert client.now() == datetime.fromtimestamp(START_MS / 1000, UTC)
        await client.sleep(60)
        await client.wait_until(client.now() + timedelta(seconds=60))
        assert sim.state.clock.now_ms() == START_MS + 120_000
        assert client.now() == datetime.fromtimestamp(START_MS / 1000 + 120, UTC)


def test_the_environment_picks_the_clock(sim: SimHandle) -> None:
    environ = {
        "CAPITAL_API_KEY": sim.api_key,
        "CAPITAL_IDENTIFIER": sim.identifier,
        "CAPITAL_PASSWORD": sim.password,
        "CAPITAL_BASE_URL": sim.base_url,
        "CAPITAL_CLOCK": "simulator",
    }
    with Client.from_env(environ) as client:
        client.sleep(10)
    assert sim.state.clock.now_ms() == START_MS + 10_000
    with pytest.raises(ConfigurationError, match="CAPITAL_CLOCK"):
        Client.from_env({**environ, "CAPITAL_CLOCK": "sundial"})


@pytest.mark.parametrize("bad", [-1, float("nan"), float("inf"), "5", True, None])
def test_bad_waits_are_refused_before_anything_moves(sim: SimHandle, bad: object) -> None:
    with Client(**sim.client_kwargs(), clock="simulator") as client:
        with pytest.raises(RequestValidationError, match="seconds") as caught:
            client.sleep(bad)  # type: ignore[arg-type]
        assert caught.value.field == "seconds"
        with pytest.raises(RequestValidationError, match="when"):
            client.wait_until(datetime(2026, 1, 5))  # naive
    assert sim.state.clock.now_ms() == START_MS


def test_bad_clock_arguments() -> None:
    with pytest.raises(ConfigurationError, match="clock"):
        Client(base_url="http://127.0.0.1:9", clock="sundial")
    with pytest.raises(ConfigurationError, match="clock"):
        Client(base_url="http://127.0.0.1:9", clock=object())  # type: ignore[arg-type]


def test_a_server_without_a_simulator_clock_is_a_clear_error() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(404, json={"errorCode": "error.not-found"})

    clock = SimulatorClock("http://sdk.test", transport=httpx.MockTransport(handler))
    with pytest.raises(SimulatorClockError, match="not a capitalcom simulator"):
        clock.sleep(1)
    unreachable = SimulatorClock("http://127.0.0.1:9")
    with pytest.raises(SimulatorClockError, match="unreachable"):
        unreachable.time()


def test_the_limiter_waits_on_the_simulator_clock(sim: SimHandle) -> None:
    """25 pings in no simulated time: the client-side limiter (10 per s) holds the
    last ones back by moving the simulated clock, never the wall clock."""
    with Client(**sim.client_kwargs(), clock="simulator") as client:
        client.session.login()
        before = sim.state.clock.now_ms()
        started = time.monotonic()
        for _ in range(25):
            client.general.ping()
        assert time.monotonic() - started < 5
        assert sim.state.clock.now_ms() - before >= 1000  # the limiter's waits, simulated


def test_a_backtest_clock_does_not_share_the_wall_clock_login_limit(sim: SimHandle) -> None:
    """The login window of an API key is shared in the process on the wall clock; a client on
    the simulator's clock (times years away) must not book into it, or the next wall-clock
    client would wait for a slot in another era."""
    with Client(**sim.client_kwargs(), clock="simulator") as backtest:
        backtest.session.login()
    with Client(**sim.client_kwargs()) as live:
        live.session.login()  # used to raise ClientRateLimitError: next slot in ~1.7e9 s


def test_simulator_clock_over_plain_http_names_what_is_wrong(sim: SimHandle) -> None:
    """The blocking control requests (http.client, kept alive) say what is wrong, as httpx's."""
    not_a_simulator = SimulatorClock(sim.base_url + "/elsewhere")
    with pytest.raises(SimulatorClockError, match="not a capitalcom simulator"):
        not_a_simulator.sleep(1)
    not_a_simulator.close()
    unreachable = SimulatorClock("http://127.0.0.1:9")
    with pytest.raises(SimulatorClockError, match="unreachable"):
        unreachable.sleep(1)
    clock = SimulatorClock(sim.base_url)
    clock.sleep(1)
    clock.close()  # a closed clock opens a new connection when used again
    clock.sleep(1)
    assert sim.state.clock.now_ms() == START_MS + 2_000
    clock.close()
