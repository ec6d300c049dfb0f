"""The bounded buffer between the sockets and the consumer, with its overflow policy.

Policy (docs/streaming.md, "Overflow"):

* at most ``max_quotes`` quotes wait; when a new quote finds the buffer full, the oldest waiting
  quote *of the same epic* is dropped (the new one supersedes it); if that epic has none waiting,
  the oldest waiting quote of any epic is dropped. Every drop is counted (total and per epic).
  Per-epic order is never changed.
* bars are never dropped. At most ``max_bars`` may wait; one more fails the stream with
  :class:`StreamOverflowError` (raised to the consumer) instead of losing data silently.

Thread-safe: the producer is the stream's event loop, the consumer may be another thread.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable

from capitalcom_sdk.streaming._events import Event, OHLCBar, Quote
from capitalcom_sdk.streaming.errors import StreamOverflowError


class EventBuffer:
    """FIFO of stream events with a quote cap (drop-oldest per epic) and a bar cap (fail)."""

    def __init__(self, max_quotes: int = 10_000, max_bars: int = 10_000) -> None:
        if max_quotes < 1 or max_bars < 1:
            raise ValueError("max_quotes and max_bars must be >= 1")
        self.max_quotes = max_quotes
        self.max_bars = max_bars
        self._items: deque[Event] = deque()
        self._quotes = 0
        self._bars = 0
        self._per_epic: dict[str, int] = {}
        self.dropped_quotes = 0
        self.dropped_by_epic: dict[str, int] = {}
        self.high_water = 0
        self._lock = threading.Lock()
        self._not_empty = threading.Condition(self._lock)
        self._on_ready: Callable[[], None] | None = None

    def set_on_ready(self, callback: Callable[[], None] | None) -> None:
        """Call ``callback`` (in the producer's thread) when an event is added."""
        self._on_ready = callback

    def __len__(self) -> int:
        return len(self._items)

    def put(self, event: Event) -> None:
        """Add an event, applying the overflow policy."""
        with self._lock:
            if type(event) is Quote:
                if self._quotes >= self.max_quotes:
                    self._drop_for(event.epic)
                self._quotes += 1
                epic = event.epic
                self._per_epic[epic] = self._per_epic.get(epic, 0) + 1
            else:
                if self._bars >= self.max_bars:
                    raise StreamOverflowError(
                        f"{self._bars} OHLC bars waiting: the consumer is not keeping up"
                    )
                self._bars += 1
            items = self._items
            items.append(event)
            size = len(items)
            if size > self.high_water:
                self.high_water = size
            if size == 1:
                self._not_empty.notify()
        callback = self._on_ready
        if callback is not None:
            callback()

    def _drop_for(self, epic: str) -> None:
        items = self._items
        victim = -1
        first_quote = -1
        same_epic = self._per_epic.get(epic, 0) > 0
        for index, item in enumerate(items):
            if type(item) is Quote:
                if first_quote < 0:
                    first_quote = index
                    if not same_epic:
                        break
                if item.epic == epic:
                    victim = index
                    break
        if victim < 0:
            victim = first_quote
        if victim < 0:
            return
        dropped = items[victim]
        del items[victim]
        assert isinstance(dropped, Quote)
        self._quotes -= 1
        left = self._per_epic[dropped.epic] - 1
        if left:
            self._per_epic[dropped.epic] = left
        else:
            del self._per_epic[dropped.epic]
        self.dropped_quotes += 1
        self.dropped_by_epic[dropped.epic] = self.dropped_by_epic.get(dropped.epic, 0) + 1

    def _taken(self, event: Event) -> None:
        if type(event) is Quote:
            self._quotes -= 1
            epic = event.epic
            left = self._per_epic[epic] - 1
            if left:
                self._per_epic[epic] = left
            else:
                del self._per_epic[epic]
        else:
            self._bars -= 1

    def pop(self) -> Event | None:
        """The oldest event, or None when empty (never blocks)."""
        with self._lock:
            if not self._items:
                return None
            event = self._items.popleft()
            self._taken(event)
            return event

    def pop_many(self, limit: int) -> list[Event]:
        """Up to ``limit`` oldest events (never blocks)."""
        with self._lock:
            items = self._items
            count = min(limit, len(items))
            taken = [items.popleft() for _ in range(count)]
            for event in taken:
                self._taken(event)
            return taken

    def wait(self, timeout: float | None) -> bool:
        """Block the calling thread until an event waits (True) or ``timeout`` passes."""
        with self._lock:
            if self._items:
                return True
            self._not_empty.wait(timeout)
            return bool(self._items)

    def wake(self) -> None:
        """Wake blocked :meth:`wait` callers (closing, failure)."""
        with self._lock:
            self._not_empty.notify_all()


__all__ = ["EventBuffer", "OHLCBar", "Quote"]
