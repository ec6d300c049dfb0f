"""``capitalcom data``: a local market-data catalog (sync bars into Parquet, show coverage)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from capitalcom_sdk.cli._options import JsonFlag, parse_time
from capitalcom_sdk.cli._output import table
from capitalcom_sdk.cli._state import CliState, handle_errors, state_of
from capitalcom_sdk.errors import RequestValidationError

if TYPE_CHECKING:
    from capitalcom_sdk.catalog import SyncProgress, SyncSummary

group = typer.Typer(
    help="A local catalog of price bars (Parquet, read by DuckDB, Polars, pandas, Spark).",
    no_args_is_help=True,
)

RootOpt = Annotated[
    str, typer.Option("--root", help="Catalog directory or fsspec URL (s3://..., memory://...).")
]


def _resolutions(text: str) -> list[str]:
    from capitalcom_sdk import _validation as check

    names = [part.strip() for part in text.split(",") if part.strip()]
    if not names:
        raise RequestValidationError("resolution", "give one or more, e.g. MINUTE,HOUR")
    return [check.resolution(name).value for name in names]


@contextmanager
def _progress(state: CliState) -> Iterator[Callable[[SyncProgress], None] | None]:
    """Rich bars on stderr: one per epic and resolution, and one overall with the ETA."""
    if state.output.json_mode:
        yield None
        return
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    with Progress(
        TextColumn("{task.description:<22}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("requests"),
        TimeRemainingColumn(),
        console=state.output.err,
    ) as progress:
        overall = progress.add_task("[bold]all", total=None)
        tasks: dict[tuple[str, str], Any] = {}

        def update(event: SyncProgress) -> None:
            key = (event.epic, event.resolution)
            if key not in tasks:
                tasks[key] = progress.add_task(f"{event.epic} {event.resolution}", total=None)
            progress.update(tasks[key], completed=event.series_done, total=event.series_total)
            progress.update(overall, completed=event.done, total=event.total)

        yield update


def _summary_json(summary: SyncSummary, root: str) -> dict[str, Any]:
    return {
        "root": root,
        "barsAdded": summary.bars_added,
        "requests": summary.requests,
        "priceRequests": summary.price_requests,
        "seconds": round(summary.seconds, 3),
        "clients": summary.clients,
        "series": [
            {
                "epic": s.epic,
                "resolution": s.resolution,
                "requests": s.requests,
                "barsAdded": s.bars_added,
                "filesWritten": s.files_written,
                "filesCompacted": s.files_compacted,
            }
            for s in summary.series
        ],
    }


def _show_summary(state: CliState, summary: SyncSummary, root: str) -> None:
    def render(console: Any) -> None:
        console.print(
            table(
                f"Synced into {root}",
                ["epic", "resolution", "requests", "bars added", "files", "compacted"],
                (
                    [
                        s.epic,
                        s.resolution,
                        s.requests,
                        s.bars_added,
                        s.files_written,
                        s.files_compacted,
                    ]
                    for s in summary.series
                ),
            )
        )
        console.print(
            f"{summary.bars_added:,} bars added, {summary.requests} requests "
            f"({summary.price_requests} for prices) in {summary.seconds:.1f} s"
            + (f" over {summary.clients} keys" if summary.clients > 1 else "")
        )

    state.output.result(_summary_json(summary, root), render)


async def _sync_with_keys(
    state: CliState, keys_file: Path, root: str, args: dict[str, Any], progress: Any
) -> SyncSummary:
    from capitalcom_sdk import AsyncClient
    from capitalcom_sdk.catalog import Catalog, load_keys

    settings = state.settings
    clients = [
        AsyncClient(
            key.api_key,
            key.identifier,
            key.password,
            env=settings.env,
            base_url=settings.base_url,
            encrypted_password=settings.encrypted_password,
            timeout=settings.timeout,
        )
        for key in load_keys(keys_file)
    ]
    try:
        return await Catalog(root, clients).async_sync(**args, progress=progress)
    finally:
        await asyncio.gather(*(client.aclose() for client in clients))


@group.command("sync")
@handle_errors
def sync(
    ctx: typer.Context,
    epics: Annotated[list[str], typer.Argument(help="Epics to keep, e.g. GOLD EURUSD.")],
    resolution: Annotated[
        str, typer.Option("--resolution", "-r", help="One or more, comma-separated: MINUTE,HOUR.")
    ] = "MINUTE",
    start: Annotated[
        str, typer.Option("--from", help="Start: ISO 8601 (UTC) or a duration back (30d).")
    ] = "30d",
    end: Annotated[
        str | None, typer.Option("--to", help="End (exclusive); default: the last closed bar.")
    ] = None,
    root: RootOpt = "./data",
    keys: Annotated[
        Path | None,
        typer.Option(
            "--keys", help="A keys.toml of several API keys: the sync is spread across them."
        ),
    ] = None,
    json_output: JsonFlag = False,
) -> None:
    """Fetch the bars the catalog lacks (only missing ranges; closed bars only; resumable)."""
    state = state_of(ctx, json_output)
    now = datetime.now(UTC)
    args: dict[str, Any] = {
        "epics": epics,
        "resolutions": _resolutions(resolution),
        "start": parse_time(start, "from", now),
        "end": parse_time(end, "to", now),
    }
    with _progress(state) as progress:
        if keys is not None:
            summary = asyncio.run(_sync_with_keys(state, keys, root, args, progress))
        else:
            from capitalcom_sdk.catalog import Catalog

            with state.client() as client:
                summary = Catalog(root, client).sync(**args, progress=progress)
    _show_summary(state, summary, root)


@group.command("ls")
@handle_errors
def ls(ctx: typer.Context, root: RootOpt = "./data", json_output: JsonFlag = False) -> None:
    """What the catalog holds: bars, files and covered ranges per epic and resolution."""
    from capitalcom_sdk.catalog import Catalog

    state = state_of(ctx, json_output)
    infos = Catalog(root).series()
    data = [
        {
            "epic": i.epic,
            "resolution": i.resolution,
            "bars": i.bars,
            "files": i.files,
            "decimalPlaces": i.decimal_places,
            "coverage": [[a.isoformat(), b.isoformat()] for a, b in i.coverage],
        }
        for i in infos
    ]

    def render(console: Any) -> None:
        console.print(
            table(
                f"Catalog {root}",
                ["epic", "resolution", "bars", "files", "from", "to", "ranges"],
                (
                    [
                        i.epic,
                        i.resolution,
                        i.bars,
                        i.files,
                        i.coverage[0][0] if i.coverage else None,
                        i.coverage[-1][1] if i.coverage else None,
                        len(i.coverage),
                    ]
                    for i in infos
                ),
            )
        )

    state.output.result(data, render)
