"""Command line: ``python -m capitalcom_sim --host 127.0.0.1 --port 8765 ...``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

import uvicorn

from capitalcom_sim.app import create_app
from capitalcom_sim.config import (
    DEFAULT_API_KEY,
    DEFAULT_IDENTIFIER,
    DEFAULT_PASSWORD,
    SimConfig,
    single_user,
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="capitalcom-sim",
        description="A local simulator of the Capital.com public API (REST + WebSocket).",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8765, help="port (default 8765; 0 = any)")
    parser.add_argument("--api-key", default=DEFAULT_API_KEY, help="the user's API key")
    parser.add_argument("--identifier", default=DEFAULT_IDENTIFIER, help="the user's login")
    parser.add_argument("--password", default=DEFAULT_PASSWORD, help="the API key's password")
    parser.add_argument("--seed", type=int, default=42, help="market seed (deterministic prices)")
    parser.add_argument("--users", metavar="FILE", help="JSON file with several users")
    parser.add_argument(
        "--no-rate-limits", action="store_true", help="do not enforce the documented rate limits"
    )
    return parser


def config_from_args(args: argparse.Namespace) -> SimConfig:
    settings = {"seed": args.seed, "rate_limits": not args.no_rate_limits}
    if args.users:
        return SimConfig.from_file(args.users, **settings)
    return SimConfig(users=(single_user(args.api_key, args.identifier, args.password),), **settings)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    config = config_from_args(args)
    app = create_app(config)
    server = uvicorn.Server(
        uvicorn.Config(app, host=args.host, port=args.port, log_level="warning", lifespan="off")
    )
    # The CLI announces itself; library code never prints.
    print(f"capitalcom-sim listening on http://{args.host}:{args.port}", flush=True)
    if not args.users:
        print(
            f"  api key: {args.api_key}  identifier: {args.identifier}  password: {args.password}",
            flush=True,
        )
    print(f"  seed: {args.seed}  rate limits: {'on' if config.rate_limits else 'off'}", flush=True)
    server.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
