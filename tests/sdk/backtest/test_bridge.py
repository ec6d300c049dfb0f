"""PriceBridge: one simulator's quotes (the source) pinned on another (the target), bid and offer.

The source stands for the demo or live server. Both simulators have frozen clocks; the source's
clock is moved by one tick to make it quote a price set on it, as a real server would quote.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from capitalcom_sdk import AsyncClient, Client
from capitalcom_sdk.backtest._bridge import BridgeError, PriceBridge, _BridgeState
from capitalcom_sdk.streaming import Quote
from capitalcom_sim.server import SimServer
from tests.conftest import SimHandle, handle_for, start_sim
from tests.sdk.streaming.support import stream_config

BOUND_S = 3.0  # a quote moved on the source is on the target within this (wall seconds)
SESSION = {"POST /api/v1/session", "DELETE /api/v1/session"}


@pytest.fixture
def target() -> Iterator[SimHandle]:
    server: SimServer = start_sim(stream_config(seed=8))  # other prices than the source's
    try:
        yield handle_for(server)
    finally:
        server.stop()


def _quote_on_source(source: SimHandle, epic: str, bid: float, offer: float) -> None:
    """Set a quote on the source and move its clock one tick so that it streams it."""
    with httpx.Client(base_url=source.base_url) as http:
        assert (
            http.post(f"/_sim/prices/{epic}", json={"bid": bid, "offer": offer}).status_code == 200
        )
        http.post("/_sim/clock", json={"advance": 1}).raise_for_status()


def _target_quote(target: SimHandle, client: Client, epic: str) -> tuple[float, float]:
    snapshot = client.markets.get(epic).snapshot
    assert snapshot is not None
    assert snapshot.bid is not None
    assert snapshot.offer is not None
    return snapshot.bid, snapshot.offer


def _wait_for_quote(
    client: Client, target: SimHandle, epic: str, want: tuple[float, float]
) -> float:
    """Seconds until the target quotes ``want`` (fails after BOUND_S)."""
    started = time.monotonic()
    while time.monotonic() - started < BOUND_S:
        if _target_quote(target, client, epic) == want:
            return time.monotonic() - started
        time.sleep(0.01)
    raise AssertionError(
        f"{epic} never quoted {want} on the target: {_target_quote(target, client, epic)}"
    )


def _writes(sim: SimHandle) -> dict[str, int]:
    """The requests the simulator counted other than reads, logging in and out and /_sim/."""
    requests: dict[str, int] = sim.state.stats.snapshot()["requests"]
    return {
        key: n
        for key, n in requests.items()
        if not key.startswith("GET ") and key not in SESSION and " /_sim/" not in key
    }


def test_source_quotes_appear_on_the_target_with_their_spread(
    source: SimHandle, target: SimHandle
) -> None:
    with (
        Client(**source.client_kwargs()) as feed,
        Client(**target.client_kwargs()) as bot,
        PriceBridge(feed, target.base_url, ["GOLD", "EURUSD"]) as bridge,
    ):
        # the source's quote at start-up (the target's own seed quotes other prices)
        assert _target_quote(target, bot, "GOLD") == _target_quote(source, feed, "GOLD")
        _quote_on_source(source, "GOLD", 2101.37, 2101.99)  # a wider spread than GOLD's own
        _quote_on_source(source, "EURUSD", 1.08341, 1.08348)
        _wait_for_quote(bot, target, "GOLD", (2101.37, 2101.99))
        _wait_for_quote(bot, target, "EURUSD", (1.08341, 1.08348))
        stats = bridge.stats
        assert stats.last_quote["GOLD"] == (2101.37, 2101.99)
        assert stats.received >= 2
        assert stats.push_errors == 0
        assert stats.latency_median_ms is not None
        assert stats.latency_p99_ms is not None
    assert not bridge.running
    assert _writes(source) == {}


def test_market_order_on_the_target_fills_at_the_source_price(
    source: SimHandle, target: SimHandle
) -> None:
    with (
        Client(**source.client_kwargs()) as feed,
        Client(**target.client_kwargs()) as bot,
        PriceBridge(feed, target.base_url, "GOLD"),
    ):
        _quote_on_source(source, "GOLD", 2050.11, 2050.61)
        _wait_for_quote(bot, target, "GOLD", (2050.11, 2050.61))
        bought = bot.positions.open("GOLD", "BUY", size=1)
        sold = bot.positions.open("GOLD", "SELL", size=1)
        assert bought.level == 2050.61  # a buy at the source's offer
        assert sold.level == 2050.11  # a sell at its bid
    assert _writes(source) == {}
    assert (
        sum(n for k, n in source.state.stats.snapshot()["requests"].items() if "positions" in k)
        == 0
    )


def test_bridge_survives_a_source_stream_drop(source: SimHandle, target: SimHandle) -> None:
    with (
        Client(**source.client_kwargs()) as feed,
        Client(**target.client_kwargs()) as bot,
        PriceBridge(
            feed, target.base_url, "GOLD", stream_options={"backoff_initial": 0.05}
        ) as bridge,
    ):
        _quote_on_source(source, "GOLD", 2000.5, 2001.0)
        _wait_for_quote(bot, target, "GOLD", (2000.5, 2001.0))
        with httpx.Client(base_url=source.base_url) as http:
            assert http.post("/_sim/stream/drop", json={}).json() == {"dropped": 1}
        deadline = time.monotonic() + BOUND_S
        while bridge.stats.reconnects < 1 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert bridge.stats.reconnects == 1
        _quote_on_source(source, "GOLD", 1990.25, 1990.75)
        _wait_for_quote(bot, target, "GOLD", (1990.25, 1990.75))
        assert bridge.running
        assert bridge.failure is None
    assert not bridge.running


def test_stop_is_prompt_and_idempotent_on_a_silent_source(
    source: SimHandle, target: SimHandle
) -> None:
    with Client(**source.client_kwargs()) as feed:
        bridge = PriceBridge(feed, target.base_url, "GOLD").start()
        started = time.monotonic()
        bridge.stop()
        bridge.stop()
        assert time.monotonic() - started < 2.0
        assert not bridge.running
        assert source.state.streams.describe() == []


def test_a_silent_closed_market_is_reported(source: SimHandle, target: SimHandle) -> None:
    with (
        Client(**source.client_kwargs()) as feed,
        PriceBridge(feed, target.base_url, "GOLD", stale_after=0.2) as bridge,
    ):
        source.state.clock.advance(3 * 86_400)  # Saturday: GOLD closed, its stream silent
        deadline = time.monotonic() + BOUND_S
        while bridge.stats.closed != ("GOLD",) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert bridge.stats.closed == ("GOLD",)


async def test_async_source_bridges_quotes(source: SimHandle, target: SimHandle) -> None:
    async with (
        AsyncClient(**source.client_kwargs()) as feed,
        AsyncClient(**target.client_kwargs()) as bot,
        PriceBridge(feed, target.base_url, "GOLD") as bridge,
    ):
        async with httpx.AsyncClient(base_url=source.base_url) as http:
            await http.post("/_sim/prices/GOLD", json={"bid": 2222.2, "offer": 2222.9})
            await http.post("/_sim/clock", json={"advance": 1})
        started = time.monotonic()
        quote: Any = None
        while time.monotonic() - started < BOUND_S:
            snapshot = (await bot.markets.get("GOLD")).snapshot
            assert snapshot is not None
            quote = (snapshot.bid, snapshot.offer)
            if quote == (2222.2, 2222.9):
                break
        assert quote == (2222.2, 2222.9)
        assert bridge.stats.push_errors == 0
    assert not bridge.running
    assert _writes(source) == {}


def test_an_async_start_needs_an_async_client(source: SimHandle, target: SimHandle) -> None:
    with Client(**source.client_kwargs()) as feed:
        bridge = PriceBridge(feed, target.base_url, "GOLD")
        with pytest.raises(BridgeError, match="Client source"):
            asyncio.run(bridge.astart())
        assert not bridge.running


def _quote(epic: str, bid: float, offer: float, at_ms: int = 1_000) -> Quote:
    return Quote(epic, bid, offer, None, None, at_ms, datetime.fromtimestamp(at_ms / 1000, UTC))


def test_waiting_quotes_are_coalesced_to_the_newest_per_epic() -> None:
    state = _BridgeState(("GOLD", "EURUSD"), stale_after=30.0)
    for i, epic in enumerate(["GOLD", "GOLD", "EURUSD", "GOLD", "US500"]):
        state.accept(_quote(epic, 10.0 + i, 11.0 + i), now=float(i))
    pushes = {epic: (body, arrival) for epic, body, arrival in state.take()}
    assert pushes == {
        "GOLD": ({"bid": 13.0, "offer": 14.0}, (3.0, 1_000)),
        "EURUSD": ({"bid": 12.0, "offer": 13.0}, (2.0, 1_000)),
    }
    assert (state.received, state.coalesced) == (4, 2)  # US500 is not bridged
    assert state.take() == []


def test_a_silent_epic_is_checked_once_per_period_and_reopens_with_quotes() -> None:
    state = _BridgeState(("GOLD", "EURUSD"), stale_after=5.0)
    state.started(0.0)
    state.accept(_quote("EURUSD", 1.0, 1.1), now=4.0)
    assert state.silent(5.0) == ["GOLD"]
    assert state.silent(6.0) == []  # asked already in this period
    state.status("GOLD", tradeable=False)
    assert state.stats(0).closed == ("GOLD",)
    state.accept(_quote("GOLD", 2.0, 2.1), now=7.0)
    assert state.stats(0).closed == ()
