"""``capitalcom backtest BOT.py``: run a bot file against recorded bars and write its report."""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from capitalcom_sdk.cli._exit import ExitCode
from capitalcom_sdk.cli._options import JsonFlag
from capitalcom_sdk.cli._state import CliState, handle_errors, state_of
from capitalcom_sdk.errors import ConfigurationError

if TYPE_CHECKING:
    from capitalcom_sdk.backtest import BacktestResult

HELP = """Backtest a bot file: the same script that runs live, against a simulator replaying \
recorded bars in lock-step (docs/backtest.md).

The bot runs as __main__ in a child process with CAPITAL_BASE_URL, CAPITAL_API_KEY, \
CAPITAL_IDENTIFIER, CAPITAL_PASSWORD and CAPITAL_CLOCK=simulator set (Client.from_env() works); \
arguments after `--` are passed to it. --data is a catalog folder, a CSV or Parquet file (one \
epic) or a folder of EPIC.csv files; with --fetch the bars are fetched with the configured \
credentials and cached in the catalog folder --data. The report (trades, equity, statistics, \
the bot's log, HTML page) goes to --out. Exit status: 0 when the bot ran to its end, 6 when it \
was rate limited, 1 when it crashed or hung (the report says why).
"""

EXIT_OF_RUN = {
    "ok": ExitCode.OK,
    "rate-limited": ExitCode.RATE_LIMITED,
    "crashed": ExitCode.UNEXPECTED,
    "hung": ExitCode.UNEXPECTED,
    "error": ExitCode.UNEXPECTED,
}


# The options a backtest and a paper run share.
BotArg = Annotated[Path, typer.Argument(help="The bot script (run as __main__).")]
BalanceOpt = Annotated[float, typer.Option(help="Starting balance.", min=0)]
CurrencyOpt = Annotated[str, typer.Option(help="Account currency.")]
OutOpt = Annotated[Path | None, typer.Option(help="Folder to write the report into.")]
NoRateLimitsFlag = Annotated[
    bool, typer.Option("--no-rate-limits", help="Do not enforce the API's rate limits.")
]


def _when(text: str, name: str) -> datetime:
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ConfigurationError(
            f"--{name}: an ISO date or time (2025-01-31), got {text!r}"
        ) from None


@handle_errors
def backtest(
    ctx: typer.Context,
    bot: BotArg,
    epics: Annotated[str, typer.Option(help="Epics to replay, comma separated.")],
    start: Annotated[str, typer.Option("--from", help="First simulated day or time (UTC).")],
    end: Annotated[str, typer.Option("--to", help="Stop at this day or time (UTC).")],
    data: Annotated[
        Path, typer.Option(help="Catalog folder, CSV/Parquet file or folder of EPIC.csv files.")
    ],
    resolution: Annotated[str, typer.Option(help="Bar resolution.")] = "MINUTE",
    balance: BalanceOpt = 10_000.0,
    currency: CurrencyOpt = "USD",
    seed: Annotated[int, typer.Option(help="Simulator seed.")] = 42,
    out: OutOpt = None,
    timeout: Annotated[
        float, typer.Option(help="Watchdog: wall seconds without progress before 'hung'.", min=0.1)
    ] = 30.0,
    warmup: Annotated[int, typer.Option(help="Bars before --from loaded too.", min=0)] = 0,
    fetch: Annotated[
        bool,
        typer.Option("--fetch", help="Fetch missing bars with the configured credentials first."),
    ] = False,
    spread: Annotated[
        str | None,
        typer.Option(
            help="Spread around the bars' mid: a number, 'recorded' (each bar's own "
            "close_ask - close_bid) or 'recorded-median' (the data's median, for the whole "
            "run). Default: the simulator's spread of each market."
        ),
    ] = None,
    no_rate_limits: NoRateLimitsFlag = False,
    json_output: JsonFlag = False,
) -> None:
    """Backtest a bot file."""
    from capitalcom_sdk.backtest import Backtest

    state = state_of(ctx, json_output)
    chosen = [e.strip() for e in epics.split(",") if e.strip()]
    first, last = _when(start, "from"), _when(end, "to")
    source: Any = data
    connection = state.client() if fetch else contextlib.nullcontext(None)
    with connection as client:
        if client is not None:
            source = client
        runner = Backtest(
            chosen,
            resolution,
            first,
            last,
            data=source,
            balance=balance,
            currency=currency,
            seed=seed,
            out=out,
            timeout=timeout,
            warmup=warmup,
            cache=data,
            rate_limits=not no_rate_limits,
            spread=_spread(spread),
        )
        result = runner.run(bot, list(ctx.args))
    per_second = round(result.bars / result.wall_seconds) if result.wall_seconds else None
    finish_run(state, result, out, unit="bars", extra={"barsPerSecond": per_second})


def finish_run(
    state: CliState,
    result: BacktestResult,
    out: Path | None,
    *,
    unit: str,
    extra: Mapping[str, Any] | None = None,
    terminated: bool = False,
) -> None:
    """Print a run's summary (``unit``: what ``result.bars`` counts) and exit with its status
    (143 for a run ``terminated`` by SIGTERM that otherwise ended well)."""
    final = result.equity[-1].balance if result.equity else result.initial_balance
    summary = {
        "exit": result.exit,
        "message": result.message,
        unit: result.bars,
        "trades": len(result.trades),
        "start": result.start.isoformat(),
        "end": result.end.isoformat(),
        "initialBalance": result.initial_balance,
        "finalBalance": final,
        "currency": result.currency,
        "wallSeconds": round(result.wall_seconds, 2),
        **(extra or {}),
        "out": None if out is None else str(out),
    }

    def render(console: Any) -> None:
        console.print(
            f"{result.exit}: {result.bars:,} {unit}, {len(result.trades)} trades, balance "
            f"{result.initial_balance:,.2f} -> {final:,.2f} {result.currency} "
            f"in {result.wall_seconds:.1f} s" + (f"; report in {out}" if out is not None else "")
        )
        if result.message:
            console.print(result.message)

    state.output.result(summary, render)
    code = EXIT_OF_RUN.get(result.exit, ExitCode.UNEXPECTED)
    if code is ExitCode.OK and terminated:
        code = ExitCode.TERMINATED
    if code is not ExitCode.OK:
        raise typer.Exit(code)


def _spread(text: str | None) -> float | str | None:
    from capitalcom_sdk.backtest._runner import RECORDED_SPREADS

    if text is None or text in RECORDED_SPREADS:
        return text
    try:
        return float(text)
    except ValueError:
        raise ConfigurationError(
            f"--spread: a number, 'recorded' or 'recorded-median', got {text!r}"
        ) from None
