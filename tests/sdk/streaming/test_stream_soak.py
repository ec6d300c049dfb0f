"""No loss and per-epic order at about 1,000 quotes/s for 30 s (50 epics, clock at 50x)."""

from __future__ import annotations

import asyncio
import time

import pytest

from capitalcom_sdk import AsyncClient, Quote
from tests.conftest import SimHandle
from tests.sdk.streaming.support import open_epics, stream_config

SECONDS = 30.0
SPEED = 50.0  # ~41% of ticks change a price: 50 epics x 50 ticks/s x 0.41 ~ 1,000 quotes/s


@pytest.mark.slow
@pytest.mark.parametrize("sim_config", [stream_config(speed=SPEED)])
async def test_thousand_quotes_per_second_arrive_complete_and_in_order(sim: SimHandle) -> None:
    epics = open_epics(sim.state.engine)[:50]
    received: dict[str, list[tuple[int, float, float]]] = {e: [] for e in epics}
    async with (
        AsyncClient(**sim.client_kwargs()) as client,
        client.stream(ping_interval=5.0) as stream,
    ):
        await stream.subscribe_quotes(epics)
        started = time.monotonic()
        async with asyncio.timeout(SECONDS + 20):
            async for event in stream:
                assert isinstance(event, Quote)
                received[event.epic].append((event.timestamp_ms, event.bid, event.offer))
                if time.monotonic() - started >= SECONDS:
                    break
        stats = stream.stats
    elapsed = time.monotonic() - started
    total = sum(len(v) for v in received.values())
    assert stats.dropped_quotes == 0
    assert stats.reconnects == 0
    assert total / elapsed > 900, f"only {total / elapsed:.0f} quotes/s"
    prices = sim.state.engine.prices
    tick = prices.tick_ms
    for epic, quotes in received.items():
        assert quotes, epic
        first, last = quotes[0][0], quotes[-1][0]
        expected = [quotes[0]]
        previous = prices.quote(epic, first)
        for t in range(first + tick, last + 1, tick):
            quote = prices.quote(epic, t)
            if quote != previous:
                expected.append((t, *quote))
            previous = quote
        assert quotes == expected, epic
