"""The price-history pager against the simulator engine's own bars: same bars, none lost.

For arbitrary markets, resolutions and ranges (crossing weekends, market closes, the 1000-bar
page limit several times, ranges that end "now" with a bar in progress), ``prices.history``
over HTTP must return exactly the bars ``engine.prices.bars`` computes directly: same starts,
same bid/ask OHLC, same volumes, strictly ascending, no duplicates. The simulator's clock is
frozen so both sides see the same "now".
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from capitalcom_sdk import Client, Resolution
from capitalcom_sim.server import SimServer
from tests.conftest import start_sim
from tests.reliability.conftest import config, handle

NOW_MS = 1_795_003_200_000 + 37 * 60_000 + 17_000  # Wed 2026-11-18 12:37:17 UTC
NOW = datetime.fromtimestamp(NOW_MS / 1000, UTC)
SECONDS = {r.value: r.seconds for r in Resolution}
EPICS = ["GOLD", "EURUSD", "US500", "AAPL", "BTCUSD"]
DEPTH = timedelta(days=700)  # ranges stay within the simulator's MINUTE_5 depth


@pytest.fixture(scope="module")
def server() -> Iterator[SimServer]:
    server = start_sim(config(1, start_ms=NOW_MS, clock_speed=0.0, seed=4242))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def client(server: SimServer) -> Iterator[Client]:
    with Client(**handle(server).client_kwargs(), rate_limit=False) as client:
        yield client


@st.composite
def ranges(draw: st.DrawFn) -> tuple[str, str, datetime, datetime | None]:
    epic = draw(st.sampled_from(EPICS))
    resolution = draw(st.sampled_from(list(SECONDS)))
    step = SECONDS[resolution]
    # Up to ~3.5 pages of bars, starting anywhere (not aligned to the bar grid).
    bars = draw(
        st.integers(min_value=1, max_value=60) | st.integers(min_value=1000, max_value=3500)
    )
    span = timedelta(seconds=bars * step + draw(st.integers(min_value=0, max_value=step)))
    # The end lies at least one bar inside the depth, so that clamping the start to the depth
    # below keeps start < end (400 WEEK bars back would put the end ~7 years before it).
    depth = int(DEPTH.total_seconds())
    back = timedelta(
        seconds=draw(st.integers(min_value=0, max_value=min(step * 400, depth - step)))
    )
    end = None if draw(st.booleans()) else NOW - back
    start = (end or NOW) - span
    start = max(start, NOW - DEPTH)
    assert start < (end or NOW)
    return epic, resolution, start, end


def engine_bars(
    server: SimServer, epic: str, resolution: str, start: datetime, end: datetime | None
) -> list[tuple[object, ...]]:
    start_ms = int(start.replace(microsecond=0).timestamp() * 1000)
    end_ms = int((end or NOW).replace(microsecond=0).timestamp() * 1000)
    bars = server.state.engine.prices.bars(epic, resolution, start_ms, end_ms, now_ms=NOW_MS)
    return [
        (
            b.start_ms,
            (b.bid.open, b.bid.high, b.bid.low, b.bid.close),
            (b.ask.open, b.ask.high, b.ask.low, b.ask.close),
            float(b.volume),
        )
        for b in bars
    ]


@pytest.mark.slow
def test_pager_returns_exactly_the_engine_bars(server: SimServer, client: Client) -> None:
    pages: list[int] = []

    @settings(
        max_examples=30,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    # Always one range that needs four pages (BTCUSD trades around the clock), whatever else
    # the random draw brings: the "several pages" claim below must not depend on luck.
    @example(("BTCUSD", "MINUTE", NOW - timedelta(minutes=3200), None))
    @given(ranges())
    def check(case: tuple[str, str, datetime, datetime | None]) -> None:
        epic, resolution, start, end = case
        requests: list[int] = []
        history = client.prices.history(
            epic, resolution, start, end, progress=lambda done, total: requests.append(total)
        )
        pages.append(requests[-1] if requests else 0)
        got = [
            (
                int(bar.snapshot_time_utc.timestamp() * 1000),
                (bar.open_price.bid, bar.high_price.bid, bar.low_price.bid, bar.close_price.bid),
                (bar.open_price.ask, bar.high_price.ask, bar.low_price.ask, bar.close_price.ask),
                bar.last_traded_volume,
            )
            for bar in history.prices
        ]
        expected = engine_bars(server, epic, resolution, start, end)
        assert [g[0] for g in got] == [e[0] for e in expected]  # same bar starts, in order
        assert got == expected
        times = [g[0] for g in got]
        assert times == sorted(set(times))

    check()
    assert max(pages) >= 3  # some ranges really needed several pages
