"""Command line: ``python -m capitalcom_sim --host 127.0.0.1 --port 8765 ...``."""

from __future__ import annotations

import argparse
import dataclasses
import math
import os
import socket
import sys
import threading
from collections.abc import Sequence
from typing import Any

import uvicorn

from capitalcom_sim.app import create_app
from capitalcom_sim.config import (
    CLOSE_WITH_BODY,
    DEFAULT_API_KEY,
    DEFAULT_IDENTIFIER,
    DEFAULT_PASSWORD,
    DOUBLE_SLASH_PATHS,
    PRICES_NOT_FOUND,
    RATE_LIMIT_MODES,
    TOP_UP_CAP_ERRORS,
    ConfigError,
    SimConfig,
    UserConfig,
    single_user,
)
from capitalcom_sim.server import PromptServer


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="capitalcom-sim",
        description="A local simulator of the Capital.com public API (REST + WebSocket). "
        "Control plane under /_sim/ (see docs/simulator.md).",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8765, help="port (default 8765; 0 = any)")
    parser.add_argument("--api-key", default=DEFAULT_API_KEY, help="the user's API key")
    parser.add_argument("--identifier", default=DEFAULT_IDENTIFIER, help="the user's login")
    parser.add_argument("--password", default=DEFAULT_PASSWORD, help="the API key's password")
    parser.add_argument("--seed", type=int, default=None, help="market seed (default 42)")
    parser.add_argument("--users", metavar="FILE", help="JSON file with several users")
    parser.add_argument(
        "--no-rate-limits", action="store_true", help="do not enforce the documented rate limits"
    )
    parser.add_argument(
        "--session-max-minutes",
        type=float,
        default=None,
        help="hard session lifetime after login (default 60)",
    )
    parser.add_argument(
        "--session-idle-minutes",
        type=float,
        default=None,
        help="token lifetime after last use (default 10, as documented)",
    )
    parser.add_argument(
        "--clock-speed",
        type=float,
        default=None,
        help="simulated seconds per real second (default 1; 0 freezes the clock)",
    )
    parser.add_argument(
        "--start-ms", type=int, default=None, help="simulated start time, epoch ms (default now)"
    )
    parser.add_argument(
        "--live",
        action="store_true",
        help="pretend to be the live server: no hourly order budget, no top-ups (default: demo)",
    )
    parser.add_argument(
        "--tick-ms",
        type=int,
        default=None,
        help="quote grid in ms: quotes change only on its multiples (default 1000)",
    )
    parser.add_argument(
        "--confirm-lag-ms",
        type=int,
        default=None,
        help="deal confirmations answer 404 for this long after the write (default 0)",
    )
    parser.add_argument(
        "--no-overnight-fees", action="store_true", help="do not charge overnight funding"
    )
    parser.add_argument(
        "--stop-out-level",
        default=None,
        help="close the worst positions below this equity/margin fraction; 'off' disables "
        "(default 0.5)",
    )
    backtest = parser.add_argument_group(
        "backtest", "what capitalcom backtest starts the simulator with (docs/backtest.md)"
    )
    backtest.add_argument(
        "--end-ms",
        type=int,
        default=None,
        help="the clock never moves past this time, epoch ms (a move from it answers 409)",
    )
    backtest.add_argument(
        "--deterministic-ids",
        action="store_true",
        help="deal ids and references drawn from the seed (reproducible runs)",
    )
    backtest.add_argument(
        "--equity-sample-ms",
        type=int,
        default=None,
        help="sample equity after clock moves, one point per this many ms at most "
        "(0: every move; default off); read at GET /_sim/ledger",
    )
    backtest.add_argument(
        "--balance", type=float, default=None, help="the user's first account's balance"
    )
    backtest.add_argument(
        "--currency", default=None, help="the user's first account's currency (e.g. USD)"
    )
    fidelity = parser.add_argument_group(
        "fidelity choices", "where the real servers' behaviour is weakly known (docs/simulator.md)"
    )
    fidelity.add_argument(
        "--reject-previous-security-token",
        action="store_true",
        help="after PUT /session only the new X-SECURITY-TOKEN works (default: the old ones too)",
    )
    fidelity.add_argument(
        "--rate-limit-mode",
        choices=RATE_LIMIT_MODES,
        default=None,
        help="exact sliding windows (default) or token buckets (bursts up to ~2x at the start)",
    )
    fidelity.add_argument(
        "--prices-not-found",
        choices=PRICES_NOT_FOUND,
        default=None,
        help="a GET /prices window without bars: 404 error.prices.not-found (default) or bare 404",
    )
    fidelity.add_argument(
        "--closed-bar-lag-ms",
        type=int,
        default=None,
        help="GET /prices serves bars as of this long ago (default 0)",
    )
    fidelity.add_argument(
        "--double-slash-paths",
        choices=DOUBLE_SLASH_PATHS,
        default=None,
        help="//api/v1/... paths: 404 (default) or served as /api/v1/...",
    )
    fidelity.add_argument(
        "--close-with-body",
        choices=CLOSE_WITH_BODY,
        default=None,
        help="DELETE /positions/{id} with a size body: close it all (default) or 404",
    )
    fidelity.add_argument(
        "--top-up-cap-error",
        choices=TOP_UP_CAP_ERRORS,
        default=None,
        help="a top-up past the demo cap: error.invalid.balance.maxvalue (default) or "
        "account.limit.reached",
    )
    parser.add_argument(
        "--log-level", default="warning", help="uvicorn log level (default warning)"
    )
    parser.add_argument(
        "--exit-on-stdin-eof",
        action="store_true",
        help="exit when standard input closes (a parent process holding a pipe to it died)",
    )
    return parser


