"""Bringing a catalog up to date: the plan and the bookkeeping written once, two drivers.

:class:`SyncRun` is all the logic: which windows are missing (coverage against the wanted range,
closed bars only), what a page adds, writing part files and the manifest, compaction, progress
and the summary. It makes no request. The drivers only send: :func:`drive_sync` with
:class:`~capitalcom_sdk.Client` s (one thread per client when there are several) and
:func:`drive_async` with :class:`~capitalcom_sdk.AsyncClient` s (tasks in one event loop). Each
client's own limiter keeps its requests at the documented rate, so n clients run at n x 10/s.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from capitalcom_sdk._clock import WallClock
from capitalcom_sdk._pagination import PRICES_NOT_FOUND, price_windows
from capitalcom_sdk.catalog._format import (
    PartInfo,
    bars_table,
    from_ms,
    to_ms,
    year_dir,
    year_of,
    year_span,
)
from capitalcom_sdk.catalog._intervals import Span, clip, subtract, union
from capitalcom_sdk.catalog._state import CatalogState, SeriesKey
from capitalcom_sdk.data._optional import require
from capitalcom_sdk.errors import NotFoundError
from capitalcom_sdk.models.enums import Resolution
from capitalcom_sdk.models.prices import PriceBar, PriceHistory

if TYPE_CHECKING:
    from capitalcom_sdk import AsyncClient, Client

logger = logging.getLogger("capitalcom_sdk.catalog")

SEGMENT_WINDOWS = 25
"""Requests whose bars go into one part file (25 x ~1000 bars): a killed run refetches at most
this many per worker."""
COMPACT_AT = 32
"""A year partition of a series with this many files is compacted even before the year ends."""
NOMINAL_RATE = 10.0  # documented requests/s per user: the ETA before anything was measured
MAX_BARS = 1000


@dataclass(frozen=True)
class SyncProgress:
    """One progress report, after each request (and once at the start with nothing done)."""

    epic: str
    resolution: str
    series_done: int
    series_total: int
    done: int
    total: int
    bars_added: int
    elapsed: float
    eta: float | None
    """Seconds still needed at the rate measured so far (None before the first request)."""


@dataclass
class SeriesSummary:
    """What a sync did for one (epic, resolution)."""

    epic: str
    resolution: str
    requests: int = 0
    bars_added: int = 0
    files_written: int = 0
    files_compacted: int = 0
    planned: int = 0


@dataclass
class SyncSummary:
    """What a sync did: bars added, requests sent (GET /prices plus the lookups), time taken."""

    bars_added: int = 0
    requests: int = 0
    price_requests: int = 0
    seconds: float = 0.0
    clients: int = 1
    series: list[SeriesSummary] = field(default_factory=list)

    @property
    def rate(self) -> float:
        """GET /prices requests per second over the run."""
        return self.price_requests / self.seconds if self.seconds > 0 else 0.0


@dataclass
class Segment:
    """Consecutive windows of one series whose bars become one part file (per year)."""

    key: SeriesKey
    windows: list[tuple[datetime, datetime]]
    span: Span
    bars: list[PriceBar] = field(default_factory=list)
    instrument_type: str | None = None


Progress = Callable[[SyncProgress], None]


class SyncRun:
    """The bookkeeping of one sync; safe to use from several threads (one lock)."""

    def __init__(
        self,
        state: CatalogState,
        keys: Sequence[SeriesKey],
        start: datetime,
        end: datetime | None,
        now: datetime,
        progress: Progress | None = None,
        clients: int = 1,
    ) -> None:
        self.state = state
        self.keys = list(keys)
        self.start_ms = -(-to_ms(start) // 1000) * 1000  # bars start on whole seconds
        self.end_ms = to_ms(end) if end is not None else None
        self.now_ms = to_ms(now)
        self.progress = progress
        self.lock = threading.Lock()  # the catalog's state: files, manifest, compaction
        self._tally = threading.Lock()  # the counters and progress (never held while writing)
        self.started = time.perf_counter()
        self.summary = SyncSummary(clients=clients)
        self.by_key = {key: SeriesSummary(*key) for key in self.keys}
        self.summary.series = list(self.by_key.values())
        self.pending: dict[SeriesKey, int] = {}
        self.segments = self._plan()
        self.total = sum(len(segment.windows) for segment in self.segments)
        self.done = 0

    # -- planning ----------------------------------------------------------------------------
    def wanted(self, key: SeriesKey) -> Span:
        """Bar starts to hold: from the start to the last closed bar (or the end, if earlier)."""
        duration = Resolution(key[1]).seconds * 1000
        closed = (self.now_ms - duration) // 1000 * 1000 + 1000  # last closed bar start + 1 s
        end = closed if self.end_ms is None else min(closed, self.end_ms)
        return (self.start_ms, max(self.start_ms, end))

    def _plan(self) -> list[Segment]:
        segments: list[Segment] = []
        for key in self.keys:
            resolution = Resolution(key[1])
            count = 0
            for gap_start, gap_end in subtract(self.wanted(key), self.state.coverage(key)):
                windows = price_windows(
                    from_ms(gap_start), from_ms(gap_end - 1000), resolution, MAX_BARS
                )
                for i in range(0, len(windows), SEGMENT_WINDOWS):
                    chunk = windows[i : i + SEGMENT_WINDOWS]
                    span = (to_ms(chunk[0][0]), to_ms(chunk[-1][1]) + 1000)
                    segments.append(Segment(key, chunk, span))
                    count += len(chunk)
            self.by_key[key].planned = count
            self.pending[key] = sum(1 for s in segments if s.key == key)
        return segments

    # -- what the drivers report ---------------------------------------------------------------
    def request_of(self, segment: Segment, window: tuple[datetime, datetime]) -> dict[str, Any]:
        """Keyword arguments of ``client.prices.get`` for one window."""
        epic, resolution = segment.key
        return {
            "epic": epic,
            "resolution": resolution,
            "max_bars": MAX_BARS,
            "start": window[0],
            "end": window[1],
        }

    def page(self, segment: Segment, page: PriceHistory | None) -> None:
        """One window's answer (None: no bars there) arrived."""
        duration = Resolution(segment.key[1]).seconds * 1000
        if page is not None:
            segment.instrument_type = page.instrument_type or segment.instrument_type
            low, high = segment.span
            for bar in page.prices:
                start = to_ms(bar.snapshot_time_utc)
                # inside the segment, and closed: never a bar still forming
                if low <= start < high and start + duration <= self.now_ms:
                    segment.bars.append(bar)
        with self._tally:
            self.done += 1
            series = self.by_key[segment.key]
            series.requests += 1
            self.summary.price_requests += 1
            self._report(segment.key)

    def commit(self, segment: Segment) -> None:
        """Write the segment's bars (one file per year touched), then the manifest."""
        with self.lock:
            self._commit(segment)
            self.pending[segment.key] -= 1
            if self.pending[segment.key] == 0:
                self.compact(segment.key)

    def _commit(self, segment: Segment) -> None:
        epic, resolution = segment.key
        by_time = {to_ms(bar.snapshot_time_utc): bar for bar in segment.bars}
        segment.bars = []
        meta = self.state.series[segment.key]
        if segment.instrument_type is not None:
            meta.instrument_type = str(segment.instrument_type)
        meta.decimal_places = self.state.decimals.get(epic, meta.decimal_places)
        series = self.by_key[segment.key]
        first_year, last_year = year_of(segment.span[0]), year_of(segment.span[1] - 1)
        for year in range(first_year, last_year + 1):
            part = clip([segment.span], year_span(year))
            if not part:
                continue
            low, high = part[0]
            times = sorted(t for t in by_time if low <= t < high)
            if not times:
                meta.empty.append((low, high))
                continue
            info = PartInfo(
                epic,
                resolution,
                year,
                ((low, high),),
                len(times),
                decimal_places=meta.decimal_places,
                instrument_type=meta.instrument_type,
            )
            name = f"{year_dir(epic, resolution, year)}/part-{low:013d}-{uuid.uuid4().hex[:8]}"
            self.state.store.write_part(
                f"{name}.parquet", bars_table([by_time[t] for t in times]), info
            )
            self.state.files[f"{name}.parquet"] = info
            series.files_written += 1
            series.bars_added += len(times)
            self.summary.bars_added += len(times)
        meta.empty = union(meta.empty)
        self.state.save()

    # -- compaction --------------------------------------------------------------------------
    def compact(self, key: SeriesKey) -> None:
        """Merge the files of each year partition that is over (or holds too many files)."""
        years = sorted({info.year for _, info in self.state.files_of(key)})
        for year in years:
            files = self.state.files_of(key, year)
            over = year_span(year)[1] <= self.now_ms
            if len(files) > 1 and (over or len(files) >= COMPACT_AT):
                self._compact_year(key, year, files)

    def _compact_year(self, key: SeriesKey, year: int, files: list[tuple[str, PartInfo]]) -> None:
        pa: Any = require("pyarrow", "the catalog")
        store = self.state.store
        table = pa.concat_tables([store.read_part(name) for name, _ in files])
        table = table.replace_schema_metadata(None).sort_by("time")
        coverage = tuple(union(span for _, info in files for span in info.coverage))
        meta = self.state.series[key]
        info = PartInfo(
            key[0],
            key[1],
            year,
            coverage,
            table.num_rows,
            decimal_places=meta.decimal_places,
            instrument_type=meta.instrument_type,
            replaces=tuple(name.rsplit("/", 1)[1] for name, _ in files),
        )
        name = (
            f"{year_dir(key[0], key[1], year)}/part-{coverage[0][0]:013d}-c{uuid.uuid4().hex[:8]}"
        )
        # Order matters for a kill at any point: the merged file first (it names the files it
        # replaces, so a next run finishes the job), then the manifest, then the deletions.
        store.write_part(f"{name}.parquet", table, info)
        for old, _ in files:
            del self.state.files[old]
        self.state.files[f"{name}.parquet"] = info
        self.state.save()
        for old, _ in files:
            store.remove(old)
        self.by_key[key].files_compacted += len(files)
        logger.info("compacted %d files of %s %s %d", len(files), key[0], key[1], year)

    def finish_idle(self) -> None:
        """Series with nothing to fetch may still have a partition to compact (a year ended)."""
        with self.lock:
            for superseded in self.state.superseded:
                self.state.store.remove(superseded)
            self.state.superseded.clear()
            for key in self.keys:
                if self.pending.get(key, 0) == 0:
                    self.compact(key)

    # -- progress ----------------------------------------------------------------------------
    def _report(self, key: SeriesKey) -> None:
        if self.progress is None:
            return
        series = self.by_key[key]
        elapsed = time.perf_counter() - self.started
        eta: float | None = None
        if self.done and elapsed > 0:
            eta = (self.total - self.done) * elapsed / self.done
        self.progress(
            SyncProgress(
                key[0],
                key[1],
                series.requests,
                series.planned,
                self.done,
                self.total,
                self.summary.bars_added,
                elapsed,
                eta,
            )
        )

    def report_start(self) -> None:
        if self.progress is None:
            return
        for key in self.keys:
            series = self.by_key[key]
            rate = NOMINAL_RATE * self.summary.clients
            self.progress(
                SyncProgress(
                    key[0], key[1], 0, series.planned, 0, self.total, 0, 0.0, self.total / rate
                )
            )

    def finish(self, lookups: int) -> SyncSummary:
        self.summary.requests = self.summary.price_requests + lookups
        self.summary.seconds = time.perf_counter() - self.started
        return self.summary


