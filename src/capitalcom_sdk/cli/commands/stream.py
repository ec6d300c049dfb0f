"""``capitalcom stream``: live quotes over the WebSocket, as a live table or NDJSON."""

from __future__ import annotations

import contextlib
import signal
import threading
import time
from collections.abc import Iterator
from types import FrameType
from typing import TYPE_CHECKING, Annotated, Any

import typer

from capitalcom_sdk.cli._exit import ExitCode
from capitalcom_sdk.cli._numbers import price, price_places
from capitalcom_sdk.cli._options import JsonFlag
from capitalcom_sdk.cli._output import table
from capitalcom_sdk.cli._state import handle_errors, state_of

if TYPE_CHECKING:
    from capitalcom_sdk.streaming import Quote as QuoteEvent

group = typer.Typer(help="Live data over the WebSocket stream.", no_args_is_help=True)


class Terminated(Exception):
    """SIGTERM arrived: stop streaming as Ctrl-C does, then exit 143."""


@contextlib.contextmanager
def sigterm_stops() -> Iterator[None]:
    """While streaming, SIGTERM (``kill``, a process manager) raises :class:`Terminated` in the
    main thread, so the stream is closed and the summary printed instead of dying silently."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum: int, frame: FrameType | None) -> None:
        raise Terminated

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def quote_record(quote: QuoteEvent) -> dict[str, Any]:
    """One quote as an NDJSON object."""
    return {
        "epic": quote.epic,
        "bid": quote.bid,
        "offer": quote.offer,
        "timestamp": quote.timestamp.isoformat(),
        "timestampMs": quote.timestamp_ms,
    }


def _quotes_table(
    latest: dict[str, QuoteEvent],
    first: dict[str, float],
    counts: dict[str, int],
    places: dict[str, int] | None = None,
) -> Any:
    """The latest quote of each epic; prices, spread and change at the epic's decimal places
    (the most any of its quotes showed so far, ``places``)."""
    rows = []
    for epic, quote in sorted(latest.items()):
        mid = (quote.bid + quote.offer) / 2
        digits = (places or {}).get(epic, price_places((quote.bid, quote.offer)))
        rows.append(
            [
                epic,
                price(quote.bid, digits),
                price(quote.offer, digits),
                price(quote.offer - quote.bid, digits),
                price(mid - first[epic], digits),
                quote.timestamp.strftime("%H:%M:%S"),
                counts[epic],
            ]
        )
    return table(
        "Live quotes (Ctrl-C to stop)",
        ["epic", "bid", "offer", "spread", "change", "time (UTC)", "updates"],
        rows,
    )


@group.command("quotes")
@handle_errors
def quotes(
    ctx: typer.Context,
    epics: Annotated[list[str], typer.Argument(help="Markets to watch (up to 40).")],
    duration: Annotated[
        float | None, typer.Option(help="Stop after this many seconds.", min=0)
    ] = None,
    count: Annotated[int | None, typer.Option(help="Stop after this many quotes.", min=1)] = None,
    json_output: JsonFlag = False,
) -> None:
    """Stream live quotes: a live-updating table, or NDJSON (one quote per line) with --json.

    Runs until Ctrl-C, --duration seconds or --count quotes; prints how many quotes arrived.
    SIGTERM stops it the same way, then exits 143.
    """
    from capitalcom_sdk.streaming import Quote

    state = state_of(ctx, json_output)
    deadline = None if duration is None else time.monotonic() + duration
    received = 0
    latest: dict[str, QuoteEvent] = {}
    first: dict[str, float] = {}
    counts: dict[str, int] = {}
    places: dict[str, int] = {}
    terminated = False
    try:
        with sigterm_stops(), state.client() as client, client.stream() as stream:
            stream.subscribe_quotes(epics)
            live = None
            if not state.output.json_mode:
                from rich.live import Live

                live = Live(
                    _quotes_table(latest, first, counts),
                    console=state.output.console,
                    refresh_per_second=8,
                    auto_refresh=False,
                )
                live.start()
            try:
                while (deadline is None or time.monotonic() < deadline) and (
                    count is None or received < count
                ):
                    wait = (
                        0.25
                        if deadline is None
                        else max(0.0, min(0.25, deadline - time.monotonic()))
                    )
                    event = stream.get(timeout=wait)
                    if not isinstance(event, Quote):
                        continue
                    quote = event
                    received += 1
                    if state.output.json_mode:
                        state.output.line(quote_record(quote))
                        continue
                    latest[quote.epic] = quote
                    first.setdefault(quote.epic, (quote.bid + quote.offer) / 2)
                    counts[quote.epic] = counts.get(quote.epic, 0) + 1
                    shown = price_places((quote.bid, quote.offer))
                    places[quote.epic] = max(places.get(quote.epic, 0), shown)
                    if live is not None:
                        live.update(_quotes_table(latest, first, counts, places), refresh=True)
            except KeyboardInterrupt:
                pass
            finally:
                if live is not None:
                    live.stop()
    except Terminated:
        terminated = True
    state.output.note(f"{received} quotes received")
    if terminated:
        raise typer.Exit(ExitCode.TERMINATED)
