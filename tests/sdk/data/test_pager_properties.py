"""Property tests of the price pager against the simulator's engine.

For random markets, resolutions and ranges (up to 2.6 pages of 1000 bars, edges off the bar
grid), ``client.prices.history`` over real HTTP must equal one direct generation of the same range
by the engine in-process, strictly increasing and without duplicates.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from capitalcom_sdk import AsyncClient, Client, Resolution
from capitalcom_sim.config import SimConfig, single_user
from capitalcom_sim.server import SimServer
from tests.conftest import start_sim

RESOLUTION_SECONDS = {r.value: r.seconds for r in Resolution}
EPICS = ("GOLD", "EURUSD", "US500", "BTCUSD")


@pytest.fixture(scope="module")
def frozen_sim() -> Iterator[SimServer]:
    """A simulator whose clock stands still, so that "now" is the same for both sides."""
    server = start_sim(SimConfig(users=(single_user(),), rate_limits=False, seed=5))
    server.state.clock.set_speed(0)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def client(frozen_sim: SimServer) -> Iterator[Client]:
    user = frozen_sim.config.users[0]
    with Client(user.api_key, user.identifier, user.password, base_url=frozen_sim.base_url) as c:
        yield c


def _key(
    start_ms: int, bid: tuple[float, ...], ask: tuple[float, ...], volume: float
) -> tuple[Any, ...]:
    return (start_ms, bid, ask, int(volume))


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    epic=st.sampled_from(EPICS),
    resolution=st.sampled_from(sorted(RESOLUTION_SECONDS)),
    length=st.integers(min_value=1, max_value=2600),
    end_back=st.integers(min_value=0, max_value=30),
    start_jitter=st.floats(min_value=0.0, max_value=0.999),
    end_jitter=st.floats(min_value=0.0, max_value=0.999),
)
def test_paged_history_equals_one_direct_generation(
    frozen_sim: SimServer,
    client: Client,
    epic: str,
    resolution: str,
    length: int,
    end_back: int,
    start_jitter: float,
    end_jitter: float,
) -> None:
    step = RESOLUTION_SECONDS[resolution]
    now_ms = frozen_sim.state.clock.now_ms()
    now = datetime.fromtimestamp(now_ms // 1000, tz=UTC)
    end = now - timedelta(seconds=end_back * step + int(end_jitter * step))
    start = end - timedelta(seconds=length * step - int(start_jitter * step))

    history = client.prices.history(epic, resolution, start, end)

    got = _got(history)
    times = [k[0] for k in got]
    assert times == sorted(set(times)), "not strictly increasing or duplicated"
    assert got == _direct(frozen_sim, epic, resolution, start, end, now_ms)


def _got(history: Any) -> list[tuple[Any, ...]]:
    return [
        _key(
            int(bar.snapshot_time_utc.timestamp() * 1000),
            (bar.open_price.bid, bar.high_price.bid, bar.low_price.bid, bar.close_price.bid),
            (bar.open_price.ask, bar.high_price.ask, bar.low_price.ask, bar.close_price.ask),
            bar.last_traded_volume or 0,
        )
        for bar in history.prices
    ]


def _direct(
    sim: SimServer, epic: str, resolution: str, start: datetime, end: datetime, now_ms: int
) -> list[tuple[Any, ...]]:
    bars = sim.state.engine.prices.bars(
        epic, resolution, int(start.timestamp() * 1000), int(end.timestamp() * 1000), now_ms=now_ms
    )
    return [
        _key(
            b.start_ms,
            (b.bid.open, b.bid.high, b.bid.low, b.bid.close),
            (b.ask.open, b.ask.high, b.ask.low, b.ask.close),
            b.volume,
        )
        for b in bars
    ]


@pytest.fixture(scope="module")
def async_client(frozen_sim: SimServer) -> Iterator[tuple[asyncio.AbstractEventLoop, AsyncClient]]:
    """An AsyncClient living in one event loop for every example (one login in all)."""
    user = frozen_sim.config.users[0]
    loop = asyncio.new_event_loop()
    client = AsyncClient(user.api_key, user.identifier, user.password, base_url=frozen_sim.base_url)
    try:
        yield loop, client
    finally:
        loop.run_until_complete(client.aclose())
        loop.close()


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    epic=st.sampled_from(EPICS),
    resolution=st.sampled_from(sorted(RESOLUTION_SECONDS)),
    length=st.integers(min_value=1, max_value=2600),
    end_back=st.integers(min_value=0, max_value=30),
)
def test_async_pager_gives_the_same_bars(
    frozen_sim: SimServer,
    async_client: tuple[asyncio.AbstractEventLoop, AsyncClient],
    epic: str,
    resolution: str,
    length: int,
    end_back: int,
) -> None:
    loop, client = async_client
    step = RESOLUTION_SECONDS[resolution]
    now_ms = frozen_sim.state.clock.now_ms()
    end = datetime.fromtimestamp(now_ms // 1000, tz=UTC) - timedelta(seconds=end_back * step)
    start = end - timedelta(seconds=length * step)
    history = loop.run_until_complete(client.prices.history(epic, resolution, start, end))
    got = _got(history)
    assert [k[0] for k in got] == sorted({k[0] for k in got})
    assert got == _direct(frozen_sim, epic, resolution, start, end, now_ms)
