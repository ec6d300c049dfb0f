"""``capitalcom orders``: working (LIMIT / STOP) orders: list, create, update, cancel."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from capitalcom_sdk.cli._numbers import price, price_places
from capitalcom_sdk.cli._options import (
    CsvOut,
    DirectionArg,
    JsonFlag,
    NoWait,
    OrderType,
    ParquetOut,
    Stops,
    parse_time,
    with_stop_options,
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


def _order_row(item: Any) -> list[Any]:
    order, market = item.working_order_data, item.market_data
    quotes = (market.bid, market.offer) if market is not None else ()
    places = price_places((*quotes, order.order_level, order.stop_distance, order.profit_distance))
    return [
        order.deal_id,
        order.epic,
        order.direction,
        order.order_type,
        order.order_size,
        price(order.order_level, places),
        order.good_till_date_utc,
        price(order.stop_distance, places),
        price(order.profit_distance, places),
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
        (_order_row(o) for o in items),
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
@with_stop_options
def create(
    ctx: typer.Context,
    epic: Annotated[str, typer.Argument(help="The market's epic.")],
    direction: DirectionArg,
    size: Annotated[float, typer.Argument(help="Order size.")],
    level: Annotated[float, typer.Argument(help="Order price.")],
    order_type: Annotated[
        OrderType, typer.Option("--type", help="LIMIT or STOP.", case_sensitive=False)
    ] = OrderType.LIMIT,
    good_till: GoodTill = None,
    stops: Stops | None = None,
    no_wait: NoWait = False,
    json_output: JsonFlag = False,
) -> None:
    """Create a LIMIT or STOP order at LEVEL (distances are relative to LEVEL)."""
    state = state_of(ctx, json_output)
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
                **(stops or {}),
            ),
        )


@group.command("update")
@handle_errors
@with_stop_options
def update(
    ctx: typer.Context,
    deal_id: DealIdArg,
    level: Annotated[float | None, typer.Option(help="New order price.")] = None,
    good_till: GoodTill = None,
    stops: Stops | None = None,
    no_wait: NoWait = False,
    json_output: JsonFlag = False,
) -> None:
    """Change a working order's level, expiry, stop or profit."""
    state = state_of(ctx, json_output)
    with state.client(trading=True) as client:
        now = client.general.server_time().datetime
        until = parse_time(good_till, "good-till", now, future=True)
        send_trade(
            state,
            client,
            "update",
            lambda: untyped(client.orders.update)(
                deal_id, level=level, good_till_date=until, confirm=not no_wait, **(stops or {})
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
