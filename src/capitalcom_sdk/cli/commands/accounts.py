"""``capitalcom accounts``: accounts and balances, preferences, demo top-up."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from capitalcom_sdk.cli._options import CsvOut, JsonFlag, ParquetOut
from capitalcom_sdk.cli._output import key_values, table
from capitalcom_sdk.cli._state import handle_errors, state_of
from capitalcom_sdk.cli.commands._common import export
from capitalcom_sdk.errors import RequestValidationError

group = typer.Typer(
    help="Financial accounts and balances, leverage preferences, demo top-up.",
    no_args_is_help=True,
)


@group.command("list")
@handle_errors
def list_accounts(
    ctx: typer.Context,
    csv: CsvOut = None,
    parquet: ParquetOut = None,
    json_output: JsonFlag = False,
) -> None:
    """List the accounts with their balances (the preferred one marked *)."""
    state = state_of(ctx, json_output)
    with state.client() as client:
        result = client.accounts.list()
    export(state, result, "accounts", csv, parquet)
    state.output.result(
        result,
        lambda console: console.print(
            table(
                "Accounts",
                [
                    "",
                    "account id",
                    "name",
                    "type",
                    "status",
                    "currency",
                    "balance",
                    "P&L",
                    "available",
                ],
                (
                    [
                        "*" if a.preferred else "",
                        a.account_id,
                        a.account_name,
                        a.account_type,
                        a.status,
                        a.currency,
                        a.balance.balance if a.balance else None,
                        a.balance.profit_loss if a.balance else None,
                        a.balance.available if a.balance else None,
                    ]
                    for a in result.accounts
                ),
            )
        ),
    )


@group.command("preferences")
@handle_errors
def preferences(ctx: typer.Context, json_output: JsonFlag = False) -> None:
    """Show the hedging mode and the leverage of each instrument group."""
    state = state_of(ctx, json_output)
    with state.client() as client:
        result = client.accounts.preferences()

    def render(console: Any) -> None:
        console.print(key_values(None, [("hedging mode", result.hedging_mode)]))
        console.print(
            table(
                "Leverages",
                ["group", "current", "available"],
                (
                    [str(getattr(g, "value", g)), lev.current, ", ".join(map(str, lev.available))]
                    for g, lev in result.leverages.items()
                ),
            )
        )

    state.output.result(result, render)


@group.command("set-preferences")
@handle_errors
def set_preferences(
    ctx: typer.Context,
    leverage: Annotated[
        list[str] | None,
        typer.Option(help="GROUP=VALUE, e.g. SHARES=5 (repeatable).", show_default=False),
    ] = None,
    hedging: Annotated[
        bool | None,
        typer.Option("--hedging/--no-hedging", help="Hedging mode.", show_default=False),
    ] = None,
    json_output: JsonFlag = False,
) -> None:
    """Change leverages and/or the hedging mode of the active account."""
    state = state_of(ctx, json_output)
    leverages: dict[str, int] = {}
    for item in leverage or []:
        group_name, sep, value = item.partition("=")
        if not sep or not value.strip().isdigit():
            raise RequestValidationError("leverage", f"expected GROUP=NUMBER, got {item!r}")
        leverages[group_name.strip().upper()] = int(value)
    with state.client(trading=True) as client:
        result = client.accounts.update_preferences(
            leverages=leverages or None, hedging_mode=hedging
        )
    state.output.result(result, lambda console: console.print(f"[green]{result.status}[/]"))


@group.command("top-up")
@handle_errors
def top_up(
    ctx: typer.Context,
    amount: Annotated[float, typer.Argument(help="Amount to add (negative: subtract).")],
    json_output: JsonFlag = False,
) -> None:
    """Adjust the balance of the active DEMO account."""
    state = state_of(ctx, json_output)
    with state.client(trading=True) as client:
        result = client.accounts.top_up(amount)
        accounts = client.accounts.list()
    data = {"topUp": result, "accounts": accounts}
    state.output.result(
        data,
        lambda console: console.print(
            "[green]topped up[/]" if result.successful else "[red]top-up refused[/]"
        ),
    )