def _stop_out_level(text: str) -> float | None:
    if text.lower() == "off":
        return None
    try:
        return float(text)
    except ValueError:
        raise ConfigError(f"--stop-out-level: a number in (0, 1] or 'off', got {text!r}") from None


def _exit_on_eof() -> None:
    """Exit at once when standard input reaches EOF: the parent that holds its pipe is gone."""
    try:
        while os.read(0, 65536):  # the raw descriptor: no buffer lock held at shutdown
            pass
    except (OSError, ValueError):
        pass
    os._exit(0)


def config_from_args(args: argparse.Namespace) -> SimConfig:
    """The SimConfig the flags describe (a users file's settings yield to explicit flags)."""
    settings: dict[str, Any] = {}
    if args.seed is not None:
        settings["seed"] = args.seed
    if args.no_rate_limits:
        settings["rate_limits"] = False
    if args.session_max_minutes is not None:
        settings["session_max_seconds"] = args.session_max_minutes * 60
    if args.session_idle_minutes is not None:
        settings["session_idle_seconds"] = args.session_idle_minutes * 60
    if args.clock_speed is not None:
        settings["clock_speed"] = args.clock_speed
    if args.start_ms is not None:
        settings["start_ms"] = args.start_ms
    if args.live:
        settings["demo"] = False
    if args.tick_ms is not None:
        settings["tick_ms"] = args.tick_ms
    if args.confirm_lag_ms is not None:
        settings["confirm_lag_ms"] = args.confirm_lag_ms
    if args.no_overnight_fees:
        settings["overnight_fees"] = False
    if args.stop_out_level is not None:
        settings["stop_out_level"] = _stop_out_level(args.stop_out_level)
    if args.reject_previous_security_token:
        settings["accept_previous_security_token"] = False
    for name in (
        "rate_limit_mode",
        "prices_not_found",
        "closed_bar_lag_ms",
        "double_slash_paths",
        "close_with_body",
        "top_up_cap_error",
    ):
        value = getattr(args, name)
        if value is not None:
            settings[name] = value
    if args.end_ms is not None:
        settings["end_ms"] = args.end_ms
    if args.deterministic_ids:
        settings["deterministic_ids"] = True
    if args.equity_sample_ms is not None:
        settings["equity_sample_ms"] = args.equity_sample_ms
    if args.users:
        return SimConfig.from_file(args.users, **settings)
    user = single_user(args.api_key, args.identifier, args.password)
    if args.balance is not None or args.currency is not None:
        user = _first_account(user, args.balance, args.currency)
    return SimConfig(users=(user,), **settings)


