"""``Stream``: the synchronous face of :class:`AsyncStream`.

The async stream runs on a private event loop in a daemon thread (never ``asyncio.run`` inside
somebody else's loop). Calls are handed to that loop and waited for; events are taken from the
same thread-safe buffer, by iteration or by an ``on_event`` callback thread.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Coroutine, Iterable, Iterator
from types import TracebackType
from typing import Any, Self, TypeVar

from capitalcom_sdk._clock import check_seconds
from capitalcom_sdk._logging import get_logger
from capitalcom_sdk.streaming._events import Event
from capitalcom_sdk.streaming._options import StreamOptions, StreamStats
from capitalcom_sdk.streaming._sources import SessionSource
from capitalcom_sdk.streaming._stream import AsyncStream
from capitalcom_sdk.streaming.errors import StreamClosedError

logger = get_logger("capitalcom_sdk.streaming")
T = TypeVar("T")


class Stream:
    """Quotes and OHLC bars as a blocking iterator (``with client.stream() as stream:``).

    Args:
        session: the client's session source.
        options: tuning (see :class:`StreamOptions`).
        on_event: if given, called with every event on a dedicated thread (instead of
            iterating); a slow callback never delays the socket's keep-alive.
    """

    def __init__(
        self,
        session: SessionSource,
        options: StreamOptions | None = None,
        on_event: Callable[[Event], Any] | None = None,
    ) -> None:
        self._session = session
        self.options = options or StreamOptions()
        self._on_event = on_event
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._stream: AsyncStream | None = None
        self._dispatcher: threading.Thread | None = None
        self._closed = False

    def __repr__(self) -> str:
        return f"Stream({self._stream!r})"

    # -- lifecycle ------------------------------------------------------------------------------

    def open(self) -> Self:
        """Start the background loop (idempotent)."""
        if self._stream is not None:
            return self
        if self._closed:
            raise StreamClosedError("the stream is closed")
        loop = asyncio.new_event_loop()
        thread = threading.Thread(target=loop.run_forever, name="capitalcom-stream", daemon=True)
        thread.start()
        self._loop, self._thread = loop, thread

        async def create() -> AsyncStream:
            return await AsyncStream(self._session, self.options).open()

        self._stream = self._call(create())
        if self._on_event is not None:
            self._dispatcher = threading.Thread(
                target=self._dispatch_loop, name="capitalcom-stream-callback", daemon=True
            )
            self._dispatcher.start()
        return self

    def close(self) -> None:
        """Close the connections and stop the background thread."""
        if self._closed:
            return
        self._closed = True
        loop, stream = self._loop, self._stream
        if loop is not None and stream is not None:
            try:
                asyncio.run_coroutine_threadsafe(stream.close(), loop).result(10.0)
            finally:
                loop.call_soon_threadsafe(loop.stop)
                if self._thread is not None:
                    self._thread.join(timeout=10.0)
                if not loop.is_running():
                    loop.close()
        dispatcher = self._dispatcher
        if dispatcher is not None and dispatcher is not threading.current_thread():
            dispatcher.join(timeout=10.0)

    def __enter__(self) -> Self:
        return self.open()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _call(self, coroutine: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        loop = self._loop
        if loop is None or loop.is_closed() or (self._closed and self._stream is not None):
            coroutine.close()
            raise StreamClosedError("the stream is closed" if self._closed else "not open")
        return asyncio.run_coroutine_threadsafe(coroutine, loop).result(timeout)

    def _async(self) -> AsyncStream:
        if self._stream is None:
            self.open()
        assert self._stream is not None
        return self._stream

    # -- subscriptions --------------------------------------------------------------------------

    def subscribe_quotes(self, epics: str | Iterable[str]) -> None:
        """Receive quotes of ``epics`` (see :meth:`AsyncStream.subscribe_quotes`)."""
        stream = self._async()
        self._call(stream.subscribe_quotes(epics))

    def subscribe_ohlc(
        self,
        epics: str | Iterable[str],
        resolution: str | Iterable[str] = "MINUTE",
        bar_type: str = "classic",
    ) -> None:
        """Receive completed OHLC bars (see :meth:`AsyncStream.subscribe_ohlc`)."""
        stream = self._async()
        self._call(stream.subscribe_ohlc(epics, resolution, bar_type))

    def unsubscribe_quotes(self, epics: str | Iterable[str]) -> None:
        """Stop the quotes of ``epics``."""
        stream = self._async()
        self._call(stream.unsubscribe_quotes(epics))

    def unsubscribe_ohlc(
        self,
        epics: str | Iterable[str],
        resolutions: str | Iterable[str] | None = None,
        bar_types: str | Iterable[str] | None = None,
    ) -> None:
        """Stop OHLC bars of ``epics`` (only the named resolutions / bar types when given)."""
        stream = self._async()
        self._call(stream.unsubscribe_ohlc(epics, resolutions, bar_types))

    @property
    def stats(self) -> StreamStats:
        """Counters (see :class:`StreamStats`)."""
        return self._async().stats

    @property
    def subscriptions(self) -> dict[str, list[str]]:
        return self._async().subscriptions

    # -- consuming ------------------------------------------------------------------------------

    def get(self, timeout: float | None = None) -> Event | None:
        """The next event, waiting up to ``timeout`` seconds (None = forever); None on timeout.

        The seconds are the client's clock's: in lock-step (a frozen simulator clock) the wait
        moves that clock straight to the next subscribed event, at most ``timeout`` simulated
        seconds on, and waits for its frames, never on the wall clock.

        Raises StreamClosedError once closed and drained, or the stream's failure.
        """
        if timeout is not None:
            timeout = check_seconds(timeout, "timeout")
        stream = self._async()
        if stream._lockstep:
            return self._get_lockstep(stream, timeout)
        return self._wait(stream, timeout)

    def _wait(self, stream: AsyncStream, timeout: float | None) -> Event | None:
        buffer = stream._buffer
        # Not in lock-step: the client's clock is the wall clock (or a running simulator's,
        # whose events come in real time), so the wait is on the wall clock.
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            event = buffer.pop()
            if event is not None:
                return event
            failure = stream._failure
            if failure is not None:
                raise failure
            if stream.closed or self._closed:
                raise StreamClosedError("the stream is closed")
            wait = 0.5 if deadline is None else min(0.5, deadline - time.monotonic())
            if wait <= 0:
                return None
            buffer.wait(wait)

    def _get_lockstep(self, stream: AsyncStream, timeout: float | None) -> Event | None:
        sim = stream._sim
        assert sim is not None
        buffer = stream._buffer
        deadline = None if timeout is None else sim.monotonic() + timeout
        while True:
            if stream._barrier_due:  # the clock moved where the barrier could not run
                self._call(stream._barrier())
            event = buffer.pop()
            if event is not None:
                return event
            failure = stream._failure
            if failure is not None:
                raise failure
            if stream.closed or self._closed:
                raise StreamClosedError("the stream is closed")
            remaining = None if deadline is None else deadline - sim.monotonic()
            if remaining is not None and remaining <= 0:
                return None
            before = sim.now_ms()
            now, due = sim.advance_to_next(remaining)  # the barrier runs in its hook
            if due is None and now == before:
                buffer.wait(0.5)  # nothing subscribed: as live, for what another thread adds

    def __iter__(self) -> Iterator[Event]:
        return self

    def __next__(self) -> Event:
        try:
            event = self.get()
        except StreamClosedError:
            raise StopIteration from None
        assert event is not None
        return event

    def _events(self) -> Iterator[Event]:
        """Events as they arrive, never moving the clock: the callback thread only delivers
        (in lock-step the bot's own waits move the clock, and their barrier buffers the
        events, which this thread then hands to the callback)."""
        stream = self._async()
        while True:
            try:
                event = self._wait(stream, None)
            except StreamClosedError:
                return
            assert event is not None
            yield event

    def _dispatch_loop(self) -> None:
        callback = self._on_event
        assert callback is not None
        for event in self._events():
            try:
                callback(event)
            except Exception:
                logger.exception("on_event callback failed")
