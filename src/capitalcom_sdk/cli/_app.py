"""The ``capitalcom`` typer application: global options and the command groups."""

from __future__ import annotations

import os
from collections.abc import Sequence
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from capitalcom_sdk._environment import read_environ
from capitalcom_sdk.cli._exit import ExitCode
from capitalcom_sdk.cli._help import HelpGroup
from capitalcom_sdk.cli._output import Output
from capitalcom_sdk.cli._session_cache import cache_path
from capitalcom_sdk.cli._state import (
    LIVE_FLAG,
    CliState,
    Settings,
    configure_logging,
    load_environ,
)
from capitalcom_sdk.errors import ConfigurationError

HELP = """Capital.com API from the command line: sessions, accounts, markets, prices, trading, \
watchlists, live quotes, and a local simulator.

Credentials come from CAPITAL_API_KEY, CAPITAL_IDENTIFIER and CAPITAL_PASSWORD (environment or \
a .env file in the current directory). The demo server is the default; trading on the live \
server needs --i-understand-live-trading. Every command takes --json. Exit codes: docs/cli.md.
"""


class Env(StrEnum):
    demo = "demo"
    live = "live"


app = typer.Typer(
    name="capitalcom",
    cls=HelpGroup,
    help=HELP,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


@app.callback()
def root(
    ctx: typer.Context,
    env: Annotated[
        Env | None,
        typer.Option(help="Server: demo (default) or live. Env: CAPITAL_ENV.", show_default=False),
    ] = None,
    base_url: Annotated[
        str | None,
        typer.Option(
            help="Another server, e.g. the simulator http://127.0.0.1:8765. Env: CAPITAL_BASE_URL.",
            show_default=False,
        ),
    ] = None,
    account: Annotated[
        str | None,
        typer.Option(
            help="Switch to this account id after login. Env: CAPITAL_ACCOUNT_ID.",
            show_default=False,
        ),
    ] = None,
    env_file: Annotated[
        Path | None,
        typer.Option(help="Read CAPITAL_* settings from this file (default: ./.env if present)."),
    ] = None,
    encrypted_password: Annotated[
        bool,
        typer.Option(
            "--encrypted-password", help="Log in with the RSA-encrypted password (recommended)."
        ),
    ] = False,
    live_opt_in: Annotated[
        bool,
        typer.Option(LIVE_FLAG, help="Allow trading commands on the LIVE server (real money)."),
    ] = False,
    json_output: Annotated[
        bool, typer.Option("--json", help="JSON output for every command (same as per command).")
    ] = False,
    timeout: Annotated[float, typer.Option(help="HTTP timeout in seconds.")] = 15.0,
    no_session_cache: Annotated[
        bool,
        typer.Option(
            "--no-session-cache",
            help="Log in afresh; keep no session on disk between commands. "
            "Env: CAPITAL_SESSION_CACHE (a file, or off).",
        ),
    ] = False,
    verbose: Annotated[
        int,
        typer.Option(
            "--verbose",
            "-v",
            count=True,
            help="Log SDK activity on stderr (-v info, -vv debug).",
            show_default=False,
        ),
    ] = 0,
) -> None:
    """Capital.com API from the command line."""
    output = Output(json_output)
    try:
        values = load_environ(env_file)
        environ = read_environ(values)  # the variables Client.from_env reads, read the same way
        settings = Settings(
            env=env.value if env is not None else environ.env,
            # an explicit --env outranks a base URL from the environment (options come first)
            base_url=base_url or (None if env else environ.base_url),
            api_key=environ.api_key,
            identifier=environ.identifier,
            password=environ.password,
            account_id=account or environ.account_id,
            encrypted_password=encrypted_password or environ.encrypted_password,
            live_opt_in=live_opt_in,
            timeout=timeout,
            session_cache=None if no_session_cache else cache_path(values, os.environ),
        )
    except ConfigurationError as exc:
        output.error({"type": "ConfigurationError", "message": str(exc)}, str(exc))
        raise typer.Exit(ExitCode.USAGE) from None
    ctx.call_on_close(configure_logging(verbose))
    ctx.obj = CliState(settings, output, verbose)


def _register() -> None:
    from capitalcom_sdk.cli.commands import (
        accounts,
        backtest,
        data,
        history,
        markets,
        mcp,
        orders,
        paper,
        policy,
        positions,
        prices,
        session,
        sim,
        stream,
        watchlists,
    )

    app.add_typer(session.group, name="session")
    app.add_typer(accounts.group, name="accounts")
    app.add_typer(markets.group, name="markets")
    app.add_typer(prices.group, name="prices")
    app.add_typer(positions.group, name="positions")
    app.add_typer(orders.group, name="orders")
    app.add_typer(watchlists.group, name="watchlists")
    app.add_typer(history.group, name="history")
    app.add_typer(stream.group, name="stream")
    app.add_typer(data.group, name="data")
    app.add_typer(policy.group, name="policy")
    app.command(
        "sim",
        help=sim.HELP,
        context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
    )(sim.sim)
    app.command("mcp", help=mcp.HELP)(mcp.mcp)
    app.command(
        "backtest",
        help=backtest.HELP,
        context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
    )(backtest.backtest)
    app.command(
        "paper",
        help=paper.HELP,
        context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
    )(paper.paper)


_register()


def run(argv: Sequence[str] | None = None) -> None:
    """Run the app (exits the process with the command's exit code)."""
    app(args=list(argv) if argv is not None else None, prog_name="capitalcom")
