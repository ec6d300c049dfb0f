"""``make demo``: a guided tour of the SDK against the embedded simulator.

Starts the local simulator (rate limits on, as on the real server), logs in with the encrypted
password, searches markets, streams quotes, opens a position with a stop and a profit target,
shows the P&L, closes it, downloads 30 days of hourly bars to CSV and draws a chart, then stops
the simulator. Nothing leaves this machine. Run: ``python examples/demo.py [--out DIR]``.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from rich.console import Console
from rich.panel import Panel
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from capitalcom_sdk import Client
from capitalcom_sdk.data import candlestick_chart, write_csv
from capitalcom_sdk.streaming import Quote
from capitalcom_sim.config import SimConfig
from capitalcom_sim.server import SimServer

EPIC = "GOLD"
STREAM_EPICS = ("GOLD", "EURUSD", "BTCUSD")
STREAM_SECONDS = 4.0

# piped or redirected, lines stay whole (a deal id or a path split at column 80 is useless)
console = Console(highlight=False, soft_wrap=not sys.stdout.isatty())


def step(number: int, title: str) -> None:
    console.print()
    console.rule(f"[bold cyan]{number}. {title}", align="left")


def places_of(*values: float | None) -> int:
    """Decimal places of a market's prices: the most its quotes show (1.05466 -> 5)."""
    exponents = [Decimal(repr(v)).as_tuple().exponent for v in values if v is not None]
    return max((-e for e in exponents if isinstance(e, int) and e < 0), default=0)


def price(value: float | None, places: int) -> str:
    """A price at its market's decimal places (2,317.50 beside 2,317.80)."""
    return "-" if value is None else f"{value:,.{places}f}"


def quantity(value: float) -> str:
    """A size as a number, without a trailing .0."""
    return f"{value:,.0f}" if value.is_integer() else f"{value:,}"


def money(value: float | None) -> str:
    if value is None:
        return "-"
    colour = "green" if value >= 0 else "red"
    return f"[{colour}]{value:+,.2f}[/]"


