"""Stream lock-step: on a frozen simulator clock a wait on the stream moves the clock straight to
the next subscribed event, and after any move every event up to the new time is buffered before
the bot reads again (real sockets, the simulator on loopback)."""

from __future__ import annotations

import time

import pytest

from capitalcom_sdk import AsyncClient, Client
from capitalcom_sdk.streaming import OHLCBar, Quote
from capitalcom_sim.config import SimConfig
from capitalcom_sim.stream_feed import MAX_CATCHUP_BARS
from tests.conftest import SimHandle, single_user

START_MS = 1_767_571_200_000  # Mon 2026-01-05 00:00 UTC
MINUTE_MS = 60_000
HOUR_MS = 3_600_000


@pytest.fixture
def sim_config() -> SimConfig:
    return SimConfig(
        users=(single_user(),), rate_limits=False, start_ms=START_MS, clock_speed=0.0, seed=7
    )


def _bars(events: list[object]) -> list[tuple[int, str]]:
    assert all(isinstance(e, OHLCBar) for e in events), events
    return [(e.start_ms, e.price_type) for e in events if isinstance(e, OHLCBar)]


def _grid(first_ms: int, count: int, step_ms: int) -> list[tuple[int, str]]:
    return [(first_ms + i * step_ms, side) for i in range(count) for side in ("bid", "ask")]


def test_get_moves_the_frozen_clock_to_each_bar_close(sim: SimHandle) -> None:
    with Client(**sim.client_kwargs(), clock="simulator") as client, client.stream() as stream:
        stream.subscribe_ohlc("GOLD", "MINUTE")
        started = time.monotonic()
        events = [stream.get(timeout=3600) for _ in range(40)]
        assert time.monotonic() - started < 10  # 20 simulated minutes, no wall-clock waits
        assert _bars(events) == _grid(START_MS, 20, MINUTE_MS)
        # The clock stopped where the last bar closed: the bot decides at that very moment.
        assert sim.state.clock.now_ms() == START_MS + 20 * MINUTE_MS
        assert client.clock.now_ms() == START_MS + 20 * MINUTE_MS


def test_get_timeout_is_in_simulated_seconds(sim: SimHandle) -> None:
    with Client(**sim.client_kwargs(), clock="simulator") as client, client.stream() as stream:
        stream.subscribe_ohlc("GOLD", "HOUR")
        started = time.monotonic()
        assert stream.get(timeout=90) is None  # the hour's bar is not due within 90 s
        assert sim.state.clock.now_ms() == START_MS + 90_000
        assert stream.get(timeout=0) is None  # no wait at all
        assert sim.state.clock.now_ms() == START_MS + 90_000
        bar = stream.get(timeout=7200)
        assert isinstance(bar, OHLCBar)
        assert (bar.start_ms, bar.resolution) == (START_MS, "HOUR")
        assert sim.state.clock.now_ms() == START_MS + HOUR_MS
        assert time.monotonic() - started < 10


def test_sleep_buffers_every_bar_up_to_the_new_time_before_the_next_read(
    sim: SimHandle,
) -> None:
    with Client(**sim.client_kwargs(), clock="simulator") as client, client.stream() as stream:
        stream.subscribe_ohlc("GOLD", "MINUTE")
        client.sleep(600)  # ten bars close meanwhile
        buffered = stream.stats.queued
        events = [stream.get(timeout=0) for _ in range(20)]
        assert buffered == 20  # all there when sleep() returned, not on their way
        assert _bars(events) == _grid(START_MS, 10, MINUTE_MS)
        assert stream.get(timeout=0) is None
        assert sim.state.clock.now_ms() == START_MS + 600_000  # reading moved nothing


def test_a_jump_past_the_catch_up_cap_loses_no_bar(sim: SimHandle) -> None:
    bars = MAX_CATCHUP_BARS + 50
    sim.state.sessions.max_ms = 24 * HOUR_MS  # one session all along: no reconnect, no fill
    with Client(**sim.client_kwargs(), clock="simulator") as client, client.stream() as stream:
        stream.subscribe_ohlc("GOLD", "MINUTE")
        client.sleep(bars * 60)
        events = [stream.get(timeout=0) for _ in range(2 * bars)]
        assert _bars(events) == _grid(START_MS, bars, MINUTE_MS)
        assert stream.stats.replayed_bars == 0  # pushed by the stream, not filled over REST
        assert stream.stats.reconnects == 0


def test_hour_bars_through_session_ends_are_contiguous(sim: SimHandle) -> None:
    """A backtest on HOUR bars outlives the session's hard lifetime (an hour): the stream
    logs in again, reconnects and fills the gap inside the barrier, so no bar is lost, none
    comes twice, and the bot never sees the reconnect."""
    with Client(**sim.client_kwargs(), clock="simulator") as client, client.stream() as stream:
        stream.subscribe_ohlc("GOLD", "HOUR")
        events = [stream.get(timeout=2 * 3600) for _ in range(10)]
        assert _bars(events) == _grid(START_MS, 5, HOUR_MS)
        assert stream.stats.logins >= 1  # the session did end on the way


def test_quotes_in_lockstep_follow_the_tick_grid(sim: SimHandle) -> None:
    tick_ms = sim.state.engine.prices.tick_ms
    with Client(**sim.client_kwargs(), clock="simulator") as client, client.stream() as stream:
        stream.subscribe_quotes("EURUSD")
        quotes = [stream.get(timeout=60) for _ in range(6)]
        assert all(isinstance(q, Quote) for q in quotes)
        stamps = [q.timestamp_ms for q in quotes if isinstance(q, Quote)]
        assert stamps == sorted(stamps)
        assert len(set(stamps)) == len(stamps)
        assert stamps[0] == START_MS  # the subscription's snapshot
        assert all((s - START_MS) % tick_ms == 0 for s in stamps)
        assert sim.state.clock.now_ms() == stamps[-1]  # stopped at the last quote's tick


