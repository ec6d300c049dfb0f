"""The consumer buffer's overflow policy (pure unit tests)."""

from __future__ import annotations

import threading

import pytest

from capitalcom_sdk.streaming import EventBuffer, OHLCBar, Quote
from capitalcom_sdk.streaming._events import utc_from_ms
from capitalcom_sdk.streaming.errors import StreamOverflowError


def _quote(epic: str, ms: int) -> Quote:
    return Quote(epic, 1.0, 1.1, None, None, ms, utc_from_ms(ms))


def _bar(epic: str, ms: int) -> OHLCBar:
    return OHLCBar(epic, "MINUTE", "classic", "bid", ms, 1, 2, 0.5, 1.5, utc_from_ms(ms))


def test_full_buffer_drops_the_oldest_quote_of_the_same_epic() -> None:
    buffer = EventBuffer(max_quotes=3)
    for event in (_quote("A", 1), _quote("B", 1), _quote("A", 2), _quote("A", 3)):
        buffer.put(event)
    assert [(e.epic, e.timestamp_ms) for e in buffer.pop_many(10)] == [
        ("B", 1),
        ("A", 2),
        ("A", 3),
    ]
    assert buffer.dropped_quotes == 1
    assert buffer.dropped_by_epic == {"A": 1}


def test_an_epic_without_waiting_quotes_displaces_the_oldest_quote_overall() -> None:
    buffer = EventBuffer(max_quotes=2)
    for event in (_quote("A", 1), _quote("B", 1), _quote("C", 1)):
        buffer.put(event)
    assert [e.epic for e in buffer.pop_many(10)] == ["B", "C"]
    assert buffer.dropped_by_epic == {"A": 1}


def test_bars_are_never_dropped_and_do_not_count_against_the_quote_cap() -> None:
    buffer = EventBuffer(max_quotes=1, max_bars=3)
    buffer.put(_bar("A", 0))
    buffer.put(_quote("A", 1))
    buffer.put(_bar("A", 60))
    buffer.put(_quote("A", 2))
    events = buffer.pop_many(10)
    assert [type(e).__name__ for e in events] == ["OHLCBar", "OHLCBar", "Quote"]
    assert buffer.dropped_quotes == 1


def test_too_many_waiting_bars_fail_loudly() -> None:
    buffer = EventBuffer(max_bars=2)
    buffer.put(_bar("A", 0))
    buffer.put(_bar("A", 60))
    with pytest.raises(StreamOverflowError):
        buffer.put(_bar("A", 120))
    assert len(buffer) == 2


def test_per_epic_order_is_kept_under_sustained_overflow() -> None:
    buffer = EventBuffer(max_quotes=10)
    for ms in range(1000):
        buffer.put(_quote("AB"[ms % 2], ms))
    events = buffer.pop_many(100)
    assert len(events) == 10
    for epic in "AB":
        times = [e.timestamp_ms for e in events if e.epic == epic]
        assert times == sorted(times)
        assert times[-1] >= 998
    assert buffer.dropped_quotes == 990
    assert buffer.high_water == 10


def test_a_blocked_reader_thread_wakes_when_an_event_arrives() -> None:
    buffer = EventBuffer()
    woke = threading.Event()

    def reader() -> None:
        if buffer.wait(5):
            woke.set()

    thread = threading.Thread(target=reader)
    thread.start()
    buffer.put(_quote("A", 1))
    thread.join(5)
    assert woke.is_set()
