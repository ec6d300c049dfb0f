"""Paper trading's price bridge: the quotes of one server pushed into a local simulator.

:class:`PriceBridge` subscribes to the quote stream of a source client (the demo or live server,
or another simulator) through the SDK's public streaming API and pins every quote, bid and
offer both (the real spread is kept), on a simulator through its control plane
(``POST /_sim/prices/{epic}`` with ``{"bid": b, "offer": o}``). The bot trades against the
simulator: real prices, simulated fills, no order on any account. The source is only read (its
quote stream and ``GET /markets/{epic}``); nothing is ever sent to its trading endpoints.

Quotes are coalesced: when several quotes of one epic wait, only the newest is pushed.

Market status. A market that closes goes silent on the stream. After ``stale_after`` seconds
without a quote of an epic the bridge asks the source (``GET /markets/{epic}``, once per silent
period): an epic the source reports not ``TRADEABLE`` is listed in :attr:`BridgeStats.closed`
(logged once) until its quotes come back. The simulator keeps quoting the last real bid/offer and
its own trading hours decide whether it deals; the bridge never closes or opens a market there.

The simulator should run at clock speed 1 (wall time). Its stream re-quotes a pinned price at
its next tick, so a small ``tick_ms`` (100) keeps the bot's stream within ~0.1 s of the source
(bench/paper_bridge.py measures it).

Lifecycle: ``with PriceBridge(client, url, epics) as bridge:`` (a :class:`~capitalcom_sdk.Client`
source: a background thread) or ``async with PriceBridge(async_client, url, epics):`` (an
:class:`~capitalcom_sdk.AsyncClient` source: a task on the running loop); or ``start()`` /
``stop()`` and ``await astart()`` / ``await astop()``. Stopping is idempotent and never hangs on
a silent source. The source stream reconnects by itself after a drop
(:attr:`BridgeStats.reconnects`).
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import statistics
import threading
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

import httpx

from capitalcom_sdk._logging import get_logger
from capitalcom_sdk.streaming import Event, Quote, StreamClosedError

if TYPE_CHECKING:
    from capitalcom_sdk import AsyncClient, Client
    from capitalcom_sdk.models import MarketDetails
    from capitalcom_sdk.streaming import AsyncStream, Stream

logger = get_logger("capitalcom_sdk.backtest.bridge")

__all__ = ["BridgeError", "BridgeStats", "PriceBridge"]

LATENCY_SAMPLES = 10_000
"""The latency figures are over the last this many pushes."""


class BridgeError(RuntimeError):
    """The bridge cannot run: the simulator refused an epic, or it was started the wrong way."""


@dataclass(frozen=True, slots=True)
class BridgeStats:
    """Counters of a bridge (a snapshot).

    Attributes:
        received: quotes of the bridged epics taken from the source's stream.
        pushed: quotes the simulator accepted (the start-up snapshots included).
        coalesced: quotes skipped because a newer quote of the same epic was waiting.
        push_errors: pushes the simulator refused or did not answer.
        reconnects: the source stream's reconnects.
        closed: epics the source reports closed (see the module's notes on market status).
        last_quote: the last (bid, offer) pushed per epic.
        latency_median_ms, latency_p99_ms: from a quote's arrival at the bridge to the
            simulator's answer (None before the first push).
        age_median_ms, age_p99_ms: from a quote's own timestamp (the source's clock) to the
            simulator's answer: the staleness of the quotes the bot trades on, including the
            source's delivery and any clock difference between the source and this machine.
    """

    received: int
    pushed: int
    coalesced: int
    push_errors: int
    reconnects: int
    closed: tuple[str, ...]
    last_quote: dict[str, tuple[float, float]]
    latency_median_ms: float | None
    latency_p99_ms: float | None
    age_median_ms: float | None
    age_p99_ms: float | None


def _percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, math.ceil(fraction * len(ordered)) - 1)]


class _BridgeState:
    """What the bridge knows, with no I/O: waiting quotes, silence, counters (thread-safe)."""

    def __init__(self, epics: tuple[str, ...], stale_after: float) -> None:
        self.epics = frozenset(epics)
        self.stale_after = stale_after
        self._lock = threading.Lock()
        self._waiting: dict[str, tuple[float, float, float, int]] = {}  # bid, offer, arrival, ts
        self._heard: dict[str, float] = {}  # epic -> last quote or status check (monotonic)
        self._closed: set[str] = set()
        self._last: dict[str, tuple[float, float]] = {}
        self._latency: deque[float] = deque(maxlen=LATENCY_SAMPLES)
        self._age: deque[float] = deque(maxlen=LATENCY_SAMPLES)
        self.received = self.pushed = self.coalesced = self.push_errors = 0

    def started(self, now: float) -> None:
        with self._lock:
            self._heard = dict.fromkeys(self.epics, now)

    def accept(self, event: Event, now: float) -> None:
        """Keep a quote of a bridged epic (the newest per epic)."""
        if not isinstance(event, Quote) or event.epic not in self.epics:
            return
        with self._lock:
            self.received += 1
            if event.epic in self._waiting:
                self.coalesced += 1
            self._waiting[event.epic] = (event.bid, event.offer, now, event.timestamp_ms)
            self._heard[event.epic] = now
            if event.epic in self._closed:
                self._closed.discard(event.epic)
                logger.info("bridge: quotes of %s are back", event.epic)

    def take(self) -> list[tuple[str, dict[str, float], tuple[float, int | None]]]:
        """The quotes to push now: (epic, body, (arrival, quote timestamp ms))."""
        with self._lock:
            waiting, self._waiting = self._waiting, {}
        return [(e, {"bid": b, "offer": o}, (t, ts)) for e, (b, o, t, ts) in waiting.items()]

    def done(
        self,
        epic: str,
        answer: dict[str, Any] | None,
        arrival: tuple[float, int | None],
        now: float,
    ) -> None:
        """Book one push: the simulator's answer, or None when it refused or failed."""
        with self._lock:
            if answer is None:
                self.push_errors += 1
                return
            self.pushed += 1
            self._last[epic] = (float(answer["bid"]), float(answer["offer"]))
            received, stamped_ms = arrival
            self._latency.append((now - received) * 1000.0)
            if stamped_ms is not None:
                self._age.append(time.time() * 1000.0 - stamped_ms)

    def silent(self, now: float) -> list[str]:
        """Epics without a quote for ``stale_after`` seconds (each reported once per period)."""
        with self._lock:
            due = [e for e, t in self._heard.items() if now - t >= self.stale_after]
            for epic in due:
                self._heard[epic] = now
            return due

    def status(self, epic: str, tradeable: bool) -> None:
        """Book what the source said of a silent epic."""
        with self._lock:
            if tradeable:
                self._closed.discard(epic)
            elif epic not in self._closed:
                self._closed.add(epic)
                logger.info("bridge: the source reports %s closed; its last quote is held", epic)

    def stats(self, reconnects: int) -> BridgeStats:
        with self._lock:
            samples, ages = list(self._latency), list(self._age)
            return BridgeStats(
                received=self.received,
                pushed=self.pushed,
                coalesced=self.coalesced,
                push_errors=self.push_errors,
                reconnects=reconnects,
                closed=tuple(sorted(self._closed)),
                last_quote=dict(self._last),
                latency_median_ms=statistics.median(samples) if samples else None,
                latency_p99_ms=_percentile(samples, 0.99) if samples else None,
                age_median_ms=statistics.median(ages) if ages else None,
                age_p99_ms=_percentile(ages, 0.99) if ages else None,
            )