def tour(server: SimServer, out_dir: Path) -> None:
    user = server.config.users[0]
    console.print(
        Panel.fit(
            f"simulator listening on [bold]{server.base_url}[/]\n"
            f"rate limits: {'on' if server.config.rate_limits else 'off'}, "
            f"seed {server.config.seed}",
            title="capitalcom-sdk demo",
        )
    )
    with Client(
        user.api_key,
        user.identifier,
        user.password,
        base_url=server.base_url,
        encrypted_password=True,
    ) as client:
        step(1, "Log in with the RSA-encrypted password")
        login = client.session.login()
        console.print(
            f"client [bold]{login.client_id}[/], active account [bold]{login.current_account_id}[/]"
            f" ({login.currency_iso_code}), balance {login.account_info.balance:,.2f}"
        )
        accounts = Table("account", "name", "currency", "balance", title="Accounts")
        for account in client.accounts.list().accounts:
            balance = account.balance.balance if account.balance else None
            accounts.add_row(
                account.account_id,
                account.account_name,
                account.currency or "-",
                f"{balance:,.2f}" if balance is not None else "-",
            )
        console.print(accounts)

        step(2, "Search markets")
        found = client.markets.search("gold").markets or []
        markets = Table("epic", "name", "type", "bid", "offer", title="Markets matching 'gold'")
        for market in found[:8]:
            places = places_of(market.bid, market.offer)
            markets.add_row(
                market.epic,
                market.instrument_name or "-",
                str(market.instrument_type or "-"),
                price(market.bid, places),
                price(market.offer, places),
            )
        console.print(markets)
        details = client.markets.get(EPIC)
        rules = details.dealing_rules
        min_size = rules.min_deal_size.value if rules and rules.min_deal_size else 1.0
        console.print(f"{EPIC}: {details.instrument.name}, minimum deal size {quantity(min_size)}")

        step(3, f"Stream live quotes for {STREAM_SECONDS:.0f} seconds")
        stream_quotes(client)

        step(4, "Open a position with a stop loss and a take profit")
        snapshot = client.markets.get(EPIC).snapshot
        assert snapshot is not None
        assert snapshot.offer is not None
        places = snapshot.decimal_places_factor or places_of(snapshot.bid, snapshot.offer)
        distance = round(snapshot.offer * 0.01, 2)
        confirm = client.positions.open(
            EPIC, "BUY", min_size, stop_distance=distance, profit_distance=distance
        )
        deal_id = confirm.opened_deal_ids[0]
        console.print(
            f"BUY {quantity(min_size)} {EPIC}: [green]{confirm.deal_status}[/] at "
            f"{price(confirm.level, places)}, stop {price(confirm.stop_level, places)}, "
            f"profit {price(confirm.profit_level, places)} (deal {deal_id})"
        )

        step(5, "Positions and P&L")
        time.sleep(2.0)  # let the market move a little
        show_positions(client)

        step(6, "Close the position")
        closed = client.positions.close(deal_id)
        profit = closed.profit
        console.print(
            f"closed at {price(closed.level, places)}: [green]{closed.deal_status}[/]"
            + (f", realised P&L {money(profit)} {closed.profit_currency or ''}" if profit else "")
        )
        console.print(f"open positions now: {len(client.positions.list().positions)}")

        step(7, "Download 30 days of hourly bars, save CSV and a chart")
        now = client.general.server_time().datetime
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("requests"),
            console=console,
            transient=True,
        ) as progress:
            task = progress.add_task(f"{EPIC} HOUR", total=None)
            history = client.prices.history(
                EPIC,
                "HOUR",
                now - timedelta(days=30),
                now,
                progress=lambda done, total: progress.update(task, completed=done, total=total),
            )
        out_dir.mkdir(parents=True, exist_ok=True)
        csv_path = out_dir / f"{EPIC}_HOUR_30d.csv"
        png_path = out_dir / f"{EPIC}_HOUR_30d.png"
        rows = write_csv(history, csv_path)
        candlestick_chart(history, png_path, title=f"{EPIC} hourly, last 30 days (simulated)")
        bars = history.prices
        console.print(
            f"{rows} bars from {bars[0].snapshot_time_utc:%Y-%m-%d %H:%M} to "
            f"{bars[-1].snapshot_time_utc:%Y-%m-%d %H:%M} UTC"
        )
        console.print(f"  CSV:   [bold]{csv_path.resolve()}[/]")
        console.print(f"  chart: [bold]{png_path.resolve()}[/]")


def stream_quotes(client: Client) -> None:
    latest: dict[str, Quote] = {}
    received = 0
    with client.stream() as stream:
        stream.subscribe_quotes(STREAM_EPICS)
        deadline = time.monotonic() + STREAM_SECONDS
        while time.monotonic() < deadline:
            event = stream.get(timeout=max(0.0, deadline - time.monotonic()))
            if isinstance(event, Quote):
                received += 1
                latest[event.epic] = event
    quotes = Table("epic", "bid", "offer", "time (UTC)", title=f"{received} quotes received")
    for epic in STREAM_EPICS:
        quote = latest.get(epic)
        if quote is not None:
            places = places_of(quote.bid, quote.offer)
            quotes.add_row(
                epic,
                price(quote.bid, places),
                price(quote.offer, places),
                f"{quote.timestamp:%H:%M:%S}",
            )
    console.print(quotes)


def show_positions(client: Client) -> None:
    positions = client.positions.list().positions
    table = Table("epic", "dir", "size", "open", "now", "stop", "profit", "P&L")
    total = 0.0
    for item in positions:
        p = item.position
        market = item.market
        now = (market.bid if str(p.direction) == "BUY" else market.offer) if market else None
        total += p.upl or 0.0
        places = places_of(
            p.level, market.bid if market else None, market.offer if market else None
        )
        table.add_row(
            market.epic if market else "-",
            str(p.direction),
            quantity(p.size),
            price(p.level, places),
            price(now, places),
            price(p.stop_level, places),
            price(p.profit_level, places),
            money(p.upl),
        )
    table.title = f"Open positions: {len(positions)}, unrealised P&L {total:+,.2f}"
    console.print(table)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--out", type=Path, default=Path("demo-output"), help="output folder")
    args = parser.parse_args(argv)
    started = time.monotonic()
    with SimServer(SimConfig(rate_limits=True)) as server:
        tour(server, args.out)
    console.print()
    console.print(f"simulator stopped; tour took {time.monotonic() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
