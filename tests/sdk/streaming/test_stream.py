"""client.stream() against the simulator over real WebSockets on loopback."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from datetime import UTC

import httpx
import pytest

from capitalcom_sdk import AsyncClient, Client
from capitalcom_sdk.streaming import (
    AsyncStream,
    Event,
    OHLCBar,
    Quote,
    Stream,
    StreamClosedError,
    SubscriptionError,
)
from capitalcom_sim.config import SimConfig
from tests.conftest import SimHandle
from tests.sdk.streaming.support import (
    START_MS,
    barrier,
    connections_until,
    connections_until_async,
    open_epics,
    stream_config,
    with_aliases,
)


@pytest.fixture
def sim_config() -> SimConfig:
    return stream_config(speed=0.0)


async def _collect(
    stream: AsyncStream, until: Callable[[list[Event]], bool], wait: float = 10.0
) -> list[Event]:
    events: list[Event] = []
    async with asyncio.timeout(wait):
        async for event in stream:
            events.append(event)
            if until(events):
                return events
    return events


def _expected_quotes(sim: SimHandle, epic: str, start: int, end: int) -> list[tuple[int, float]]:
    """The snapshot quote at ``start`` (sent after the ack), then every change up to ``end``."""
    prices = sim.state.engine.prices
    tick = prices.tick_ms
    last = prices.quote(epic, start)
    out = [(start, last[0])]
    for t in range(start + tick, end + 1, tick):
        quote = prices.quote(epic, t)
        if quote != last:
            out.append((t, quote[0]))
        last = quote
    return out


async def test_quotes_arrive_typed_with_utc_timestamps_and_equal_the_engine(
    sim: SimHandle,
) -> None:
    async with AsyncClient(**sim.client_kwargs()) as client, client.stream() as stream:
        await stream.subscribe_quotes(["GOLD", "BTCUSD"])
        sim.state.clock.advance(10)
        expected = {
            e: _expected_quotes(sim, e, START_MS, START_MS + 10_000) for e in ("GOLD", "BTCUSD")
        }
        total = sum(len(v) for v in expected.values())
        events = await _collect(stream, lambda got: len(got) >= total)
    assert all(isinstance(e, Quote) for e in events)
    for epic, quotes in expected.items():
        got = [(e.timestamp_ms, e.bid) for e in events if isinstance(e, Quote) and e.epic == epic]
        assert got == quotes
    first = events[0]
    assert isinstance(first, Quote)
    assert first.timestamp.tzinfo is UTC
    assert int(first.timestamp.timestamp() * 1000) == first.timestamp_ms
    assert first.offer > first.bid
    assert first.product == "CFD"


async def test_ohlc_bars_arrive_per_side_when_the_bar_closes(sim: SimHandle) -> None:
    async with AsyncClient(**sim.client_kwargs()) as client, client.stream() as stream:
        await stream.subscribe_ohlc(["GOLD"], resolution="MINUTE")
        sim.state.clock.advance(60)
        events = await _collect(stream, lambda got: len(got) >= 2)
    bars = sorted((e for e in events if isinstance(e, OHLCBar)), key=lambda b: b.price_type)
    assert [b.price_type for b in bars] == ["ask", "bid"]
    [engine_bar] = sim.state.engine.prices.bars("GOLD", "MINUTE", START_MS, START_MS)
    ask, bid = bars
    assert (bid.open, bid.high, bid.low, bid.close) == (
        engine_bar.bid.open,
        engine_bar.bid.high,
        engine_bar.bid.low,
        engine_bar.bid.close,
    )
    assert ask.close == engine_bar.ask.close
    assert bid.start_ms == START_MS
    assert bid.start.tzinfo is UTC
    assert (bid.resolution, bid.bar_type) == ("MINUTE", "classic")


async def test_unknown_epic_raises_naming_it_and_the_valid_ones_stay_subscribed(
    sim: SimHandle,
) -> None:
    async with AsyncClient(**sim.client_kwargs()) as client, client.stream() as stream:
        with pytest.raises(SubscriptionError) as refused:
            await stream.subscribe_quotes(["GOLD", "NOT_AN_EPIC", "BTCUSD"])
        assert refused.value.epics == ["NOT_AN_EPIC"]
        assert refused.value.error_code == "error.invalid.epic"
        assert "NOT_AN_EPIC" in str(refused.value)
        assert stream.subscriptions["quotes"] == ["BTCUSD", "GOLD"]
        [conn] = sim.state.streams.describe()
        assert conn["quotes"] == ["BTCUSD", "GOLD"]


async def test_unsubscribe_stops_quotes_and_closes_an_empty_connection(sim: SimHandle) -> None:
    async with AsyncClient(**sim.client_kwargs()) as client, client.stream() as stream:
        await stream.subscribe_quotes(["GOLD", "BTCUSD"])
        await stream.unsubscribe_quotes(["GOLD"])
        assert sim.state.streams.describe()[0]["quotes"] == ["BTCUSD"]
        sim.state.clock.advance(5)
        events = await _collect(stream, lambda got: len(got) >= 3)
        assert {e.epic for e in events if e.timestamp_ms > START_MS} == {"BTCUSD"}
        await stream.unsubscribe_quotes(["BTCUSD"])
        assert stream.stats.connections == 0
        assert await connections_until_async(sim.state, lambda conns: not conns) == []


def test_sync_client_iterates_in_the_caller_thread(sim: SimHandle) -> None:
    with Client(**sim.client_kwargs()) as client, client.stream() as stream:
        stream.subscribe_quotes("BTCUSD")
        sim.state.clock.advance(5)
        events = [stream.get(timeout=5) for _ in range(3)]
    assert all(isinstance(e, Quote) and e.epic == "BTCUSD" for e in events)
    with pytest.raises(StreamClosedError):
        stream.subscribe_quotes("GOLD")


def test_sync_client_delivers_to_a_callback_thread(sim: SimHandle) -> None:
    got: list[Event] = []
    done = threading.Event()

    def on_event(event: Event) -> None:
        got.append(event)
        if len(got) >= 3:
            done.set()

    with Client(**sim.client_kwargs()) as client, client.stream(on_event=on_event) as stream:
        stream.subscribe_quotes(["BTCUSD"])
        sim.state.clock.advance(5)
        assert done.wait(5)
    assert all(isinstance(e, Quote) for e in got)


def test_sync_stream_works_inside_a_running_event_loop(sim: SimHandle) -> None:
    async def main() -> Event | None:
        with Client(**sim.client_kwargs()) as client, client.stream() as stream:
            stream.subscribe_quotes(["BTCUSD"])
            sim.state.clock.advance(3)
            return stream.get(timeout=5)

    assert isinstance(asyncio.run(main()), Quote)


async def test_bad_arguments_are_refused_before_anything_is_sent(sim: SimHandle) -> None:
    from capitalcom_sdk import RequestValidationError

    async with AsyncClient(**sim.client_kwargs()) as client, client.stream() as stream:
        with pytest.raises(RequestValidationError) as empty:
            await stream.subscribe_quotes([])
        assert empty.value.field == "epics"
        with pytest.raises(RequestValidationError) as resolution:
            await stream.subscribe_ohlc(["GOLD"], resolution="MINUTE_3")
        assert resolution.value.field == "resolution"
        with pytest.raises(RequestValidationError) as bar_type:
            await stream.subscribe_ohlc(["GOLD"], bar_type="renko")
        assert bar_type.value.field == "bar_type"
    assert sim.state.streams.describe() == []
    with pytest.raises(RequestValidationError):
        client.stream(ping_interval=0)


# -- staying up -------------------------------------------------------------------------------


async def _first_quote_after(stream: AsyncStream, epic: str, after: float) -> float:
    """Seconds from ``after`` (monotonic) until a quote of ``epic`` arrives."""
    async with asyncio.timeout(10):
        async for event in stream:
            if isinstance(event, Quote) and event.epic == epic and time.monotonic() > after:
                return time.monotonic() - after
    raise AssertionError("stream ended")


async def _quotes_continue(stream: AsyncStream, epic: str, count: int = 3) -> None:
    """``count`` more quotes of ``epic`` arrive, stamped later and later (not just a snapshot)."""
    stamps: list[int] = []
    async with asyncio.timeout(5):
        async for event in stream:
            if isinstance(event, Quote) and event.epic == epic:
                stamps.append(event.timestamp_ms)
                if len(stamps) == count:
                    break
    assert stamps == sorted(set(stamps))


async def _drain(stream: AsyncStream) -> None:
    while stream.get_nowait() is not None:
        pass


@pytest.mark.parametrize("sim_config", [stream_config(speed=10.0)])
async def test_dropped_connection_is_resubscribed_within_two_seconds(sim: SimHandle) -> None:
    async with AsyncClient(**sim.client_kwargs()) as client, client.stream() as stream:
        await stream.subscribe_quotes(["BTCUSD", "GOLD"])
        await _first_quote_after(stream, "BTCUSD", time.monotonic())
        async with httpx.AsyncClient(base_url=sim.base_url) as http:
            dropped = await http.post("/_sim/stream/drop", json={})
        assert dropped.json() == {"dropped": 1}
        dropped_at = time.monotonic()
        await _drain(stream)
        assert await _first_quote_after(stream, "BTCUSD", dropped_at) < 2.0
        assert await _first_quote_after(stream, "GOLD", dropped_at) < 2.0
        await _quotes_continue(stream, "BTCUSD")
        assert stream.stats.reconnects == 1
        [conn] = sim.state.streams.describe()
        assert conn["quotes"] == ["BTCUSD", "GOLD"]


@pytest.mark.parametrize("sim_config", [stream_config(speed=10.0)])
async def test_session_expiry_during_the_stream_logs_in_again_and_resubscribes(
    sim: SimHandle,
) -> None:
    async with (
        AsyncClient(**sim.client_kwargs()) as client,
        client.stream(stale_after=0.5, probe_timeout=1.0) as stream,
    ):
        await stream.subscribe_quotes(["BTCUSD"])
        await _first_quote_after(stream, "BTCUSD", time.monotonic())
        logins = stream.stats.logins
        async with httpx.AsyncClient(base_url=sim.base_url) as http:
            expired = await http.post("/_sim/sessions/expire", json={})
        assert expired.json()["expired"] == 1
        expired_at = time.monotonic()
        await _drain(stream)
        assert await _first_quote_after(stream, "BTCUSD", expired_at) < 2.0
        await _quotes_continue(stream, "BTCUSD")
        assert stream.stats.logins == logins + 1
        assert len(sim.state.sessions.active()) == 1


@pytest.mark.parametrize("sim_config", [stream_config(speed=10.0)])
async def test_account_switch_during_the_stream_keeps_quotes_coming(sim: SimHandle) -> None:
    async with AsyncClient(**sim.client_kwargs()) as client, client.stream() as stream:
        await stream.subscribe_quotes(["BTCUSD"])
        await _first_quote_after(stream, "BTCUSD", time.monotonic())
        login = client._core.login_response
        assert login is not None
        other = next(
            a.account_id for a in login.accounts if a.account_id != login.current_account_id
        )
        await client.session.switch_account(other)
        switched_at = time.monotonic()
        await _drain(stream)
        assert await _first_quote_after(stream, "BTCUSD", switched_at) < 2.0
        await _quotes_continue(stream, "BTCUSD")
        [conn] = sim.state.streams.describe()
        assert conn["accountId"] == other
        assert conn["quotes"] == ["BTCUSD"]


@pytest.mark.parametrize("sim_config", [stream_config(speed=20.0)])
async def test_stalled_connection_is_detected_by_the_watchdog(sim: SimHandle) -> None:
    async with (
        AsyncClient(**sim.client_kwargs()) as client,
        client.stream(stale_after=0.3, probe_timeout=0.5) as stream,
    ):
        await stream.subscribe_quotes(["BTCUSD"])
        await _first_quote_after(stream, "BTCUSD", time.monotonic())
        async with httpx.AsyncClient(base_url=sim.base_url) as http:
            await http.post("/_sim/stream/stall", json={"seconds": 5})
        stalled_at = time.monotonic()
        await _drain(stream)
        assert await _first_quote_after(stream, "BTCUSD", stalled_at) < 3.0
        await _quotes_continue(stream, "BTCUSD")
        assert stream.stats.reconnects == 1


async def _minutes_with_pings(sim: SimHandle, minutes: int) -> str:
    """Move the simulator's clock a minute at a time, each time until the client's keep-alive
    ping arrives; the id of the one connection, unchanged throughout."""
    [conn] = await connections_until_async(sim.state, lambda conns: len(conns) == 1)
    for _ in range(minutes):
        now = sim.state.move_clock(advance_seconds=60)
        await connections_until_async(
            sim.state, lambda conns, now=now: [c["lastPingMs"] >= now for c in conns] == [True]
        )
    [after] = sim.state.streams.describe()
    assert after["id"] == conn["id"]
    return str(conn["id"])


async def test_pings_keep_the_connection_past_ten_simulated_minutes(sim: SimHandle) -> None:
    # The server closes a connection after 10 simulated minutes without a ping: 12 minutes
    # pass, a minute at a time, each followed by a ping (0.05 s apart on the wall clock).
    async with AsyncClient(**sim.client_kwargs()) as client, client.stream(ping_interval=0.05) as s:
        await s.subscribe_quotes(["BTCUSD"])
        await _minutes_with_pings(sim, 12)
        assert s.stats.reconnects == 0
        assert sim.state.clock.now_ms() - START_MS == 12 * 60_000


@pytest.mark.parametrize("sim_config", [stream_config(speed=10.0)])
async def test_hundred_instruments_spread_over_three_connections(sim: SimHandle) -> None:
    epics = open_epics(sim.state.engine)
    epics += with_aliases(sim.state, 100 - len(epics), epics)
    async with AsyncClient(**sim.client_kwargs()) as client, client.stream() as stream:
        await stream.subscribe_quotes(epics)
        assert stream.stats.connections == 3
        conns = sim.state.streams.describe()
        assert sorted(c["instruments"] for c in conns) == [20, 40, 40]
        assert sorted(e for c in conns for e in c["quotes"]) == sorted(epics)
        seen: set[str] = set()
        async with asyncio.timeout(15):
            async for event in stream:
                seen.add(event.epic)
                if len(seen) == 100:
                    break
    assert seen == set(epics)


async def test_slow_consumer_drops_the_oldest_quotes_per_epic_and_counts_them(
    sim: SimHandle,
) -> None:
    async with (
        AsyncClient(**sim.client_kwargs()) as client,
        client.stream(max_queue=50) as stream,
    ):
        await stream.subscribe_quotes(["BTCUSD", "ETHUSD"])
        await stream.subscribe_ohlc(["BTCUSD"], resolution="MINUTE")
        sim.state.clock.advance(120)  # ~240 quotes and 4 bars, nobody reading
        await barrier(stream)  # everything sent up to now has arrived
        stats = stream.stats
        assert stats.bars == 4
        assert stats.dropped_quotes > 0
        assert sum(stats.dropped_by_epic.values()) == stats.dropped_quotes
        events = stream.drain(10_000)
    quotes = [e for e in events if isinstance(e, Quote)]
    bars = [e for e in events if isinstance(e, OHLCBar)]
    assert len(quotes) == 50
    assert len(bars) == 4  # never dropped
    assert stats.quotes == len(quotes) + stats.dropped_quotes
    for epic in ("BTCUSD", "ETHUSD"):
        times = [q.timestamp_ms for q in quotes if q.epic == epic]
        assert times == sorted(times)
        # the newest quote of each epic survives
        assert times[-1] == max(
            _t for _t, _ in _expected_quotes(sim, epic, START_MS, START_MS + 120_000)
        )


async def test_a_stream_that_cannot_log_in_says_why_and_never_leaks_the_password(
    sim: SimHandle,
) -> None:
    from capitalcom_sdk.streaming import StreamError

    kwargs = {**sim.client_kwargs(), "password": "wrong-password-123"}
    async with AsyncClient(**kwargs) as client, client.stream(subscribe_timeout=1.0) as stream:
        with pytest.raises(StreamError) as failed:
            await stream.subscribe_quotes(["GOLD"])
    message = str(failed.value)
    assert "login failed" in message
    assert "error.invalid.details" in message
    assert "wrong-password-123" not in message


async def test_an_unreachable_server_is_retried_until_the_subscribe_timeout(
    sim: SimHandle,
) -> None:
    from capitalcom_sdk.streaming import StreamError

    async with (
        AsyncClient(**sim.client_kwargs()) as client,
        client.stream(url="ws://127.0.0.1:9/connect", subscribe_timeout=3.0) as stream,
    ):
        with pytest.raises(StreamError) as failed:
            await stream.subscribe_quotes(["GOLD"])
        assert "connect failed" in str(failed.value)
        assert stream.stats.connects == 0
        # Not subscribed means forgotten: nothing keeps retrying behind the caller's back.
        assert stream.subscriptions == {"quotes": [], "ohlc": []}
        assert stream.stats.connections == 0


@pytest.mark.parametrize("sim_config", [stream_config(speed=10.0)])
def test_sync_stream_follows_an_account_switch_and_a_session_expiry(sim: SimHandle) -> None:
    with Client(**sim.client_kwargs()) as client, client.stream(stale_after=0.5) as stream:
        stream.subscribe_quotes(["BTCUSD"])
        assert stream.get(timeout=5) is not None
        login = client._core.login_response
        assert login is not None
        other = next(
            a.account_id for a in login.accounts if a.account_id != login.current_account_id
        )
        client.session.switch_account(other)
        [switched] = connections_until(
            sim.state,
            lambda conns: [(c["accountId"], c["quotes"]) for c in conns] == [(other, ["BTCUSD"])],
            timeout=2.0,
        )
        while stream.get(timeout=0) is not None:
            pass
        _sync_quotes_continue(stream)
        logins = stream.stats.logins
        sim.state.expire_sessions()
        connections_until(  # a new connection (a new session) carries the quotes again
            sim.state,
            lambda conns: (
                [(c["id"] != switched["id"], c["quotes"]) for c in conns] == [(True, ["BTCUSD"])]
            ),
            timeout=3.0,
        )
        assert stream.stats.logins == logins + 1
        _sync_quotes_continue(stream)
        assert sim.state.streams.describe()[0]["quotes"] == ["BTCUSD"]


def _sync_quotes_continue(stream: Stream, count: int = 3) -> None:
    stamps = []
    for _ in range(count):
        event = stream.get(timeout=2)
        assert isinstance(event, Quote)
        stamps.append(event.timestamp_ms)
    assert stamps == sorted(set(stamps))


async def test_a_consumer_that_does_not_read_never_stalls_the_keep_alive(sim: SimHandle) -> None:
    # Twelve simulated minutes of three epics' quotes (~2,000) arrive while nobody reads; the
    # client's pings still follow every minute's burst, so the server never closes for silence.
    async with (
        AsyncClient(**sim.client_kwargs()) as client,
        client.stream(ping_interval=0.05, max_queue=100) as stream,
    ):
        await stream.subscribe_quotes(["BTCUSD", "ETHUSD", "GOLD"])
        await _minutes_with_pings(sim, 12)
        await barrier(stream)
        stats = stream.stats
        [conn] = sim.state.streams.describe()
    assert stats.reconnects == 0
    assert stats.dropped_quotes > 0
    assert stats.queued <= 100
    assert sim.state.clock.now_ms() - conn["lastPingMs"] < 300_000


@pytest.mark.parametrize("sim_config", [stream_config(speed=10.0)])
async def test_rest_and_stream_seeing_one_expiry_log_in_once(sim: SimHandle) -> None:
    async with (
        AsyncClient(**sim.client_kwargs()) as client,
        client.stream(stale_after=0.3, probe_timeout=1.0) as stream,
    ):
        await stream.subscribe_quotes(["BTCUSD"])
        await _first_quote_after(stream, "BTCUSD", time.monotonic())
        logins_before = sim.state.stats.snapshot()["requests"].get("POST /api/v1/session", 0)
        sim.state.expire_sessions()
        assert (await client.general.ping()).status == "OK"  # the REST side logs in again
        expired_at = time.monotonic()
        await _drain(stream)
        assert await _first_quote_after(stream, "BTCUSD", expired_at) < 2.0
        await _quotes_continue(stream, "BTCUSD")
        logins = sim.state.stats.snapshot()["requests"].get("POST /api/v1/session", 0)
    assert logins - logins_before == 1  # one POST /session for the request and the stream


# -- bars that close while the connection is down ---------------------------------------------


async def _bars(stream: AsyncStream, count: int) -> list[OHLCBar]:
    events = await _collect(stream, lambda got: sum(isinstance(e, OHLCBar) for e in got) >= count)
    return [e for e in events if isinstance(e, OHLCBar)]


async def _bars_across_an_outage(sim: SimHandle, **options: bool) -> tuple[list[OHLCBar], int]:
    """GOLD MINUTE bars: one pushed, three closing while down (paused + dropped), one after."""
    async with (
        AsyncClient(**sim.client_kwargs()) as client,
        client.stream(**options) as stream,
        httpx.AsyncClient(base_url=sim.base_url) as http,
    ):
        await stream.subscribe_ohlc(["GOLD"], resolution="MINUTE")
        sim.state.clock.advance(60)
        bars = await _bars(stream, 2)
        [before] = sim.state.streams.describe()
        await http.post("/_sim/stream/pause", json={"epic": "GOLD", "paused": True})
        sim.state.clock.advance(180)  # bars START+1..3 min close; the server pushes none
        await http.post("/_sim/stream/drop", json={})
        await http.post("/_sim/stream/pause", json={"epic": "GOLD", "paused": False})
        await connections_until_async(  # resubscribed on a new connection
            sim.state,
            lambda conns: (
                [(c["id"] != before["id"], c["ohlc"]) for c in conns]
                == [(True, ["GOLD:MINUTE:classic"])]
            ),
            within=10.0,
        )
        if options.get("backfill_bars", True):
            bars += await _bars(stream, 6)
        sim.state.clock.advance(60)  # START+4 min closes while connected: pushed
        bars += await _bars(stream, 2)
        return bars, stream.stats.replayed_bars


async def test_bars_that_closed_while_down_are_fetched_and_delivered_in_order(
    sim: SimHandle,
) -> None:
    bars, replayed = await _bars_across_an_outage(sim)
    starts = [(b.start_ms - START_MS) // 60_000 for b in bars]
    assert starts == [0, 0, 1, 1, 2, 2, 3, 3, 4, 4]
    assert [b.replayed for b in bars] == [False] * 2 + [True] * 6 + [False] * 2
    assert replayed == 6
    engine = sim.state.engine.prices.bars("GOLD", "MINUTE", START_MS, START_MS + 240_000)
    for bar in bars:
        side = getattr(engine[(bar.start_ms - START_MS) // 60_000], bar.price_type)
        assert (bar.open, bar.high, bar.low, bar.close) == (
            side.open,
            side.high,
            side.low,
            side.close,
        )


async def test_without_backfill_the_bars_closed_while_down_are_missing(sim: SimHandle) -> None:
    bars, replayed = await _bars_across_an_outage(sim, backfill_bars=False)
    assert [(b.start_ms - START_MS) // 60_000 for b in bars] == [0, 0, 4, 4]
    assert replayed == 0
