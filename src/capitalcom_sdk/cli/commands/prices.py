"""``capitalcom prices``: historical bars as a table, CSV/Parquet files or a candlestick PNG."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from capitalcom_sdk.cli._numbers import price, price_places
from capitalcom_sdk.cli._options import JsonFlag, Resolution, ResolutionOpt, parse_time
from capitalcom_sdk.cli._output import table
from capitalcom_sdk.cli._state import CliState, handle_errors, state_of
from capitalcom_sdk.errors import RequestValidationError

if TYPE_CHECKING:
    from capitalcom_sdk import Client
    from capitalcom_sdk.models.prices import PriceHistory

group = typer.Typer(
    help="Historical price bars: show, export to CSV/Parquet, draw a candlestick chart.",
    no_args_is_help=True,
)

EpicArg = Annotated[str, typer.Argument(help="The market's epic, e.g. GOLD.")]
FromOpt = Annotated[
    str | None,
    typer.Option("--from", help="Start: ISO 8601 (UTC) or a duration back from now (30d, 12h)."),
]
ToOpt = Annotated[str | None, typer.Option("--to", help="End: ISO 8601 (UTC); default now.")]


@contextmanager
def _progress(state: CliState, label: str) -> Iterator[Callable[[int, int], None] | None]:
    """A progress bar on stderr fed by the pager's ``progress(done, total)`` callback."""
    if state.output.json_mode:
        yield None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("requests"),
        console=state.output.err,
        transient=True,
    ) as progress:
        task = progress.add_task(label, total=None)

        def update(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        yield update


def _fetch(
    state: CliState,
    client: Client,
    epic: str,
    resolution: Resolution,
    start: str | None,
    end: str | None,
    default_from: str,
) -> PriceHistory:
    now = client.general.server_time().datetime
    first = parse_time(start or default_from, "from", now)
    last = parse_time(end, "to", now)
    assert first is not None
    if last is not None and last < first:
        raise RequestValidationError("to", "must not be before --from")
    with _progress(state, f"{epic} {resolution.value}") as progress:
        return client.prices.history(epic, resolution.value, first, last, progress=progress)


def _bars_table(title: str, history: Any) -> Any:
    bars = list(history)
    sides = ("open_price", "high_price", "low_price", "close_price")
    places = price_places(
        v for b in bars for s in sides for v in (getattr(b, s).bid, getattr(b, s).ask)
    )
    return table(
        title,
        ["time (UTC)", "open", "high", "low", "close", "bid", "ask", "volume"],
        (
            [
                b.snapshot_time_utc,
                *(price(getattr(b, s).mid, places) for s in sides),
                price(b.close_price.bid, places),
                price(b.close_price.ask, places),
                b.last_traded_volume,
            ]
            for b in bars
        ),
    )


@group.command("show")
@handle_errors
def show(
    ctx: typer.Context,
    epic: EpicArg,
    resolution: ResolutionOpt = Resolution.HOUR,
    start: FromOpt = None,
    end: ToOpt = None,
    max_bars: Annotated[
        int, typer.Option("--max", help="Without --from: the latest N bars (1-1000).")
    ] = 20,
    json_output: JsonFlag = False,
) -> None:
    """Show bars as a table (mid prices; close bid/ask): the latest ones, or a range."""
    state = state_of(ctx, json_output)
    with state.client() as client:
        if start is None and end is None:
            history = client.prices.get(epic, resolution.value, max_bars=max_bars)
        else:
            history = _fetch(state, client, epic, resolution, start, end, "1d")
    state.output.result(
        history,
        lambda console: console.print(
            _bars_table(f"{epic} {resolution.value} ({len(history.prices)} bars, mid)", history)
        ),
    )


@group.command("export")
@handle_errors
def export(
    ctx: typer.Context,
    epic: EpicArg,
    resolution: ResolutionOpt = Resolution.HOUR,
    start: FromOpt = None,
    end: ToOpt = None,
    csv: Annotated[Path | None, typer.Option("--csv", help="Write a CSV file.")] = None,
    parquet: Annotated[
        Path | None, typer.Option("--parquet", help="Write a Parquet file (needs [data]).")
    ] = None,
    json_output: JsonFlag = False,
) -> None:
    """Download every bar of a range (paged, with a progress bar) into CSV and/or Parquet.

    The columns are documented in docs/data.md. Default range: the last 30 days.
    """
    state = state_of(ctx, json_output)
    if csv is None and parquet is None:
        raise RequestValidationError("csv", "give --csv FILE and/or --parquet FILE")
    from capitalcom_sdk import data

    with state.client() as client:
        history = _fetch(state, client, epic, resolution, start, end, "30d")
    files: dict[str, str] = {}
    if csv is not None:
        data.write_csv(history, csv, kind="prices")
        files["csv"] = str(csv)
    if parquet is not None:
        data.write_parquet(history, parquet, kind="prices")
        files["parquet"] = str(parquet)
    bars = history.prices
    summary = {
        "epic": epic,
        "resolution": resolution.value,
        "bars": len(bars),
        "first": bars[0].snapshot_time_utc if bars else None,
        "last": bars[-1].snapshot_time_utc if bars else None,
        "files": files,
    }
    state.output.result(
        summary,
        lambda console: console.print(
            f"[green]{len(bars)} bars[/] of {epic} {resolution.value} written to "
            + ", ".join(f"[bold]{p}[/]" for p in files.values())
        ),
    )


@group.command("chart")
@handle_errors
def chart(
    ctx: typer.Context,
    epic: EpicArg,
    out: Annotated[Path, typer.Option("--out", "-o", help="The PNG file to write.")],
    resolution: ResolutionOpt = Resolution.HOUR,
    start: FromOpt = None,
    end: ToOpt = None,
    width: Annotated[int, typer.Option(help="Width in pixels.", min=100)] = 1200,
    height: Annotated[int, typer.Option(help="Height in pixels.", min=100)] = 700,
    json_output: JsonFlag = False,
) -> None:
    """Draw a candlestick chart (mid prices, volume panel) of a range into a PNG file.

    Default range: the last 30 days. Needs the chart extra (matplotlib).
    """
    state = state_of(ctx, json_output)
    from capitalcom_sdk import data

    with state.client() as client:
        history = _fetch(state, client, epic, resolution, start, end, "30d")
    data.candlestick_chart(
        history, out, title=f"{epic} {resolution.value}", width=width, height=height
    )
    summary = {
        "epic": epic,
        "resolution": resolution.value,
        "bars": len(history.prices),
        "file": str(out),
        "width": width,
        "height": height,
    }
    state.output.result(
        summary,
        lambda console: console.print(
            f"[green]chart[/] of {len(history.prices)} bars written to [bold]{out}[/]"
        ),
    )
