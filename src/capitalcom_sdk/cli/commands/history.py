"""``capitalcom history``: account activity and transactions, exportable."""

from __future__ import annotations

from typing import Annotated

import typer

from capitalcom_sdk.cli._options import CsvOut, JsonFlag, ParquetOut, parse_time
from capitalcom_sdk.cli._output import table
from capitalcom_sdk.cli._state import handle_errors, state_of
from capitalcom_sdk.cli.commands._common import export

group = typer.Typer(help="Account activity and transactions.", no_args_is_help=True)

FromOpt = Annotated[
    str | None,
    typer.Option("--from", help="Start: ISO 8601 (UTC) or a duration back from now (7d)."),
]
ToOpt = Annotated[str | None, typer.Option("--to", help="End: ISO 8601 (UTC); default now.")]
LastOpt = Annotated[
    int | None, typer.Option("--last", help="The last N seconds (max 86400) instead of a range.")
]


@group.command("activity")
@handle_errors
def activity(
    ctx: typer.Context,
    start: FromOpt = None,
    end: ToOpt = None,
    last: LastOpt = None,
    epic: Annotated[str | None, typer.Option(help="Only this market.")] = None,
    deal_id: Annotated[str | None, typer.Option(help="Only this deal.")] = None,
    csv: CsvOut = None,
    parquet: ParquetOut = None,
    json_output: JsonFlag = False,
) -> None:
    """Account activity (opened, closed, amended deals), newest first; default: last 10 min."""
    state = state_of(ctx, json_output)
    with state.client() as client:
        now = client.general.server_time().datetime
        result = client.history.activity(
            start=parse_time(start, "from", now),
            end=parse_time(end, "to", now),
            last_period=last,
            detailed=True,
            deal_id=deal_id,
            filter=f"epic=={epic}" if epic else None,
        )
    export(state, result, "activities", csv, parquet)
    state.output.result(
        result,
        lambda console: console.print(
            table(
                "Activity",
                [
                    "date (UTC)",
                    "epic",
                    "deal id",
                    "source",
                    "type",
                    "status",
                    "direction",
                    "size",
                    "level",
                ],
                (
                    [
                        a.date_utc,
                        a.epic,
                        a.deal_id,
                        a.source,
                        a.type,
                        a.status,
                        a.details.direction if a.details else None,
                        a.details.size if a.details else None,
                        a.details.level if a.details else None,
                    ]
                    for a in result.activities
                ),
            )
        ),
    )


@group.command("transactions")
@handle_errors
def transactions(
    ctx: typer.Context,
    start: FromOpt = None,
    end: ToOpt = None,
    last: LastOpt = None,
    type: Annotated[str | None, typer.Option(help="Only this type (TRADE, DEPOSIT, ...).")] = None,
    csv: CsvOut = None,
    parquet: ParquetOut = None,
    json_output: JsonFlag = False,
) -> None:
    """Transactions (trade results, deposits, fees), newest first; default: last 10 min."""
    state = state_of(ctx, json_output)
    with state.client() as client:
        now = client.general.server_time().datetime
        result = client.history.transactions(
            start=parse_time(start, "from", now),
            end=parse_time(end, "to", now),
            last_period=last,
            type=type,
        )
    export(state, result, "transactions", csv, parquet)
    state.output.result(
        result,
        lambda console: console.print(
            table(
                "Transactions",
                ["date (UTC)", "type", "instrument", "note", "amount", "currency", "status"],
                (
                    [
                        t.date_utc,
                        t.transaction_type,
                        t.instrument_name,
                        t.note,
                        t.size,
                        t.currency,
                        t.status,
                    ]
                    for t in result.transactions
                ),
            )
        ),
    )
