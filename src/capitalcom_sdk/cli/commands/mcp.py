"""``capitalcom mcp``: serve the SDK to AI assistants over the Model Context Protocol."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from capitalcom_sdk.cli._options import JsonFlag
from capitalcom_sdk.cli._state import handle_errors, state_of
from capitalcom_sdk.errors import ConfigurationError

HELP = """Serve Capital.com to an AI assistant over MCP (stdio by default).

Practice mode by default: an embedded simulator, no account needed, nothing leaves the machine. \
--connect uses the configured server (--env/--base-url, CAPITAL_* credentials). Read-only \
unless --trading; orders then pass the policy (--policy FILE) and a preview step. \
Needs the extra: pip install 'capitalcom-sdk[mcp]'. See docs/mcp.md.
"""


@handle_errors
def mcp(
    ctx: typer.Context,
    trading: Annotated[
        bool, typer.Option("--trading", help="Add the trading tools (preview + execute).")
    ] = False,
    policy: Annotated[
        Path | None,
        typer.Option(help="Trading policy file (TOML or JSON): allowed_epics, max_order_size..."),
    ] = None,
    connect: Annotated[
        bool,
        typer.Option(
            "--connect", help="Use the configured server instead of the practice simulator."
        ),
    ] = False,
    http: Annotated[
        bool, typer.Option("--http", help="Serve streamable HTTP at /mcp instead of stdio.")
    ] = False,
    host: Annotated[str, typer.Option(help="HTTP bind address (beyond loopback: token).")] = (
        "127.0.0.1"
    ),
    port: Annotated[int, typer.Option(help="HTTP port.")] = 8777,
    http_token: Annotated[
        str | None,
        typer.Option(
            help="Bearer token HTTP clients must send. Env: CAPITAL_MCP_TOKEN.", show_default=False
        ),
    ] = None,
    journal: Annotated[
        Path | None,
        typer.Option(help="Decision journal (JSON lines). Default: $XDG_STATE_HOME/capitalcom/."),
    ] = None,
    preview_ttl: Annotated[
        float, typer.Option(help="Seconds a preview token stays valid.", min=1.0)
    ] = 60.0,
    late_apply_window: Annotated[
        float | None,
        typer.Option(
            help="Seconds an unanswered order may still be applied by the server; until then "
            "its verdict stays unknown (default: the SDK's, 30).",
            min=0.0,
            show_default=False,
        ),
    ] = None,
    seed: Annotated[int | None, typer.Option(help="Practice simulator's market seed.")] = None,
    json_output: JsonFlag = False,
) -> None:
    """Serve the SDK over MCP."""
    try:
        from capitalcom_sdk.mcp import McpConfig, run
        from capitalcom_sdk.mcp._run import default_journal
    except ImportError as exc:
        raise ConfigurationError(
            "capitalcom mcp needs the official MCP SDK: pip install 'capitalcom-sdk[mcp]'"
        ) from exc
    s = state_of(ctx, json_output).settings  # --json: start-up errors as JSON on stderr
    config = McpConfig(
        connect=connect,
        env=s.env,
        base_url=s.base_url,
        api_key=s.api_key,
        identifier=s.identifier,
        password=s.password,
        encrypted_password=s.encrypted_password,
        account_id=s.account_id,
        timeout=s.timeout,
        trading=trading,
        policy_file=policy,
        live_opt_in=s.live_opt_in,
        preview_ttl=preview_ttl,
        late_apply_window=late_apply_window,
        journal=journal or default_journal(),
        http=http,
        host=host,
        port=port,
        http_token=http_token or os.environ.get("CAPITAL_MCP_TOKEN") or None,
        seed=seed,
    )
    run(config)
