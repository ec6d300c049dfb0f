"""``capitalcom sim``: run the local simulator (delegates to ``capitalcom_sim``)."""

from __future__ import annotations

import time
from typing import Annotated, Any

import typer

from capitalcom_sdk.cli._options import JsonFlag
from capitalcom_sdk.cli._output import key_values
from capitalcom_sdk.cli._state import handle_errors, state_of
from capitalcom_sdk.errors import ConfigurationError

HELP = """Run the local simulator of the Capital.com API (REST + WebSocket) until Ctrl-C.

Any other option of capitalcom-sim (see `python -m capitalcom_sim --help`) is passed through.
Point the CLI at it with --base-url http://127.0.0.1:PORT and the printed credentials.
"""


@handle_errors
def sim(
    ctx: typer.Context,
    host: Annotated[str, typer.Option(help="Address to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port (0 = any free port).")] = 8765,
    seed: Annotated[int, typer.Option(help="Market seed (deterministic prices).")] = 42,
    no_rate_limits: Annotated[
        bool, typer.Option("--no-rate-limits", help="Do not enforce the documented rate limits.")
    ] = False,
    duration: Annotated[
        float | None,
        typer.Option(help="Stop after this many seconds (default: run until Ctrl-C).", min=0),
    ] = None,
    json_output: JsonFlag = False,
) -> None:
    """Run the local simulator."""
    state = state_of(ctx, json_output)
    try:
        from capitalcom_sim.__main__ import build_parser, config_from_args
        from capitalcom_sim.server import SimServer
    except ImportError as exc:
        raise ConfigurationError(
            "the simulator needs its extra: pip install 'capitalcom-sdk[sim]'"
        ) from exc
    argv = ["--host", host, "--port", str(port), "--seed", str(seed), *ctx.args]
    if no_rate_limits:
        argv.append("--no-rate-limits")
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:
        raise typer.Exit(2) from exc
    config = config_from_args(args)
    try:
        server = SimServer(config, host=host, port=port).start()
    except OSError as exc:
        raise ConfigurationError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    user = config.users[0]
    info: dict[str, Any] = {
        "baseUrl": server.base_url,
        "apiKey": user.api_key,
        "identifier": user.identifier,
        "password": user.password,
        "seed": config.seed,
        "rateLimits": config.rate_limits,
    }

    def render(console: Any) -> None:
        console.print(f"[green]simulator listening on[/] [bold]{server.base_url}[/]")
        console.print(
            key_values(
                None,
                [
                    ("api key", user.api_key),
                    ("identifier", user.identifier),
                    ("password", user.password),
                    ("seed", config.seed),
                    ("rate limits", "on" if config.rate_limits else "off"),
                ],
            )
        )
        console.print(
            f"try: CAPITAL_API_KEY={user.api_key} CAPITAL_IDENTIFIER={user.identifier} "
            f"CAPITAL_PASSWORD=... capitalcom --base-url {server.base_url} markets search gold"
        )
        console.print("[dim]Ctrl-C to stop[/]")

    # The simulator's own (public, documented) credentials: printing them is the point.
    state.output.result(info, render)
    deadline = None if duration is None else time.monotonic() + duration
    try:
        while deadline is None or time.monotonic() < deadline:
            time.sleep(0.05)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    state.output.note("simulator stopped")
