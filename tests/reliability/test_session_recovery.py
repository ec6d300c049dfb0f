"""The session ends under a busy client, or the whole simulator restarts: the client recovers.

* The simulator invalidates every session in the middle of a busy run (REST calls from several
  tasks plus a quote stream): exactly one new login, no failed call, the stream resubscribed.
* The simulator process is replaced (stop the server, start a new one on the SAME port, with an
  empty session store): the next calls log in again and the stream comes back.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from capitalcom_sdk import AsyncClient, Client
from capitalcom_sdk._retry import RetryPolicy
from capitalcom_sdk.streaming import AsyncStream, Quote, Stream
from capitalcom_sim.server import SimServer
from tests.conftest import start_sim
from tests.reliability.conftest import FAST_RETRY, config, handle

START_MS = 1_795_003_200_000  # a Wednesday, 12:00 UTC
EPICS = ["GOLD", "SILVER", "EURUSD"]
LOGIN = "POST /api/v1/session"


@pytest.fixture
def server() -> Iterator[SimServer]:
    # Ten times real time: a quote per epic every 0.1 s.
    server = start_sim(config(1, start_ms=START_MS, clock_speed=10.0))
    try:
        yield server
    finally:
        server.stop()


def logins(server: SimServer) -> int:
    return int(server.state.stats.snapshot()["requests"].get(LOGIN, 0))


async def quotes_after(
    stream: AsyncStream, since_ms: int, epics: set[str], within: float
) -> set[str]:
    """Epics quoted with a server timestamp after ``since_ms``, waiting up to ``within`` seconds."""
    seen: set[str] = set()
    deadline = time.monotonic() + within
    iterator = aiter(stream)
    while seen != epics and time.monotonic() < deadline:
        try:
            event = await asyncio.wait_for(anext(iterator), deadline - time.monotonic())
        except TimeoutError:
            break
        if isinstance(event, Quote) and event.timestamp_ms > since_ms:
            seen.add(event.epic)
    return seen


async def busy(
    client: AsyncClient, stop: asyncio.Event, done: list[str], failed: list[str]
) -> None:
    calls: list[tuple[str, Any]] = [
        ("ping", client.general.ping),
        ("positions", client.positions.list),
        ("details", client.session.details),
        ("accounts", client.accounts.list),
    ]
    i = 0
    while not stop.is_set():
        name, call = calls[i % len(calls)]
        i += 1
        try:
            await call()
            done.append(name)
        except Exception as exc:  # each one is a finding
            failed.append(f"{name}: {type(exc).__name__}: {exc}")
        await asyncio.sleep(0)


async def until_async(condition: Callable[[], bool], within: float = 10.0) -> None:
    """Return once ``condition()`` holds, or after ``within`` seconds (the asserts that follow
    then fail): a wait for progress, not for a guessed duration."""
    deadline = time.monotonic() + within
    # polled: a condition on plain data (task set, counters) that no event announces
    while not condition() and time.monotonic() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(0.001)


def until(condition: Callable[[], bool], within: float = 10.0) -> None:
    """:func:`until_async` for threads."""
    deadline = time.monotonic() + within
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.001)


async def test_session_invalidated_mid_run_relogs_once_and_resubscribes(server: SimServer) -> None:
    sim = handle(server)
    async with AsyncClient(**sim.client_kwargs(), rate_limit=False, retry=FAST_RETRY) as client:
        await client.session.login()
        async with client.stream(backoff_initial=0.01, backoff_max=0.2) as stream:
            await stream.subscribe_quotes(EPICS)
            assert await quotes_after(stream, 0, set(EPICS), 5.0) == set(EPICS)
            stop = asyncio.Event()
            done: list[str] = []
            failed: list[str] = []
            workers = [asyncio.create_task(busy(client, stop, done, failed)) for _ in range(6)]
            await until_async(lambda: len(done) >= 50)  # busy before the expiry
            before_logins, before_done = logins(server), len(done)
            expired_at = server.state.clock.now_ms()
            assert server.state.expire_sessions() >= 1
            # The stream must deliver fresh quotes of every epic again (resubscribed).
            recovered = await quotes_after(stream, expired_at, set(EPICS), 10.0)
            await until_async(lambda: len(done) - before_done > 50)  # and busy after it
            stop.set()
            await asyncio.gather(*workers)
            after_logins = logins(server)
            stats = stream.stats
    assert failed == []
    assert len(done) - before_done > 50  # it really was busy across the expiry
    assert recovered == set(EPICS)
    assert after_logins - before_logins == 1, f"{after_logins - before_logins} logins"
    assert stats.reconnects >= 1


async def test_simulator_restart_on_the_same_port_is_survived(server: SimServer) -> None:
    sim = handle(server)
    port = server.port
    replacement: SimServer | None = None
    try:
        async with AsyncClient(**sim.client_kwargs(), rate_limit=False, retry=FAST_RETRY) as client:
            await client.session.login()
            async with client.stream(backoff_initial=0.05, backoff_max=0.5) as stream:
                await stream.subscribe_quotes(EPICS)
                assert await quotes_after(stream, 0, set(EPICS), 5.0) == set(EPICS)
                await asyncio.to_thread(server.stop)
                replacement = SimServer(server.config, port=port)
                await asyncio.to_thread(replacement.start)
                restarted_at = replacement.state.clock.now_ms()
                # REST: the old tokens are unknown to the new process; one call logs in again.
                assert (await client.general.ping()).status == "OK"
                details = await client.session.details()
                recovered = await quotes_after(stream, restarted_at, set(EPICS), 15.0)
                new_logins = logins(replacement)
                # The stream may still be moving to the tokens of a later login (its token watch
                # retires a connection whose tokens were replaced): wait for the connection that
                # carries the subscriptions instead of reading the table at one instant.
                hub = replacement.state.streams
                subscribed = await asyncio.to_thread(
                    hub.wait_for,
                    lambda: any(set(EPICS) <= set(c["quotes"]) for c in hub.describe()),
                    10.0,
                )
                connections = hub.describe()
        assert details.client_id == sim.state.config.users[0].client_id
        assert new_logins >= 1
        assert recovered == set(EPICS)
        assert subscribed, connections
    finally:
        if replacement is not None:
            replacement.stop()


async def test_session_invalidated_while_only_the_stream_is_busy(server: SimServer) -> None:
    """No REST traffic to notice the expiry: the stream itself must log in again, once.

    The server does not close the connection when the session ends, the subscriptions just
    "fall off" (SPEC 3.4): only the silence tells. ``stale_after`` bounds how long it may last.
    """
    sim = handle(server)
    async with AsyncClient(**sim.client_kwargs(), rate_limit=False, retry=FAST_RETRY) as client:
        await client.session.login()
        async with client.stream(
            backoff_initial=0.01, backoff_max=0.2, stale_after=0.5, probe_timeout=1.0
        ) as stream:
            await stream.subscribe_quotes(EPICS)
            assert await quotes_after(stream, 0, set(EPICS), 5.0) == set(EPICS)
            before = logins(server)
            expired_at = server.state.clock.now_ms()
            server.state.expire_sessions()
            recovered = await quotes_after(stream, expired_at, set(EPICS), 10.0)
            # A REST call afterwards uses the stream's new session: no further login.
            await client.general.ping()
            after = logins(server)
    assert recovered == set(EPICS)
    assert after - before == 1, f"{after - before} logins"


def test_blocking_client_threads_and_sync_stream_relog_once(server: SimServer) -> None:
    """The same with the blocking Client: REST from threads, the sync Stream bridge."""
    sim = handle(server)
    failed: list[str] = []
    done: list[str] = []
    stop = threading.Event()

    def busy_thread(client: Client) -> None:
        while not stop.is_set():
            try:
                client.general.ping()
                client.positions.list()
                done.append("ok")
            except Exception as exc:  # each one is a finding
                failed.append(f"{type(exc).__name__}: {exc}")

    with Client(**sim.client_kwargs(), rate_limit=False, retry=FAST_RETRY) as client:
        client.session.login()
        with client.stream(backoff_initial=0.01, backoff_max=0.2) as stream:
            stream.subscribe_quotes(EPICS)
            assert {e.epic for e in iter_quotes(stream, 0, 5.0)} == set(EPICS)
            threads = [threading.Thread(target=busy_thread, args=(client,)) for _ in range(4)]
            for thread in threads:
                thread.start()
            until(lambda: len(done) >= 20)  # busy before the expiry
            before_logins, before_done = logins(server), len(done)
            expired_at = server.state.clock.now_ms()
            server.state.expire_sessions()
            recovered = {e.epic for e in iter_quotes(stream, expired_at, 10.0)}
            until(lambda: len(done) - before_done > 20)  # and busy after it
            stop.set()
            for thread in threads:
                thread.join()
            after_logins = logins(server)
    assert failed == []
    assert len(done) - before_done > 20
    assert recovered == set(EPICS)
    assert after_logins - before_logins == 1, f"{after_logins - before_logins} logins"


def iter_quotes(stream: Stream, since_ms: int, within: float) -> list[Quote]:
    """Quotes stamped after ``since_ms`` until every epic was seen or ``within`` seconds."""
    seen: dict[str, Quote] = {}
    deadline = time.monotonic() + within
    while len(seen) < len(EPICS) and time.monotonic() < deadline:
        event = stream.get(timeout=max(0.0, deadline - time.monotonic()))
        if isinstance(event, Quote) and event.timestamp_ms > since_ms:
            seen[event.epic] = event
    return list(seen.values())


def test_order_sent_while_the_server_is_down_is_placed_once_when_it_returns(
    server: SimServer,
) -> None:
    """Connection refused means nothing was sent: even an order write is retried, and lands once."""
    sim = handle(server)
    port = server.port
    policy = RetryPolicy(max_retries=8, max_delay=10.0, base_delay=0.2, max_backoff=0.5, seed=3)
    replacement: list[SimServer] = []

    def restart_later() -> None:
        # Real time on purpose: the server is down while the client's (wall-clock) retry
        # backoff runs; the simulator's clock has no say in how long a port stays closed.
        time.sleep(0.6)
        replacement.append(SimServer(server.config, port=port).start())

    with Client(**sim.client_kwargs(), rate_limit=False, retry=policy) as client:
        client.session.login()
        server.stop()
        restarter = threading.Thread(target=restart_later)
        restarter.start()
        try:
            confirm = client.positions.open("GOLD", "BUY", 1)
        finally:
            restarter.join()
    try:
        new = replacement[0]
        account = new.config.users[0].preferred_account.account_id
        positions = new.state.engine.positions(account)
        assert [p.deal_id for p in positions] == confirm.opened_deal_ids
        stats = new.state.stats.snapshot()
        # The first attempt on the new process met an unknown session (401, nothing applied),
        # the client logged in and sent it again: two arrivals, one position.
        assert stats["requests"]["POST /api/v1/positions"] == 2
        assert stats["status"]["401"] == 1
        assert stats["requests"]["POST /api/v1/session"] == 1
    finally:
        for running in replacement:
            running.stop()