# -- the drivers -------------------------------------------------------------------------------
def _fetch(client: Client, request: dict[str, Any]) -> PriceHistory | None:
    try:
        return client.prices.get(**request)
    except NotFoundError as exc:
        if exc.error_code != PRICES_NOT_FOUND:
            raise
        return None


async def _afetch(client: AsyncClient, request: dict[str, Any]) -> PriceHistory | None:
    try:
        return await client.prices.get(**request)
    except NotFoundError as exc:
        if exc.error_code != PRICES_NOT_FOUND:
            raise
        return None


def _paced(clients: Sequence[Client] | Sequence[AsyncClient]) -> bool:
    """Whether workers take a window only once their client could send it without waiting.

    With several clients a window then goes to whichever key has a free slot, instead of
    being held in one key's rate limit while another key's slot goes unused (it decides the
    end of a sync: one key with a request more than the others costs a whole window of the
    limit). Only on the wall clock, where a client's slot is sure to come.
    """
    return len(clients) > 1 and all(isinstance(c.clock, WallClock) for c in clients)


def _window_queue(run: SyncRun) -> tuple[deque[tuple[Segment, int]], dict[int, int]]:
    """Every planned window as (segment, index), in plan order, and the windows each segment
    (by id) still waits for. Workers take windows, not whole segments, so none idles at the end
    while another still has a segment's worth of requests to make."""
    queue = deque((segment, i) for segment in run.segments for i in range(len(segment.windows)))
    left = {id(segment): len(segment.windows) for segment in run.segments}
    return queue, left