def _first_account(user: UserConfig, balance: float | None, currency: str | None) -> UserConfig:
    """The user with its first account's balance and currency replaced."""
    first = user.accounts[0]
    if balance is not None:
        if not math.isfinite(balance) or balance < 0:
            raise ConfigError(f"--balance: a number >= 0, got {balance!r}")
        first = dataclasses.replace(first, balance=balance)
    if currency is not None:
        if not (len(currency) == 3 and currency.isalpha()):
            raise ConfigError(f"--currency: a 3-letter code, got {currency!r}")
        code = currency.upper()
        first = dataclasses.replace(first, currency=code, account_name=code)
    return dataclasses.replace(user, accounts=(first, *user.accounts[1:]))


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        config = config_from_args(args)
    except ConfigError as exc:
        print(f"capitalcom-sim: {exc}", file=sys.stderr)
        return 2
    family = socket.AF_INET6 if ":" in args.host else socket.AF_INET
    # IPPROTO_TCP so that asyncio enables TCP_NODELAY on accepted connections (see server.py).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((args.host, args.port))
    except OSError as exc:
        print(f"capitalcom-sim: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 1
    port = sock.getsockname()[1]
    if args.exit_on_stdin_eof:
        threading.Thread(target=_exit_on_eof, name="stdin-watch", daemon=True).start()
    app = create_app(config)
    server = PromptServer(
        uvicorn.Config(app, log_level=args.log_level, lifespan="off", timeout_graceful_shutdown=2)
    )
    host = f"[{args.host}]" if ":" in args.host else args.host
    # The CLI announces itself (first line: the URL); library code never prints.
    print(f"capitalcom-sim listening on http://{host}:{port}", flush=True)
    if args.users:
        print(f"  users: {len(config.users)} from {args.users}", flush=True)
    else:
        # Credentials given on the command line are not echoed; the built-in defaults are.
        def shown(value: str, default: str) -> str:
            return value if value == default else "(as given)"

        print(
            f"  api key: {shown(args.api_key, DEFAULT_API_KEY)}"
            f"  identifier: {args.identifier}"
            f"  password: {shown(args.password, DEFAULT_PASSWORD)}",
            flush=True,
        )
    print(
        f"  seed: {config.seed}  rate limits: {'on' if config.rate_limits else 'off'}"
        f"  session: {config.session_idle_seconds / 60:g} min idle,"
        f" {config.session_max_seconds / 60:g} min max  clock speed: {config.clock_speed:g}"
        f"  mode: {'demo' if config.demo else 'live'}",
        flush=True,
    )
    stop_out = "off" if config.stop_out_level is None else f"{config.stop_out_level:g}"
    print(
        f"  ticks: {config.tick_ms} ms  confirm lag: {config.confirm_lag_ms} ms"
        f"  overnight fees: {'on' if config.overnight_fees else 'off'}  stop-out: {stop_out}",
        flush=True,
    )
    previous = "accepted" if config.accept_previous_security_token else "refused"
    print(
        f"  previous security token: {previous}  rate limit mode: {config.rate_limit_mode}"
        f"  empty prices: {config.prices_not_found}  closed bar lag: {config.closed_bar_lag_ms} ms"
        f"  // paths: {config.double_slash_paths}  close with body: {config.close_with_body}"
        f"  top-up cap: {config.top_up_cap_error}",
        flush=True,
    )
    print(f"  control plane: http://{host}:{port}/_sim/  (docs/simulator.md)", flush=True)
    server.run(sockets=[sock])
    return 0


if __name__ == "__main__":
    sys.exit(main())
