"""``capitalcom orders``: working (LIMIT / STOP) orders: list, create, update, cancel."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from capitalcom_sdk.cli._options import (
    CsvOut,
    GuaranteedStop,
    JsonFlag,
    NoWait,
    OrderKind,
    ParquetOut,
    ProfitAmount,
    ProfitDistance,
    ProfitLevel,
    Side,
    StopAmount,
    StopDistance,
    StopLevel,
    TrailingStop,
    parse_time,
    stop_options,
)
from capitalcom_sdk.cli._output import table
from capitalcom_sdk.cli._state import handle_errors, state_of
from capitalcom_sdk.cli.commands._common import export, send_trade, untyped

group = typer.Typer(
    help="Working orders (LIMIT / STOP): list, create, update, cancel.", no_args_is_help=True
)

DealIdArg = Annotated[str, typer.Argument(help="The working order's deal id.")]
GoodTill = Annotated[
    str | None,
    typer.Option(
        help="Expiry: ISO 8601 (UTC) or a duration from now (2d); default good till cancelled.",
        show_default=False,
    ),
]


def orders_table(items: list[Any]) -> Any:
    """Working orders as a table."""
    return table(
        f"Working orders ({len(items)})",
        [
            "deal id",
            "epic",
            "dir",
            "type",
            "size",
            "level",
            "good till (UTC)",
            "stop d.",
            "profit d.",
        ],
        (
            [
                o.working_order_data.deal_id,
                o.working_order_data.epic,
                o.working_order_data.direction,
                o.working_order_data.order_type,
                o.working_order_data.order_size,
                o.working_order_data.order_level,
                o.working_order_data.good_till_date_utc,
                o.working_order_data.stop_distance,
                o.working_order_data.profit_distance,
            ]
            for o in items
        ),
    )


@group.command("list")
@handle_errors
def list_orders(
    ctx: typer.Context,
    csv: CsvOut = None,
    parquet: ParquetOut = None,
    json_output: JsonFlag = False,
) -> None:
    """List the working orders of the active account."""
    state = state_of(ctx, json_output)
    with state.client() as client:
        result = client.orders.list()
    export(state, result, "working_orders", csv, parquet)
    state.output.result(result, lambda console: console.print(orders_table(result.working_orders)))


@group.command("create")
@handle_errors
def create(
    ctx: typer.Context,
    epic: Annotated[str, typer.Argument(help="The market's epic.")],
    direction: Annotated[Side, typer.Argument(help="BUY or SELL.", case_sensitive=False)],
    size: Annotated[float, typer.Argument(help="Order size.")],
    level: Annotated[float, typer.Argument(help="Order price.")],
    order_type: Annotated[
        OrderKind, typer.Option("--type", help="LIMIT or STOP.", case_sensitive=False)
    ] = OrderKind.LIMIT,
    good_till: GoodTill = None,
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
    """Create a LIMIT or STOP order at LEVEL (distances are relative to LEVEL)."""
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
        now = client.general.server_time().datetime
        until = parse_time(good_till, "good-till", now, future=True)
        send_trade(
            state,
            client,
            "order",
            lambda: untyped(client.orders.create)(
                epic,
                direction.value,
                size,
                level,
                order_type.value,
                good_till_date=until,
                confirm=not no_wait,
                **stops,
            ),
        )


@group.command("update")
@handle_errors
def update(
    ctx: typer.Context,
    deal_id: DealIdArg,
    level: Annotated[float | None, typer.Option(help="New order price.")] = None,
    good_till: GoodTill = None,
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
    """Change a working order's level, expiry, stop or profit."""
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
        now = client.general.server_time().datetime
        until = parse_time(good_till, "good-till", now, future=True)
        send_trade(
            state,
            client,
            "update",
            lambda: untyped(client.orders.update)(
                deal_id, level=level, good_till_date=until, confirm=not no_wait, **stops
            ),
        )


@group.command("cancel")
@handle_errors
def cancel(
    ctx: typer.Context, deal_id: DealIdArg, no_wait: NoWait = False, json_output: JsonFlag = False
) -> None:
    """Cancel a working order."""
    state = state_of(ctx, json_output)
    with state.client(trading=True) as client:
        send_trade(
            state,
            client,
            "cancel",
            lambda: untyped(client.orders.delete)(deal_id, confirm=not no_wait),
        )
