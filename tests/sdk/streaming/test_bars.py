"""The bar sequencer without sockets: order, never twice, hold and release, gap fill."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from capitalcom_sdk.errors import NotFoundError, ServerError
from capitalcom_sdk.models.prices import PriceBar, PriceHistory
from capitalcom_sdk.streaming._bars import BarSequencer
from capitalcom_sdk.streaming._events import OHLCBar, utc_from_ms
from capitalcom_sdk.streaming._registry import OhlcKey

MINUTE_MS = 60_000
T0 = int(datetime(2026, 11, 25, 15, 0, tzinfo=UTC).timestamp() * 1000)
GOLD = OhlcKey("GOLD", "MINUTE", "classic")


def _pushed(minute: int, side: str = "bid", key: OhlcKey = GOLD) -> OHLCBar:
    start = T0 + minute * MINUTE_MS
    price = 100.0 + minute
    return OHLCBar(*key, side, start, price, price, price, price, utc_from_ms(start))


def _rest_bars(*minutes: int) -> list[PriceBar]:
    def side(price: float) -> dict[str, float]:
        return {"bid": price, "ask": price + 0.5}

    wire = [
        {
            "snapshotTimeUTC": utc_from_ms(T0 + m * MINUTE_MS).strftime("%Y-%m-%dT%H:%M:%S"),
            "openPrice": side(100.0 + m),
            "highPrice": side(101.0 + m),
            "lowPrice": side(99.0 + m),
            "closePrice": side(100.5 + m),
        }
        for m in minutes
    ]
    return list(PriceHistory.model_validate({"prices": wire}).prices)


class _Source:
    """Closed bars and the server clock, as the client's REST side would give them."""

    def __init__(self, bars: list[PriceBar] | None = None, now_ms: int = T0) -> None:
        self.bars = bars or []
        self.now_ms = now_ms
        self.asked: list[tuple[str, str, int]] = []
        self.gate: asyncio.Event | None = None  # set: the fetch answers
        self.fetching = asyncio.Event()
        self.fail: Exception | None = None
        self.failures_left: int | None = None  # None: every call fails while ``fail`` is set

    async def closed_bars(self, epic: str, resolution: str, after_ms: int) -> list[PriceBar]:
        self.asked.append((epic, resolution, after_ms))
        self.fetching.set()
        if self.gate is not None:
            await self.gate.wait()
        if self.fail is not None and self.failures_left != 0:
            if self.failures_left is not None:
                self.failures_left -= 1
            raise self.fail
        return [b for b in self.bars if b.snapshot_time_utc.timestamp() * 1000 > after_ms]

    async def server_time_ms(self) -> int:
        if self.fail is not None:
            raise self.fail
        return self.now_ms


def _sequencer(source: _Source) -> tuple[BarSequencer, list[OHLCBar]]:
    delivered: list[OHLCBar] = []
    return BarSequencer(delivered.append, source), delivered


