"""Clients and streams opened and closed many times leave nothing behind.

The blocking ``Client`` with its ``Stream`` (a background thread with its own event loop) and the
``AsyncClient`` with its stream are created, used through a session expiry and a dropped stream
connection, and closed, ten times each. Threads, file descriptors, TCP connections and asyncio
tasks must be back to their baseline (taken with the simulator already running).
"""

from __future__ import annotations

import asyncio
import gc
import threading
import time
from collections.abc import Callable, Iterator

import httpx
import psutil
import pytest

from capitalcom_sdk import AsyncClient, Client
from capitalcom_sdk.streaming import Quote
from capitalcom_sim.server import SimServer
from tests.conftest import start_sim
from tests.reliability.conftest import FAST_RETRY, config, handle

ROUNDS = 10


@pytest.fixture
def server() -> Iterator[SimServer]:
    server = start_sim(config(1, start_ms=1_795_003_200_000, clock_speed=20.0))
    try:
        yield server
    finally:
        server.stop()


def resources() -> dict[str, int]:
    gc.collect()
    process = psutil.Process()
    return {
        "threads": len(threading.enumerate()),
        "fds": process.num_fds(),
        "tcp": len(process.net_connections(kind="tcp")),
    }


def settled(baseline: dict[str, int], within: float = 5.0) -> dict[str, int]:
    deadline = time.monotonic() + within
    now = resources()
    while now != baseline and time.monotonic() < deadline:
        time.sleep(0.05)  # real time: the OS closes threads and sockets on its own schedule
        now = resources()
    return now


async def until(condition: Callable[[], bool], within: float = 5.0) -> None:
    """Return once ``condition()`` holds (checked at every turn of the loop), or after ``within``
    seconds: a wait for an event, not for a guessed duration."""
    deadline = time.monotonic() + within
    # polled: a condition on plain data (task set, counters) that no event announces
    while not condition() and time.monotonic() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(0.001)


def drop_streams(server: SimServer) -> None:
    response = httpx.post(server.base_url + "/_sim/stream/drop", json={})
    assert response.status_code == 200, response.text
    assert response.json()


def next_quote(stream: object, within: float = 5.0) -> Quote:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        event = stream.get(timeout=0.2)  # type: ignore[attr-defined]
        if isinstance(event, Quote):
            return event
    raise AssertionError("no quote")


@pytest.mark.slow
def test_blocking_clients_and_streams_leave_nothing_behind(server: SimServer) -> None:
    sim = handle(server)
    with Client(**sim.client_kwargs(), rate_limit=False) as warm:  # imports, first connections
        warm.general.ping()
    baseline = settled(resources(), 1.0)
    for _ in range(ROUNDS):
        with Client(**sim.client_kwargs(), rate_limit=False, retry=FAST_RETRY) as client:
            client.session.login()
            with client.stream(backoff_initial=0.01, backoff_max=0.1) as stream:
                stream.subscribe_quotes(["GOLD", "EURUSD"])
                next_quote(stream)
                drop_streams(server)  # the server drops every stream connection
                next_quote(stream)
                server.state.expire_sessions()
                client.general.ping()  # re-logs in; the stream follows
                next_quote(stream)
            client.positions.list()
    after = settled(baseline)
    assert after == baseline


@pytest.mark.slow
async def test_async_clients_and_streams_leave_nothing_behind(server: SimServer) -> None:
    sim = handle(server)
    async with AsyncClient(**sim.client_kwargs(), rate_limit=False) as warm:
        await warm.general.ping()
    baseline = settled(resources(), 1.0)
    tasks = set(asyncio.all_tasks())
    for _ in range(ROUNDS):
        async with AsyncClient(**sim.client_kwargs(), rate_limit=False, retry=FAST_RETRY) as client:
            await client.session.login()
            async with client.stream(backoff_initial=0.01, backoff_max=0.1) as stream:
                await stream.subscribe_quotes(["GOLD", "EURUSD"])
                iterator = aiter(stream)
                await asyncio.wait_for(anext(iterator), 5)
                drop_streams(server)  # blocks the loop briefly; no executor thread
                server.state.expire_sessions()
                await client.general.ping()
                await asyncio.wait_for(anext(iterator), 5)
    await until(lambda: set(asyncio.all_tasks()) == tasks)  # the streams' tasks have ended
    assert set(asyncio.all_tasks()) == tasks
    after = settled(baseline)
    assert after == baseline
