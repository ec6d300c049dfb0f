"""``capitalcom paper BOT.py --prices demo``: paper-trade a bot file on real quotes."""

from __future__ import annotations

import signal
from typing import Annotated

import typer

from capitalcom_sdk.cli._options import JsonFlag
from capitalcom_sdk.cli._state import handle_errors, state_of
from capitalcom_sdk.cli.commands.backtest import (
    BalanceOpt,
    BotArg,
    CurrencyOpt,
    NoRateLimitsFlag,
    OutOpt,
    finish_run,
)
from capitalcom_sdk.errors import ConfigurationError

HELP = """Paper-trade a bot file: the same script that runs live, against a local simulator \
whose market is driven by real quotes (docs/backtest.md, "Paper trading").

--prices says where the quotes come from: demo, live, or a server's base URL (as \
CAPITAL_BASE_URL); the configured credentials (CAPITAL_API_KEY, CAPITAL_IDENTIFIER, \
CAPITAL_PASSWORD) log in there and are used only to read quotes: no order reaches any account. \
The bot runs as __main__ in a child process with the simulator's CAPITAL_BASE_URL, \
CAPITAL_API_KEY, CAPITAL_IDENTIFIER, CAPITAL_PASSWORD and CAPITAL_CLOCK=wall set \
(Client.from_env() works); arguments after `--` are passed to it. The run ends when the bot \
exits, after --duration seconds, or on Ctrl-C or SIGTERM: the bot is stopped, open positions \
are closed as END trades and the report goes to --out. Exit status: 0 when the bot exited by \
itself, the duration passed or Ctrl-C stopped it; 143 after SIGTERM; 6 when the bot was rate \
limited; 1 when it crashed; 2 for wrong inputs (unknown --prices, no credentials, an epic the \
simulator does not have).
"""


def _source(prices: str) -> tuple[str, str | None]:
    """The (env, base_url) of ``--prices``."""
    if prices in ("demo", "live"):
        return prices, None
    if prices.startswith(("http://", "https://")) and len(prices.split("://", 1)[1]) > 0:
        return "demo", prices
    raise ConfigurationError(f"--prices: demo, live or an http(s):// base URL, got {prices!r}")


@handle_errors
def paper(
    ctx: typer.Context,
    bot: BotArg,
    prices: Annotated[
        str, typer.Option(help="Where the quotes come from: demo, live or a base URL.")
    ],
    epics: Annotated[str, typer.Option(help="Epics to bridge, comma separated.")],
    balance: BalanceOpt = 10_000.0,
    currency: CurrencyOpt = "USD",
    seed: Annotated[int, typer.Option(help="Simulator seed (deal ids).")] = 42,
    out: OutOpt = None,
    duration: Annotated[
        float | None,
        typer.Option(help="Stop after this many seconds (default: until the bot exits).", min=0),
    ] = None,
    no_rate_limits: NoRateLimitsFlag = False,
    json_output: JsonFlag = False,
) -> None:
    """Paper-trade a bot file on real quotes."""
    from capitalcom_sdk.backtest import Paper

    state = state_of(ctx, json_output)
    chosen = [e.strip() for e in epics.split(",") if e.strip()]
    if not chosen:
        raise ConfigurationError("--epics: at least one epic (GOLD,EURUSD)")
    if not bot.is_file():
        raise ConfigurationError(f"{bot}: no such bot file")
    if duration is not None and duration <= 0:
        raise ConfigurationError("--duration: a number of seconds > 0")
    state.settings.env, state.settings.base_url = _source(prices)
    with state.client() as source:
        runner = Paper(
            source,
            chosen,
            balance=balance,
            currency=currency,
            seed=seed,
            out=out,
            duration=duration,
            rate_limits=not no_rate_limits,
        )
        result = runner.run(bot, list(ctx.args))
    finish_run(state, result, out, unit="quotes", terminated=runner.stopped_by == signal.SIGTERM)