def drive_sync(run: SyncRun, clients: Sequence[Client]) -> None:
    """Fetch every planned window; several clients: one thread each over a shared queue."""
    queue, left = _window_queue(run)
    lock = threading.Lock()

    paced = _paced(clients)
    emptied = threading.Event()  # set once the last window is taken: no worker waits on then

    def work(client: Client) -> None:
        while True:
            if paced:
                delay = client.request_delay()
                while delay > 0.0 and not emptied.is_set():
                    emptied.wait(delay)
                    delay = client.request_delay()
            with lock:
                if not queue:
                    return
                segment, index = queue.popleft()
                if not queue:
                    emptied.set()
            run.page(segment, _fetch(client, run.request_of(segment, segment.windows[index])))
            with lock:
                left[id(segment)] -= 1
                complete = left[id(segment)] == 0
            if complete:  # its last window: the segment's file
                run.commit(segment)

    if len(clients) == 1:
        work(clients[0])
        return
    errors: list[BaseException] = []

    def guarded(client: Client) -> None:
        try:
            work(client)
        except BaseException as exc:
            errors.append(exc)
            with lock:
                queue.clear()

    threads = [threading.Thread(target=guarded, args=(c,), daemon=True) for c in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]


async def drive_async(run: SyncRun, clients: Sequence[AsyncClient], per_client: int) -> None:
    """Fetch every planned window: ``per_client`` tasks per client over a shared queue.

    A finished segment is written in a worker thread (Parquet, fsync, manifest: ~0.1 s), so the
    event loop keeps every client's requests going meanwhile; the sync returns only once every
    write it started has ended, also when it fails or is cancelled.
    """
    queue, left = _window_queue(run)
    loop = asyncio.get_running_loop()
    writes: set[asyncio.Future[None]] = set()

    async def commit(segment: Segment) -> None:
        write = loop.run_in_executor(None, run.commit, segment)
        writes.add(write)
        write.add_done_callback(writes.discard)
        await asyncio.shield(write)  # a cancelled task leaves the write to end on its own

    paced = _paced(clients)
    emptied = asyncio.Event()  # set once the last window is taken: no worker waits on then

    async def work(client: AsyncClient) -> None:
        while queue:
            if paced:
                delay = client.request_delay()
                while delay > 0.0 and queue:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(emptied.wait(), delay)
                    delay = client.request_delay()
                if not queue:
                    return
            segment, index = queue.popleft()
            if not queue:
                emptied.set()
            window = segment.windows[index]
            run.page(segment, await _afetch(client, run.request_of(segment, window)))
            left[id(segment)] -= 1
            if left[id(segment)] == 0:  # its last window: the segment's file
                await commit(segment)

    tasks = [asyncio.ensure_future(work(c)) for c in clients for _ in range(per_client)]
    try:
        await asyncio.gather(*tasks)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if writes:
            await asyncio.wait(set(writes))
