"""``capitalcom positions``: list, show, open, update (stops), close."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from capitalcom_sdk.cli._numbers import price, price_places
from capitalcom_sdk.cli._options import (
    CsvOut,
    DirectionArg,
    JsonFlag,
    NoWait,
    ParquetOut,
    Stops,
    with_stop_options,
)
from capitalcom_sdk.cli._output import key_values, table
from capitalcom_sdk.cli._state import handle_errors, state_of
from capitalcom_sdk.cli.commands._common import export, send_trade, untyped

group = typer.Typer(
    help="Open positions: list with P&L, open at market, set stops and profits, close.",
    no_args_is_help=True,
)

DealIdArg = Annotated[str, typer.Argument(help="The position's deal id.")]


def _current(item: Any) -> float | None:
    market = item.market
    if market is None:
        return None
    buying = str(getattr(item.position.direction, "value", item.position.direction)) == "BUY"
    price: float | None = market.bid if buying else market.offer
    return price


def _places(item: Any) -> int:
    """Decimal places of the position's market: the most its quotes and levels show."""
    p, m = item.position, item.market
    quotes = (m.bid, m.offer) if m is not None else ()
    return price_places((*quotes, p.level, p.stop_level, p.profit_level))


def positions_table(items: list[Any]) -> Any:
    """Open positions as a table with a P&L total in the title."""
    total = sum(i.position.upl or 0.0 for i in items)
    rows = []
    for i in items:
        places = _places(i)
        rows.append(
            [
                i.position.deal_id,
                i.market.epic if i.market else None,
                i.position.direction,
                i.position.size,
                price(i.position.level, places),
                price(_current(i), places),
                price(i.position.stop_level, places),
                price(i.position.profit_level, places),
                price(i.position.upl, 2),
            ]
        )
    return table(
        f"Open positions ({len(items)}), P&L {total:,.2f}",
        ["deal id", "epic", "dir", "size", "open", "now", "stop", "profit", "P&L"],
        rows,
    )


@group.command("list")
@handle_errors
def list_positions(
    ctx: typer.Context,
    csv: CsvOut = None,
    parquet: ParquetOut = None,
    json_output: JsonFlag = False,
) -> None:
    """List the open positions of the active account with their P&L."""
    state = state_of(ctx, json_output)
    with state.client() as client:
        result = client.positions.list()
    export(state, result, "positions", csv, parquet)
    state.output.result(result, lambda console: console.print(positions_table(result.positions)))


@group.command("show")
@handle_errors
def show(ctx: typer.Context, deal_id: DealIdArg, json_output: JsonFlag = False) -> None:
    """Show one open position."""
    state = state_of(ctx, json_output)
    with state.client() as client:
        result = client.positions.get(deal_id)
    p = result.position
    places = _places(result)
    state.output.result(
        result,
        lambda console: console.print(
            key_values(
                f"Position {p.deal_id}",
                [
                    ("epic", result.market.epic if result.market else None),
                    ("direction", p.direction),
                    ("size", p.size),
                    ("open level", price(p.level, places)),
                    ("now", price(_current(result), places)),
                    ("stop level", price(p.stop_level, places)),
                    ("profit level", price(p.profit_level, places)),
                    ("P&L", price(p.upl, 2)),
                    ("currency", p.currency),
                    ("opened (UTC)", p.created_date_utc),
                ],
            )
        ),
    )


def with_position_id(result: Any) -> Any:
    """The confirmation of ``POST /positions`` with the id to close the position with.

    The API's confirm gives the *order's* deal id as ``dealId`` and the opened position's in
    ``affectedDeals``; closing with the first answers 404. The CLI shows the position's id as
    ``dealId`` and keeps the order's as ``orderDealId``.
    """
    opened = getattr(result, "opened_deal_ids", None)
    if not opened or opened[0] == result.deal_id:
        return result
    return result.model_copy(update={"deal_id": opened[0], "orderDealId": result.deal_id})


@group.command("open")
@handle_errors
@with_stop_options
def open_position(
    ctx: typer.Context,
    epic: Annotated[str, typer.Argument(help="The market's epic.")],
    direction: DirectionArg,
    size: Annotated[float, typer.Argument(help="Deal size.")],
    stops: Stops,
    no_wait: NoWait = False,
    json_output: JsonFlag = False,
) -> None:
    """Open a position at market and wait for its confirmation (exit 5 when rejected).

    The deal id printed is the position's: the one to update or close it with.
    """
    state = state_of(ctx, json_output)
    with state.client(trading=True) as client:
        send_trade(
            state,
            client,
            "open",
            lambda: with_position_id(
                untyped(client.positions.open)(
                    epic, direction.value, size, confirm=not no_wait, **stops
                )
            ),
        )


@group.command("update")
@handle_errors
@with_stop_options
def update(
    ctx: typer.Context,
    deal_id: DealIdArg,
    stops: Stops,
    no_wait: NoWait = False,
    json_output: JsonFlag = False,
) -> None:
    """Set or change the stop loss / take profit of a position."""
    state = state_of(ctx, json_output)
    with state.client(trading=True) as client:
        send_trade(
            state,
            client,
            "update",
            lambda: untyped(client.positions.update)(deal_id, confirm=not no_wait, **stops),
        )


@group.command("close")
@handle_errors
def close(
    ctx: typer.Context, deal_id: DealIdArg, no_wait: NoWait = False, json_output: JsonFlag = False
) -> None:
    """Close a whole position at market."""
    state = state_of(ctx, json_output)
    with state.client(trading=True) as client:
        send_trade(
            state,
            client,
            "close",
            lambda: untyped(client.positions.close)(deal_id, confirm=not no_wait),
        )