def _starts(bars: list[OHLCBar]) -> list[tuple[int, str, bool]]:
    return [((b.start_ms - T0) // MINUTE_MS, b.price_type, b.replayed) for b in bars]


def test_each_side_is_delivered_in_order_and_never_twice() -> None:
    sequencer, delivered = _sequencer(_Source())
    for bar in (
        _pushed(0),
        _pushed(0, "ask"),
        _pushed(1),
        _pushed(0),
        _pushed(1),
        _pushed(1, "ask"),
    ):
        sequencer.accept(bar)
    assert _starts(delivered) == [
        (0, "bid", False),
        (0, "ask", False),
        (1, "bid", False),
        (1, "ask", False),
    ]
    assert sequencer.bars == 4
    other = OhlcKey("GOLD", "HOUR", "classic")  # another key has its own order
    sequencer.accept(_pushed(0, key=other))
    assert delivered[-1].resolution == "HOUR"


async def test_the_gap_is_filled_oldest_first_and_pushed_bars_wait_behind_it() -> None:
    source = _Source(_rest_bars(1, 2, 3))
    source.gate = asyncio.Event()
    sequencer, delivered = _sequencer(source)
    sequencer.accept(_pushed(0))
    sequencer.accept(_pushed(0, "ask"))
    fill = asyncio.create_task(sequencer.fill_gap([GOLD]))
    await source.fetching.wait()
    sequencer.accept(_pushed(3))  # pushed while the fill runs: also in the fill
    sequencer.accept(_pushed(4))  # newer than the gap
    assert len(delivered) == 2  # held
    source.gate.set()
    await fill
    assert source.asked == [("GOLD", "MINUTE", T0)]  # after the newest delivered bar
    assert _starts(delivered) == [
        (0, "bid", False),
        (0, "ask", False),
        (1, "bid", True),
        (1, "ask", True),
        (2, "bid", True),
        (2, "ask", True),
        (3, "bid", True),
        (3, "ask", True),
        (4, "bid", False),  # the held bar of minute 3 came twice: delivered once
    ]
    assert sequencer.replayed == 6
    replayed = delivered[2]
    assert (replayed.open, replayed.high, replayed.low, replayed.close) == (
        101.0,
        102.0,
        100.0,
        101.5,
    )
    assert delivered[3].close == 102.0  # the ask side


async def test_before_any_bar_the_gap_starts_one_bar_before_the_subscription() -> None:
    source = _Source(_rest_bars(0, 1), now_ms=T0 + 30_000)
    sequencer, delivered = _sequencer(source)
    await sequencer.subscribed([GOLD])
    source.now_ms = T0 + 10 * MINUTE_MS
    await sequencer.subscribed([GOLD])  # already noted: the first time counts
    assert sequencer.gap_start(GOLD) == T0 + 30_000 - MINUTE_MS
    await sequencer.fill_gap([GOLD])
    assert [(m, r) for m, _, r in _starts(delivered)] == [
        (0, True),
        (0, True),
        (1, True),
        (1, True),
    ]


async def test_without_a_known_start_or_for_heikin_ashi_nothing_is_fetched() -> None:
    source = _Source(_rest_bars(1))
    sequencer, delivered = _sequencer(source)
    heikin = OhlcKey("GOLD", "MINUTE", "heikin-ashi")
    sequencer.accept(_pushed(0, key=heikin))
    await sequencer.fill_gap([GOLD, heikin])
    assert source.asked == []
    assert len(delivered) == 1


async def test_a_failed_fetch_is_tried_again_and_nothing_is_skipped() -> None:
    source = _Source(_rest_bars(1, 2))
    source.gate = asyncio.Event()
    source.fail = ServerError(503, "error.service.unavailable")
    source.failures_left = 2
    delivered: list[OHLCBar] = []
    sequencer = BarSequencer(delivered.append, source, 0.001, 0.002)
    sequencer.accept(_pushed(0))
    fill = asyncio.create_task(sequencer.fill_gap([GOLD]))
    await source.fetching.wait()
    sequencer.accept(_pushed(3))
    source.gate.set()
    await fill
    assert len(source.asked) == 3  # twice refused, then answered
    assert _starts(delivered) == [
        (0, "bid", False),
        (1, "bid", True),
        (1, "ask", True),
        (2, "bid", True),
        (2, "ask", True),
        (3, "bid", False),
    ]


async def test_a_fetch_that_cannot_succeed_releases_the_held_bars() -> None:
    source = _Source()
    source.fail = NotFoundError(404, "error.not-found.epic")
    sequencer, delivered = _sequencer(source)
    sequencer.accept(_pushed(0))
    fill = sequencer.fill_gap([GOLD])
    sequencer.accept(_pushed(5))
    await fill
    assert len(source.asked) == 1
    assert _starts(delivered) == [(0, "bid", False), (5, "bid", False)]


async def test_bars_pushed_before_the_fill_runs_wait_behind_the_gap() -> None:
    # The new connection re-subscribes (and may be pushed a bar) before the fill's task runs:
    # that bar must not move the gap's start past the missing ones.
    source = _Source(_rest_bars(1, 2))
    sequencer, delivered = _sequencer(source)
    sequencer.accept(_pushed(0))
    fill = sequencer.fill_gap([GOLD])
    sequencer.accept(_pushed(3))
    await fill
    assert source.asked == [("GOLD", "MINUTE", T0)]
    assert [m for m, side, _ in _starts(delivered) if side == "bid"] == [0, 1, 2, 3]


async def test_a_cancelled_fill_keeps_what_it_held_for_the_next_fill() -> None:
    source = _Source(_rest_bars(1, 2))
    source.gate = asyncio.Event()
    sequencer, delivered = _sequencer(source)
    sequencer.accept(_pushed(0))
    fill = asyncio.create_task(sequencer.fill_gap([GOLD]))
    await source.fetching.wait()
    sequencer.accept(_pushed(2))
    fill.cancel()  # the connection was lost again
    with pytest.raises(asyncio.CancelledError):
        await fill
    assert _starts(delivered) == [(0, "bid", False)]  # minute 1 is still missing
    sequencer.accept(_pushed(3))  # still held: the gap is not filled yet
    source.gate.set()
    await sequencer.fill_gap([GOLD])  # the next connection's fill
    assert source.asked[-1] == ("GOLD", "MINUTE", T0)
    assert [m for m, side, _ in _starts(delivered) if side == "bid"] == [0, 1, 2, 3]
    sequencer.accept(_pushed(4))  # no longer held
    assert delivered[-1].start_ms == T0 + 4 * MINUTE_MS


def test_forgetting_a_key_drops_its_hold() -> None:
    sequencer, delivered = _sequencer(_Source())
    sequencer.accept(_pushed(0))
    sequencer.fill_gap([GOLD]).close()
    sequencer.forget([GOLD])
    sequencer.accept(_pushed(1))
    assert len(delivered) == 2


async def test_the_local_clock_stands_in_when_the_server_time_fails() -> None:
    source = _Source()
    source.fail = ServerError(503, "error.service.unavailable")
    sequencer, _ = _sequencer(source)
    await sequencer.subscribed([GOLD])
    start = sequencer.gap_start(GOLD)
    assert start is not None
    assert abs(start + MINUTE_MS - datetime.now(UTC).timestamp() * 1000) < 60_000


async def test_forgetting_a_key_starts_it_afresh() -> None:
    sequencer, delivered = _sequencer(_Source())
    await sequencer.subscribed([GOLD])
    sequencer.accept(_pushed(5))
    sequencer.forget([GOLD])
    assert sequencer.gap_start(GOLD) is None
    sequencer.accept(_pushed(1))  # older than before, but a new subscription
    assert _starts(delivered) == [(5, "bid", False), (1, "bid", False)]
