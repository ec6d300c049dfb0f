"""``capitalcom positions``: list, show, open, update (stops), close."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from capitalcom_sdk.cli._options import (
    CsvOut,
    GuaranteedStop,
    JsonFlag,
    NoWait,
    ParquetOut,
    ProfitAmount,
    ProfitDistance,
    ProfitLevel,
    Side,
    StopAmount,
    StopDistance,
    StopLevel,
    TrailingStop,
    stop_options,
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


def positions_table(items: list[Any]) -> Any:
    """Open positions as a table with a P&L total in the title."""
    total = sum(i.position.upl or 0.0 for i in items)
    return table(
        f"Open positions ({len(items)}), P&L {total:,.2f}",
        ["deal id", "epic", "dir", "size", "open", "now", "stop", "profit", "P&L"],
        (
            [
                i.position.deal_id,
                i.market.epic if i.market else None,
                i.position.direction,
                i.position.size,
                i.position.level,
                _current(i),
                i.position.stop_level,
                i.position.profit_level,
                i.position.upl,
            ]
            for i in items
        ),
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
    state.output.result(
        result,
        lambda console: console.print(
            key_values(
                f"Position {p.deal_id}",
                [
                    ("epic", result.market.epic if result.market else None),
                    ("direction", p.direction),
                    ("size", p.size),
                    ("open level", p.level),
                    ("now", _current(result)),
                    ("stop level", p.stop_level),
                    ("profit level", p.profit_level),
                    ("P&L", p.upl),
                    ("currency", p.currency),
                    ("opened (UTC)", p.created_date_utc),
                ],
            )
        ),
    )


@group.command("open")
@handle_errors
def open_position(
    ctx: typer.Context,
    epic: Annotated[str, typer.Argument(help="The market's epic.")],
    direction: Annotated[Side, typer.Argument(help="BUY or SELL.", case_sensitive=False)],
    size: Annotated[float, typer.Argument(help="Deal size.")],
    stop_level: StopLevel = None,
    stop_distance: StopDistance = None,
    stop_amount: StopAmount = None,
    profit_level: ProfitLevel = None,
    profit_distance: ProfitDistance = None,
    profit_amount: ProfitAmount = None,
    guaranteed_stop: GuaranteedStop = None,
    trailing_stop: TrailingStop = None,
    no_wait: NoWait = False,
    json_output: JsonFlag = False,
) -> None:
    """Open a position at market and wait for its confirmation (exit 5 when rejected)."""
    state = state_of(ctx, json_output)
    stops = stop_options(
        stop_level=stop_level,
        stop_distance=stop_distance,
        stop_amount=stop_amount,
        profit_level=profit_level,
        profit_distance=profit_distance,
        profit_amount=profit_amount,
        guaranteed_stop=guaranteed_stop,
        trailing_stop=trailing_stop,
    )
    with state.client(trading=True) as client:
        send_trade(
            state,
            client,
            "open",
            lambda: untyped(client.positions.open)(
                epic, direction.value, size, confirm=not no_wait, **stops
            ),
        )


@group.command("update")
@handle_errors
def update(
    ctx: typer.Context,
    deal_id: DealIdArg,
    stop_level: StopLevel = None,
    stop_distance: StopDistance = None,
    stop_amount: StopAmount = None,
    profit_level: ProfitLevel = None,
    profit_distance: ProfitDistance = None,
    profit_amount: ProfitAmount = None,
    guaranteed_stop: GuaranteedStop = None,
    trailing_stop: TrailingStop = None,
    no_wait: NoWait = False,
    json_output: JsonFlag = False,
) -> None:
    """Set or change the stop loss / take profit of a position."""
    state = state_of(ctx, json_output)
    stops = stop_options(
        stop_level=stop_level,
        stop_distance=stop_distance,
        stop_amount=stop_amount,
        profit_level=profit_level,
        profit_distance=profit_distance,
        profit_amount=profit_amount,
        guaranteed_stop=guaranteed_stop,
        trailing_stop=trailing_stop,
    )
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
