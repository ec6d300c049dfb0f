"""``capitalcom watchlists``: list, show, create, add/remove markets, delete."""

from __future__ import annotations

from typing import Annotated

import typer

from capitalcom_sdk.cli._options import JsonFlag
from capitalcom_sdk.cli._output import table
from capitalcom_sdk.cli._state import handle_errors, state_of
from capitalcom_sdk.cli.commands.markets import markets_table

group = typer.Typer(
    help="Watchlists: list, show, create, add or remove markets, delete.", no_args_is_help=True
)

IdArg = Annotated[str, typer.Argument(help="The watchlist id.")]
EpicArg = Annotated[str, typer.Argument(help="A market's epic.")]


@group.command("list")
@handle_errors
def list_watchlists(ctx: typer.Context, json_output: JsonFlag = False) -> None:
    """List the watchlists."""
    state = state_of(ctx, json_output)
    with state.client() as client:
        result = client.watchlists.list()
    state.output.result(
        result,
        lambda console: console.print(
            table(
                "Watchlists",
                ["id", "name", "editable", "deletable", "system"],
                (
                    [w.id, w.name, w.editable, w.deleteable, w.default_system_watchlist]
                    for w in result.watchlists
                ),
            )
        ),
    )


@group.command("show")
@handle_errors
def show(ctx: typer.Context, watchlist_id: IdArg, json_output: JsonFlag = False) -> None:
    """Show the markets of a watchlist."""
    state = state_of(ctx, json_output)
    with state.client() as client:
        result = client.watchlists.get(watchlist_id)
    state.output.result(
        result,
        lambda console: console.print(markets_table(f"Watchlist {watchlist_id}", result.markets)),
    )


@group.command("create")
@handle_errors
def create(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Name, 1-20 characters.")],
    epics: Annotated[list[str] | None, typer.Argument(help="Markets to add.")] = None,
    json_output: JsonFlag = False,
) -> None:
    """Create a watchlist, optionally with markets."""
    state = state_of(ctx, json_output)
    with state.client() as client:
        result = client.watchlists.create(name, epics or ())
    state.output.result(
        result,
        lambda console: console.print(
            f"[green]created[/] watchlist [bold]{result.watchlist_id}[/] ({result.status})"
        ),
    )


@group.command("add")
@handle_errors
def add(
    ctx: typer.Context, watchlist_id: IdArg, epic: EpicArg, json_output: JsonFlag = False
) -> None:
    """Add a market to a watchlist."""
    state = state_of(ctx, json_output)
    with state.client() as client:
        result = client.watchlists.add_market(watchlist_id, epic)
    state.output.result(result, lambda console: console.print(f"[green]added[/] {epic}"))


@group.command("remove")
@handle_errors
def remove(
    ctx: typer.Context, watchlist_id: IdArg, epic: EpicArg, json_output: JsonFlag = False
) -> None:
    """Remove a market from a watchlist."""
    state = state_of(ctx, json_output)
    with state.client() as client:
        result = client.watchlists.remove_market(watchlist_id, epic)
    state.output.result(result, lambda console: console.print(f"[green]removed[/] {epic}"))


@group.command("delete")
@handle_errors
def delete(ctx: typer.Context, watchlist_id: IdArg, json_output: JsonFlag = False) -> None:
    """Delete a watchlist."""
    state = state_of(ctx, json_output)
    with state.client() as client:
        result = client.watchlists.delete(watchlist_id)
    state.output.result(
        result, lambda console: console.print(f"[green]deleted[/] watchlist {watchlist_id}")
    )