def _snapshot_quote(details: MarketDetails) -> tuple[dict[str, float] | None, bool]:
    """The push body of a market's snapshot (None without prices) and whether it is tradeable."""
    snapshot = details.snapshot
    if snapshot is None:
        return None, False
    tradeable = getattr(snapshot.market_status, "value", snapshot.market_status) == "TRADEABLE"
    if snapshot.bid is None or snapshot.offer is None:
        return None, tradeable
    return {"bid": snapshot.bid, "offer": snapshot.offer}, tradeable


def _answer(response: httpx.Response, epic: str) -> dict[str, Any] | None:
    if response.status_code == 200:
        body: dict[str, Any] = response.json()
        return body
    logger.warning("bridge: the simulator refused %s: %s", epic, response.status_code)
    return None


class PriceBridge:
    """Pin the source's quotes on a simulator, bid and offer, until stopped.

    Args:
        source: the client whose quotes are bridged (only read: stream and market details).
        sim_base_url: the simulator's base URL (``http://127.0.0.1:PORT``).
        epics: the markets to bridge (one epic or several); each must exist on the simulator.
        stale_after: seconds without a quote of an epic before the source is asked whether that
            market is closed.
        timeout: seconds a push to the simulator may take.
        stream_options: :class:`~capitalcom_sdk.streaming.StreamOptions` fields for the source
            stream.
    """

    def __init__(
        self,
        source: Client | AsyncClient,
        sim_base_url: str,
        epics: str | Iterable[str],
        *,
        stale_after: float = 30.0,
        timeout: float = 5.0,
        stream_options: dict[str, Any] | None = None,
    ) -> None:
        names = (epics,) if isinstance(epics, str) else tuple(dict.fromkeys(epics))
        if not names or not all(isinstance(e, str) and e for e in names):
            raise ValueError("epics: one or more epics")
        if not math.isfinite(stale_after) or stale_after <= 0:
            raise ValueError("stale_after must be a finite number > 0")
        self.source = source
        self.sim_base_url = sim_base_url.rstrip("/")
        self.epics = names
        self._timeout = timeout
        self._stream_options = dict(stream_options or {})
        self._state = _BridgeState(names, stale_after)
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._task: asyncio.Task[None] | None = None
        self._sync_stream: Stream | None = None
        self._async_stream: AsyncStream | None = None
        self._http: httpx.Client | None = None
        self._ahttp: httpx.AsyncClient | None = None
        self._reconnects = 0
        self.failure: BaseException | None = None
        """Why the bridge stopped by itself (the source stream failed), or None."""

    def __repr__(self) -> str:
        return f"PriceBridge(epics={list(self.epics)!r}, sim={self.sim_base_url!r})"

    @property
    def running(self) -> bool:
        """Whether quotes are being bridged now."""
        worker = self._thread or self._task
        if isinstance(worker, threading.Thread):
            return worker.is_alive()
        return worker is not None and not worker.done()

    @property
    def stats(self) -> BridgeStats:
        """Counters and latency figures (a snapshot)."""
        stream = self._sync_stream or self._async_stream
        if stream is not None:
            self._reconnects = stream.stats.reconnects
        return self._state.stats(self._reconnects)

    def _path(self, epic: str) -> str:
        return f"{self.sim_base_url}/_sim/prices/{epic}"

    # -- Client source: a background thread ----------------------------------------------------

    def start(self) -> Self:
        """Subscribe, push the current quotes, then bridge on a background thread.

        Raises:
            BridgeError: the source is an AsyncClient (use ``astart``), or the simulator refused
                an epic.
        """
        from capitalcom_sdk import Client

        if not isinstance(self.source, Client):
            raise BridgeError("an AsyncClient source: use `async with` or `await astart()`")
        if self._thread is not None:
            return self
        source = self.source
        self._http = httpx.Client(timeout=self._timeout)
        try:
            for epic in self.epics:
                body, tradeable = _snapshot_quote(source.markets.get(epic))
                self._state.status(epic, tradeable)
                if body is not None:
                    self._push_first(epic, self._http.post(self._path(epic), json=body))
            stream = source.stream(**self._stream_options)
            try:
                stream.open()
                stream.subscribe_quotes(self.epics)
            except BaseException:
                stream.close()
                raise
            self._sync_stream = stream
        except BaseException:
            self._close_sync()
            raise
        self._state.started(time.monotonic())
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run_sync, name="price-bridge", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop bridging and close the source stream (idempotent)."""
        self._stopping.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join()
        self._close_sync()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def _run_sync(self) -> None:
        stream, http, state = self._sync_stream, self._http, self._state
        assert stream is not None
        assert http is not None
        while not self._stopping.is_set():
            try:
                event = stream.get(timeout=0.2)
                while event is not None:
                    state.accept(event, time.monotonic())
                    event = stream.get(timeout=0)
            except StreamClosedError:
                return
            except Exception as exc:  # the stream's own failure: it gave up
                self.failure = exc
                logger.error("bridge: the source stream failed: %s", type(exc).__name__)
                return
            for epic, body, arrival in state.take():
                try:
                    answer = _answer(http.post(self._path(epic), json=body), epic)
                except httpx.HTTPError as exc:
                    logger.warning("bridge: push of %s failed: %s", epic, type(exc).__name__)
                    answer = None
                state.done(epic, answer, arrival, time.monotonic())
            for epic in state.silent(time.monotonic()):
                self._check_sync(epic)

    def _check_sync(self, epic: str) -> None:
        from capitalcom_sdk import Client

        assert isinstance(self.source, Client)
        try:
            _, tradeable = _snapshot_quote(self.source.markets.get(epic))
        except Exception as exc:
            logger.warning("bridge: status of %s unknown: %s", epic, type(exc).__name__)
            return
        self._state.status(epic, tradeable)

    def _close_sync(self) -> None:
        stream, self._sync_stream = self._sync_stream, None
        if stream is not None:
            self._reconnects = stream.stats.reconnects
            stream.close()
        http, self._http = self._http, None
        if http is not None:
            http.close()

    def _push_first(self, epic: str, response: httpx.Response) -> None:
        if response.status_code == 404:
            raise BridgeError(f"the simulator has no market {epic!r}")
        answer = _answer(response, epic)
        now = time.monotonic()
        self._state.done(epic, answer, (now, None), now)

    # -- AsyncClient source: a task on the running loop ----------------------------------------

    async def astart(self) -> Self:
        """:meth:`start` for an AsyncClient source: the bridge runs as a task of this loop."""
        from capitalcom_sdk import AsyncClient

        if not isinstance(self.source, AsyncClient):
            raise BridgeError("a Client source: use `with` or `start()`")
        if self._task is not None:
            return self
        source = self.source
        self._ahttp = httpx.AsyncClient(timeout=self._timeout)
        try:
            for epic in self.epics:
                body, tradeable = _snapshot_quote(await source.markets.get(epic))
                self._state.status(epic, tradeable)
                if body is not None:
                    self._push_first(epic, await self._ahttp.post(self._path(epic), json=body))
            stream = source.stream(**self._stream_options)
            try:
                await stream.open()
                await stream.subscribe_quotes(self.epics)
            except BaseException:
                await stream.close()
                raise
            self._async_stream = stream
        except BaseException:
            await self._close_async()
            raise
        self._state.started(time.monotonic())
        self._task = asyncio.get_running_loop().create_task(self._run_async())
        return self

    async def astop(self) -> None:
        """Stop bridging and close the source stream (idempotent)."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self._close_async()

    async def __aenter__(self) -> Self:
        return await self.astart()

    async def __aexit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.astop()

    async def _run_async(self) -> None:
        stream, http, state = self._async_stream, self._ahttp, self._state
        assert stream is not None
        assert http is not None
        while True:
            try:
                event = await asyncio.wait_for(anext(stream), 0.2)
            except TimeoutError:
                event = None
            except StopAsyncIteration:
                return
            except Exception as exc:
                self.failure = exc
                logger.error("bridge: the source stream failed: %s", type(exc).__name__)
                return
            now = time.monotonic()
            if event is not None:
                state.accept(event, now)
            for waiting in stream.drain():
                state.accept(waiting, now)
            for epic, body, arrival in state.take():
                try:
                    answer = _answer(await http.post(self._path(epic), json=body), epic)
                except httpx.HTTPError as exc:
                    logger.warning("bridge: push of %s failed: %s", epic, type(exc).__name__)
                    answer = None
                state.done(epic, answer, arrival, time.monotonic())
            for epic in state.silent(time.monotonic()):
                await self._check_async(epic)

    async def _check_async(self, epic: str) -> None:
        from capitalcom_sdk import AsyncClient

        assert isinstance(self.source, AsyncClient)
        try:
            _, tradeable = _snapshot_quote(await self.source.markets.get(epic))
        except Exception as exc:
            logger.warning("bridge: status of %s unknown: %s", epic, type(exc).__name__)
            return
        self._state.status(epic, tradeable)

    async def _close_async(self) -> None:
        stream, self._async_stream = self._async_stream, None
        if stream is not None:
            self._reconnects = stream.stats.reconnects
            await stream.close()
        http, self._ahttp = self._ahttp, None
        if http is not None:
            await http.aclose()
