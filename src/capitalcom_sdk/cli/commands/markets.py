"""``capitalcom markets``: search, details, navigation tree, client sentiment."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from capitalcom_sdk.cli._numbers import number, price, price_places
from capitalcom_sdk.cli._options import CsvOut, JsonFlag, ParquetOut
from capitalcom_sdk.cli._output import key_values, table
from capitalcom_sdk.cli._state import handle_errors, state_of
from capitalcom_sdk.cli.commands._common import export

group = typer.Typer(
    help="Find markets: search by name, show one in detail, walk the navigation tree.",
    no_args_is_help=True,
)


def markets_table(title: str, markets: list[Any]) -> Any:
    """Market summaries as a table."""
    return table(
        title,
        ["epic", "name", "type", "status", "bid", "offer", "change %"],
        (
            [
                m.epic,
                m.instrument_name,
                m.instrument_type,
                m.market_status,
                price(m.bid, places := price_places((m.bid, m.offer))),
                price(m.offer, places),
                m.percentage_change,
            ]
            for m in markets
        ),
    )


@group.command("search")
@handle_errors
def search(
    ctx: typer.Context,
    term: Annotated[str, typer.Argument(help="Part of a name, symbol or epic, e.g. gold.")],
    csv: CsvOut = None,
    parquet: ParquetOut = None,
    json_output: JsonFlag = False,
) -> None:
    """Search markets by name (case-insensitive)."""
    state = state_of(ctx, json_output)
    with state.client() as client:
        result = client.markets.search(term)
    markets = result.markets or []
    export(state, markets, "markets", csv, parquet)
    state.output.result(
        result, lambda console: console.print(markets_table(f"Markets matching {term!r}", markets))
    )


@group.command("show")
@handle_errors
def show(
    ctx: typer.Context,
    epic: Annotated[str, typer.Argument(help="The market's epic, e.g. GOLD.")],
    json_output: JsonFlag = False,
) -> None:
    """Show one market: instrument, dealing rules, current prices."""
    state = state_of(ctx, json_output)
    with state.client() as client:
        result = client.markets.get(epic)

    def render(console: Any) -> None:
        i, snap, rules = result.instrument, result.snapshot, result.dealing_rules
        rows: list[tuple[str, Any]] = [
            ("epic", i.epic),
            ("name", i.name),
            ("type", i.type),
            ("currency", i.currency),
            ("lot size", i.lot_size),
            ("margin factor", i.margin_factor),
        ]
        if snap is not None:
            quotes = (snap.bid, snap.offer, snap.high, snap.low)
            places = price_places(quotes, snap.decimal_places_factor)
            rows += [
                ("status", snap.market_status),
                ("bid", price(snap.bid, places)),
                ("offer", price(snap.offer, places)),
                ("high", price(snap.high, places)),
                ("low", price(snap.low, places)),
                ("change %", snap.percentage_change),
            ]
        if rules is not None:
            for name in ("min_deal_size", "max_deal_size", "min_stop_or_profit_distance"):
                rule = getattr(rules, name, None)
                if rule is not None:
                    rows.append((name.replace("_", " "), f"{number(rule.value)} {rule.unit}"))
        console.print(key_values(i.name or i.epic, rows))

    state.output.result(result, render)


@group.command("navigate")
@handle_errors
def navigate(
    ctx: typer.Context,
    node_id: Annotated[
        str | None, typer.Argument(help="A node id; the top level when omitted.")
    ] = None,
    limit: Annotated[int | None, typer.Option(help="At most this many markets (1-500).")] = None,
    json_output: JsonFlag = False,
) -> None:
    """Walk the market navigation tree: top-level nodes, a node's children and markets."""
    state = state_of(ctx, json_output)
    with state.client() as client:
        result = client.markets.navigation(node_id, limit)

    def render(console: Any) -> None:
        if result.nodes:
            console.print(
                table("Nodes", ["node id", "name"], ([n.id, n.name] for n in result.nodes))
            )
        if result.markets:
            console.print(markets_table("Markets", result.markets))
        if not result.nodes and not result.markets:
            console.print("(empty node)")

    state.output.result(result, render)


@group.command("sentiment")
@handle_errors
def sentiment(
    ctx: typer.Context,
    epics: Annotated[list[str], typer.Argument(help="One or more market ids (epics).")],
    json_output: JsonFlag = False,
) -> None:
    """Client sentiment: the share of long and short positions per market."""
    state = state_of(ctx, json_output)
    with state.client() as client:
        result = client.sentiment.list(epics)
    state.output.result(
        result,
        lambda console: console.print(
            table(
                "Client sentiment",
                ["market", "long %", "short %"],
                (
                    [s.market_id, s.long_position_percentage, s.short_position_percentage]
                    for s in result.client_sentiments
                ),
            )
        ),
    )
