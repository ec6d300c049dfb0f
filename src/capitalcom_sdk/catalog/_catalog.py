"""``Catalog``: a local (or fsspec) store of price bars, synced incrementally, read by anything."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from capitalcom_sdk import _validation as check
from capitalcom_sdk.catalog._format import check_epic, from_ms
from capitalcom_sdk.catalog._intervals import Span
from capitalcom_sdk.catalog._read import Engine, convert, read_table
from capitalcom_sdk.catalog._state import CatalogState, SeriesKey
from capitalcom_sdk.catalog._store import Store
from capitalcom_sdk.catalog._sync import (
    Progress,
    SyncRun,
    SyncSummary,
    drive_async,
    drive_sync,
)
from capitalcom_sdk.errors import ConfigurationError, RequestValidationError
from capitalcom_sdk.models.enums import Resolution

if TYPE_CHECKING:
    import pyarrow as pa

    from capitalcom_sdk import AsyncClient, Client


@dataclass(frozen=True)
class SeriesInfo:
    """What the catalog holds of one (epic, resolution)."""

    epic: str
    resolution: str
    bars: int
    files: int
    coverage: tuple[tuple[datetime, datetime], ...]
    """Covered ranges ``[start, end)`` of bar starts (an instant without a bar had no trading)."""
    decimal_places: int | None
    instrument_type: str | None


def _as_list(value: Any, field: str) -> list[Any]:
    if isinstance(value, str | Resolution):
        return [value]
    if isinstance(value, Sequence) and value:
        return list(value)
    raise RequestValidationError(field, f"must be one or more values, got {value!r}")


def _keys(epics: str | Sequence[str], resolutions: Any) -> list[SeriesKey]:
    chosen_epics = [check_epic(check.epic(e, "epics")) for e in _as_list(epics, "epics")]
    chosen = [
        check.resolution(r, "resolutions").value for r in _as_list(resolutions, "resolutions")
    ]
    return [(e, r) for e in dict.fromkeys(chosen_epics) for r in dict.fromkeys(chosen)]


def _clients(given: Any, method: str, asynchronous: bool) -> list[Any]:
    from capitalcom_sdk._client import AsyncClient, Client

    wanted = AsyncClient if asynchronous else Client
    clients = list(given) if isinstance(given, list | tuple) else [given] if given else []
    if not clients:
        raise ConfigurationError(
            f"Catalog.{method} needs a {wanted.__name__}: Catalog(root, client=...)"
        )
    for each in clients:
        if not isinstance(each, wanted):
            raise ConfigurationError(
                f"Catalog.{method} needs {wanted.__name__} objects, got {type(each).__name__}"
            )
    return clients


class Catalog:
    """Price bars of many markets in partitioned Parquet under ``root``.

    Layout: ``prices/epic=GOLD/resolution=HOUR/year=2026/part-....parquet`` plus
    ``_manifest.json`` (covered ranges); see docs/data.md. Any engine reads it without the SDK.

    Args:
        root: a local path or an fsspec URL (``memory://cat``, ``s3://bucket/cat`` ...).
        client: a :class:`~capitalcom_sdk.Client` (for :meth:`sync`), an
            :class:`~capitalcom_sdk.AsyncClient` (for :meth:`async_sync`), or a list of them:
            one per API key, each at its own full rate.
        storage_options: passed to fsspec (credentials of an object store, ...).

    Needs ``pip install 'capitalcom-sdk[catalog]'`` (pyarrow, fsspec; Polars for ``as_="polars"``).
    """

    def __init__(
        self,
        root: str | os.PathLike[str],
        client: Client | AsyncClient | Sequence[Client] | Sequence[AsyncClient] | None = None,
        *,
        storage_options: dict[str, Any] | None = None,
    ) -> None:
        self.store = Store(root, storage_options)
        self.client = client

    def __repr__(self) -> str:
        return f"Catalog({self.store.url!r})"

    # -- sync --------------------------------------------------------------------------------
    def sync(
        self,
        epics: str | Sequence[str],
        resolutions: Resolution | str | Sequence[Resolution | str],
        start: datetime,
        end: datetime | None = None,
        *,
        progress: Progress | None = None,
    ) -> SyncSummary:
        """Fetch the closed bars of ``[start, end)`` (end: now) that the catalog lacks.

        Only missing ranges are requested (an up-to-date catalog costs at most one request per
        epic and resolution, plus one ``GET /time``); a bar still forming is never stored. Safe
        to kill at any moment: the next run loses and duplicates nothing. ``progress`` is called
        after each request with a :class:`SyncProgress`.
        """
        clients: list[Client] = _clients(self.client, "sync()", False)
        keys = _keys(epics, resolutions)
        first, last = check.date_range(start, end, "start", "end")
        assert first is not None
        now = clients[0].general.server_time().datetime
        state = CatalogState.load(self.store)
        self.store.clean_staging()
        lookups = 1
        for batch in _batches(self._unknown_decimals(state, keys)):
            missing = _record_batch(state, batch, clients[0].markets.search(epics=batch))
            for epic in missing:  # not in the batch's answer: asked alone (404 if unknown)
                state.decimals[epic] = _decimals(clients[0].markets.get(epic))
            lookups += 1 + len(missing)
        run = SyncRun(state, keys, first, last, now, progress, clients=len(clients))
        run.finish_idle()
        run.report_start()
        drive_sync(run, clients)
        return run.finish(lookups)

    async def async_sync(
        self,
        epics: str | Sequence[str],
        resolutions: Resolution | str | Sequence[Resolution | str],
        start: datetime,
        end: datetime | None = None,
        *,
        progress: Progress | None = None,
        tasks_per_client: int = 2,
    ) -> SyncSummary:
        """:meth:`sync` with :class:`~capitalcom_sdk.AsyncClient` s: every client's requests
        run concurrently (``tasks_per_client`` in flight each, paced by its limiter)."""
        clients: list[AsyncClient] = _clients(self.client, "async_sync()", True)
        if not isinstance(tasks_per_client, int) or not 1 <= tasks_per_client <= 16:
            raise RequestValidationError(
                "tasks_per_client", f"must be an integer from 1 to 16, got {tasks_per_client!r}"
            )
        keys = _keys(epics, resolutions)
        first, last = check.date_range(start, end, "start", "end")
        assert first is not None
        now = (await clients[0].general.server_time()).datetime
        state = CatalogState.load(self.store)
        self.store.clean_staging()
        lookups = 1

        async def look_up(client: AsyncClient, batch: list[str]) -> None:
            nonlocal lookups
            missing = _record_batch(state, batch, await client.markets.search(epics=batch))
            for epic in missing:  # not in the batch's answer: asked alone (404 if unknown)
                state.decimals[epic] = _decimals(await client.markets.get(epic))
            lookups += 1 + len(missing)

        batches = _batches(self._unknown_decimals(state, keys))
        await asyncio.gather(
            *(look_up(clients[i % len(clients)], batch) for i, batch in enumerate(batches))
        )
        run = SyncRun(state, keys, first, last, now, progress, clients=len(clients))
        run.finish_idle()
        run.report_start()
        await drive_async(run, clients, tasks_per_client)
        return run.finish(lookups)

    @staticmethod
    def _unknown_decimals(state: CatalogState, keys: list[SeriesKey]) -> list[str]:
        return [epic for epic in dict.fromkeys(e for e, _ in keys) if epic not in state.decimals]

    # -- reading -----------------------------------------------------------------------------
    def bars(
        self,
        epic: str,
        resolution: Resolution | str,
        start: datetime | None = None,
        end: datetime | None = None,
        *,
        as_: Engine = "pandas",
    ) -> Any:
        """Bars of ``[start, end)`` ascending, as ``"pandas"`` (the frame of
        ``PriceHistory.to_pandas()``), ``"polars"`` or ``"arrow"``.

        Raises:
            MissingDependencyError: the engine asked for is not installed (names the extra).
        """
        key = (check_epic(epic), check.resolution(resolution).value)
        first, last = check.date_range(start, end, "start", "end")
        if as_ not in ("pandas", "polars", "arrow"):
            raise RequestValidationError("as_", f"must be pandas, polars or arrow, got {as_!r}")
        table = read_table(CatalogState.load(self.store), key, first, last)
        return convert(table, as_)

    def to_arrow(self, epic: str, resolution: Resolution | str) -> pa.Table:
        """All bars of one series as an Arrow table."""
        return self.bars(epic, resolution, as_="arrow")

    def series(self) -> list[SeriesInfo]:
        """What the catalog holds, per epic and resolution."""
        state = CatalogState.load(self.store)
        infos = []
        for key in state.series_keys():
            meta = state.series.get(key)
            infos.append(
                SeriesInfo(
                    key[0],
                    key[1],
                    state.rows(key),
                    len(state.files_of(key)),
                    tuple(_dates(span) for span in state.coverage(key)),
                    state.decimals.get(key[0], meta.decimal_places if meta else None),
                    meta.instrument_type if meta else None,
                )
            )
        return infos


def _dates(span: Span) -> tuple[datetime, datetime]:
    return (from_ms(span[0]), from_ms(span[1]))


def _batches(epics: list[str]) -> list[list[str]]:
    """The epics in groups of at most 50: one ``GET /markets?epics=`` each."""
    size = check.MAX_SEARCH_EPICS
    return [epics[i : i + size] for i in range(0, len(epics), size)]


def _record_batch(state: CatalogState, batch: list[str], answer: Any) -> list[str]:
    """Keep the decimal places a ``GET /markets?epics=`` answer gives for ``batch``; the epics
    it left out (to be asked alone)."""
    found = {d.instrument.epic: d for d in answer.market_details or ()}
    for epic in batch:
        if epic in found:
            state.decimals[epic] = _decimals(found[epic])
    return [epic for epic in batch if epic not in found]


def _decimals(details: Any) -> int:
    snapshot = getattr(details, "snapshot", None)
    value = getattr(snapshot, "decimal_places_factor", None)
    return int(value) if value is not None else 0
