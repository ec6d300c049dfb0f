"""The simulator's side of lock-step: ``POST /_sim/clock {"next": true}`` moves a frozen clock to
the next subscribed event, ``keepalive`` carries open streams through a jump, and the rate limits
count simulated time while the clock is frozen (real sockets, the simulator on loopback)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from capitalcom_sdk import Client
from capitalcom_sim.config import SimConfig
from capitalcom_sim.engine.clock import Clock
from capitalcom_sim.ratelimit import LimitClock
from tests.conftest import SimHandle, single_user

START_MS = 1_767_571_200_000  # Mon 2026-01-05 00:00 UTC
MINUTE_MS = 60_000


@pytest.fixture
def sim_config() -> SimConfig:
    return SimConfig(
        users=(single_user(),), rate_limits=True, start_ms=START_MS, clock_speed=0.0, seed=7
    )


@pytest.fixture
def control(sim: SimHandle) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sim.base_url + "/_sim", timeout=10) as client:
        yield client


def test_next_without_subscriptions_moves_by_max_or_not_at_all(control: httpx.Client) -> None:
    answer = control.post("/clock", json={"next": True}).json()
    assert answer == {"now": START_MS, "speed": 0.0, "due": None}
    answer = control.post("/clock", json={"next": True, "max": 30}).json()
    assert answer == {"now": START_MS + 30_000, "speed": 0.0, "due": None}


def test_next_moves_to_the_next_bar_close_bounded_by_max(
    sim: SimHandle, control: httpx.Client
) -> None:
    with Client(**sim.client_kwargs()) as client, client.stream() as stream:
        stream.subscribe_ohlc("GOLD", "MINUTE_15")
        # keepalive: the stream counts as pinged through the moves (as the SDK asks in lock-step)
        move = {"next": True, "keepalive": True}
        answer = control.post("/clock", json={**move, "max": 60}).json()
        assert answer == {"now": START_MS + MINUTE_MS, "speed": 0.0, "due": START_MS + 900_000}
        answer = control.post("/clock", json=move).json()
        assert answer["now"] == answer["due"] == START_MS + 900_000
        # Emitted before the answer: the next one is due a bar later.
        answer = control.post("/clock", json={**move, "max": 0}).json()
        assert answer == {"now": START_MS + 900_000, "speed": 0.0, "due": START_MS + 1_800_000}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"next": "yes"}, "next"),
        ({"next": 1}, "next"),
        ({"next": True, "advance": 5}, "next"),
        ({"next": True, "set": START_MS}, "next"),
        ({"max": 5}, "max"),
        ({"next": False, "max": 5}, "max"),
        ({"next": True, "max": -1}, "max"),
        ({"next": True, "max": "5"}, "max"),
        ({"next": True, "max": 1e300}, "max"),
        ({"advance": 5, "keepalive": "true"}, "keepalive"),
    ],
)
def test_next_rejects_bad_input_naming_the_field(
    control: httpx.Client, body: dict[str, Any], field: str
) -> None:
    response = control.post("/clock", json=body)
    assert (response.status_code, response.json()) == (
        400,
        {"errorCode": f"error.sim.invalid.{field}"},
    )
    assert control.get("/clock").json()["now"] == START_MS  # nothing moved


def test_keepalive_carries_an_open_stream_through_a_long_jump(
    sim: SimHandle, control: httpx.Client
) -> None:
    sim.state.sessions.max_ms = 24 * 3_600_000
    with Client(**sim.client_kwargs(), clock="simulator") as client, client.stream() as stream:
        stream.subscribe_ohlc("GOLD", "HOUR")
        [conn] = sim.state.streams.connections.values()
        # 30 minutes: past the 10-minute ping timeout and the 10-minute session idle time.
        control.post("/clock", json={"advance": 1800, "keepalive": True})
        assert not conn.closing
        assert conn.ohlc  # still subscribed: its session is alive
        assert sim.state.sessions.peek(conn.session.cst if conn.session else None) is not None


def test_without_keepalive_a_long_jump_ends_the_stream(
    sim: SimHandle, control: httpx.Client
) -> None:
    with Client(**sim.client_kwargs(), clock="simulator") as client, client.stream() as stream:
        stream.subscribe_ohlc("GOLD", "HOUR")
        [conn] = sim.state.streams.connections.values()
        control.post("/clock", json={"advance": 1800})
        assert conn.closing or not conn.ohlc  # no ping for 30 minutes: as the real server


def test_two_requests_per_simulated_minute_are_never_throttled(sim: SimHandle) -> None:
    """A backtest making a couple of requests per minute bar, thousands of bars per wall
    second, is within the limits in simulated time."""
    with Client(**sim.client_kwargs(), clock="simulator", max_rate_wait=0) as client:
        for _ in range(60):  # 120 requests in well under a wall second's worth of limits
            client.prices.get("GOLD", "MINUTE", max_bars=3)
            client.markets.get("GOLD")
            client.sleep(60)
    assert sum(sim.state.stats.snapshot()["rejected_429"].values()) == 0


def test_exceeding_the_limit_in_simulated_time_is_a_429(sim: SimHandle) -> None:
    login = httpx.post(
        sim.base_url + "/api/v1/session",
        headers={"X-CAP-API-KEY": sim.api_key},
        json={"identifier": sim.identifier, "password": sim.password},
    )
    headers = {k: login.headers[k] for k in ("CST", "X-SECURITY-TOKEN")}
    with httpx.Client(base_url=sim.base_url, headers=headers, timeout=10) as http:
        http.post("/_sim/clock", json={"advance": 1})  # the login's request out of the window
        codes = [http.get("/api/v1/markets/GOLD").status_code for _ in range(11)]
        assert codes[:10] == [200] * 10
        assert codes[10] == 429
        assert http.get("/api/v1/markets/GOLD").status_code == 429  # wall time is no help
        http.post("/_sim/clock", json={"advance": 1})
        assert http.get("/api/v1/markets/GOLD").status_code == 200


def test_limit_clock_is_real_time_while_running_and_both_while_frozen() -> None:
    real = [1000.0]
    clock = Clock(START_MS, speed=1.0, real_time=lambda: real[0])
    mono = [50.0]
    limit = LimitClock(clock, monotonic=lambda: mono[0])
    assert limit() == 0.0
    mono[0] += 2.5  # running: real monotonic time counts
    assert limit() == 2.5
    clock.set_speed(0.0)
    assert limit() == 2.5  # frozen: goes on from where it was
    clock.advance(60)  # a backtest's wait: the windows move a simulated minute
    assert limit() == 62.5
    mono[0] += 10  # and real time still counts (a wall-clock client of a frozen simulator)
    assert limit() == 72.5
    clock.set(START_MS)  # set back (a reset): never goes back
    assert limit() == 72.5
    clock.advance(1)
    assert limit() == 73.5
    clock.set_speed(1.0)
    assert limit() == 73.5  # running again: from the first reading on
    mono[0] += 0.5
    assert limit() == 74.0


def test_a_wall_clock_client_of_a_frozen_simulator_is_not_locked_out(sim: SimHandle) -> None:
    """A frozen simulator (clock speed 0) served to a client on the wall clock (a catalog
    sync, `capitalcom sim --clock-speed 0`): once over a limit, a second of real time frees it,
    as on the real server; it used to stay refused until someone moved the clock."""
    login = httpx.post(
        sim.base_url + "/api/v1/session",
        headers={"X-CAP-API-KEY": sim.api_key},
        json={"identifier": sim.identifier, "password": sim.password},
    )
    headers = {k: login.headers[k] for k in ("CST", "X-SECURITY-TOKEN")}
    with httpx.Client(base_url=sim.base_url, headers=headers, timeout=10) as http:
        codes = [http.get("/api/v1/markets/GOLD").status_code for _ in range(12)]
        assert 429 in codes
        time.sleep(1.1)  # real time: what this test is about
        assert http.get("/api/v1/markets/GOLD").status_code == 200