def test_a_bot_thinking_on_a_frozen_clock_keeps_its_stream(sim: SimHandle) -> None:
    """Wall time passing while the bot thinks is no time at all: no stale probe, no reconnect,
    and no keep-alive timer on the wall clock."""
    options = {"stale_after": 0.05, "ping_interval": 0.05, "probe_timeout": 0.05}
    with (
        Client(**sim.client_kwargs(), clock="simulator") as client,
        client.stream(**options) as stream,
    ):
        stream.subscribe_ohlc("GOLD", "MINUTE")
        [conn] = sim.state.streams.connections.values()
        messages = conn.messages_received
        time.sleep(0.5)  # the bot thinks (wall clock), ten times stale_after
        assert conn.messages_received == messages  # not a single ping on the wall clock
        assert stream.get(timeout=60) is not None
        assert stream.stats.reconnects == 0
        assert stream.stats.connected == 1


async def test_async_for_in_lockstep(sim: SimHandle) -> None:
    async with (
        AsyncClient(**sim.client_kwargs(), clock="simulator") as client,
        client.stream() as stream,
    ):
        await stream.subscribe_ohlc("GOLD", "MINUTE_5")
        events: list[object] = []
        async for event in stream:
            events.append(event)
            if len(events) == 6:
                break
        assert _bars(events) == _grid(START_MS, 3, 5 * MINUTE_MS)
        await client.sleep(600)  # two more bars, buffered before sleep() returns
        assert stream.stats.queued == 4
        assert await stream.get(timeout=0) is not None
        assert sim.state.clock.now_ms() == START_MS + 25 * MINUTE_MS


def test_a_running_simulator_clock_is_not_lockstep(sim: SimHandle) -> None:
    sim.state.move_clock(speed=1.0)
    with Client(**sim.client_kwargs(), clock="simulator") as client, client.stream() as stream:
        stream.subscribe_ohlc("GOLD", "HOUR")
        before = sim.state.clock.now_ms()
        assert stream.get(timeout=0.2) is None  # waited 0.2 s of real time, moved nothing
        assert sim.state.clock.now_ms() - before < 5_000


def test_a_stream_that_lost_its_session_recovers_inside_the_next_wait(sim: SimHandle) -> None:
    """The simulator moved on its own for 17 hours (no keep-alive: the connection and the
    session are gone); the bot's next wait re-logs in, reconnects and fills the gap without
    deadlocking on its own barrier."""
    sim.state.sessions.max_ms = 48 * HOUR_MS
    with Client(**sim.client_kwargs(), clock="simulator") as client, client.stream() as stream:
        stream.subscribe_ohlc("GOLD", "HOUR")
        sim.state.move_clock(advance_seconds=17 * 3600)
        started = time.monotonic()
        client.sleep(3600)
        assert time.monotonic() - started < 10
        events = [stream.get(timeout=0) for _ in range(36)]
        assert _bars(events) == _grid(START_MS, 18, HOUR_MS)
        assert stream.stats.reconnects == 1


def test_a_relogin_that_waits_on_the_clock_does_not_deadlock_the_barrier(
    sim: SimHandle,
) -> None:
    """The session ends half a simulated second after the login: the stream's re-login waits
    for the login limit (1/s) on the client's clock, i.e. moves it, from inside the barrier's
    own reconnect; that move must not wait for the barrier."""
    with Client(**sim.client_kwargs(), clock="simulator") as client, client.stream() as stream:
        stream.subscribe_ohlc("GOLD", "MINUTE")
        sim.state.expire_sessions()
        started = time.monotonic()
        client.sleep(0.5)  # the barrier's ping is refused: log in again, 0.5 s after the last
        assert time.monotonic() - started < 10
        assert stream.stats.logins == 2  # the first one, then the replacement
        events = [stream.get(timeout=60) for _ in range(4)]
        assert _bars(events) == _grid(START_MS, 2, MINUTE_MS)


def test_for_loop_and_callbacks_in_lockstep(sim: SimHandle) -> None:
    """``for event in stream`` moves the clock bar by bar; an ``on_event`` callback thread
    never moves it (the bot's waits do, and the callback gets what they buffered)."""
    with Client(**sim.client_kwargs(), clock="simulator") as client:
        with client.stream() as stream:
            stream.subscribe_ohlc("GOLD", "MINUTE")
            events = []
            for event in stream:
                events.append(event)
                if len(events) == 4:
                    break
            assert _bars(events) == _grid(START_MS, 2, MINUTE_MS)
        received: list[object] = []
        with client.stream(on_event=received.append) as stream:
            stream.subscribe_ohlc("GOLD", "MINUTE")
            now = sim.state.clock.now_ms()
            time.sleep(0.3)  # the callback thread waits; it does not drive the clock
            assert sim.state.clock.now_ms() == now
            client.sleep(180)
            deadline = time.monotonic() + 5
            while len(received) < 6 and time.monotonic() < deadline:
                time.sleep(0.01)
            assert _bars(received) == _grid(now, 3, MINUTE_MS)


async def test_an_async_stream_used_without_async_with_follows_the_clock(sim: SimHandle) -> None:
    async with AsyncClient(**sim.client_kwargs(), clock="simulator") as client:
        stream = client.stream()
        try:
            await stream.subscribe_ohlc("GOLD", "MINUTE")
            await client.sleep(120)
            assert stream.stats.queued == 4  # buffered before sleep() returned
        finally:
            await stream.close()
        await client.sleep(60)  # a closed stream no longer follows the clock
        assert sim.state.clock.now_ms() == START_MS + 180_000
