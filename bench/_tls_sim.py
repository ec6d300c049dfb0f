"""The simulator served over TLS (``python -m bench._tls_sim --certfile C --keyfile K``).

Same app, same uvicorn settings and the same TCP_NODELAY listening socket as
``python -m capitalcom_sim``; only the certificate differs. First stdout line: the URL.
"""

from __future__ import annotations

import argparse
import socket
import sys

import uvicorn

from capitalcom_sim.app import create_app
from capitalcom_sim.config import SimConfig, single_user


def main() -> int:
    parser = argparse.ArgumentParser(prog="bench._tls_sim")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--certfile", required=True)
    parser.add_argument("--keyfile", required=True)
    parser.add_argument("--no-rate-limits", action="store_true")
    args = parser.parse_args()
    config = SimConfig(users=(single_user(),), rate_limits=not args.no_rate_limits)
    # IPPROTO_TCP: asyncio then sets TCP_NODELAY on accepted sockets (as the simulator CLI does).
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", args.port))
    port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(config),
            log_level="warning",
            lifespan="off",
            timeout_graceful_shutdown=2,
            ssl_certfile=args.certfile,
            ssl_keyfile=args.keyfile,
        )
    )
    print(f"capitalcom-sim (TLS) listening on https://127.0.0.1:{port}", flush=True)
    server.run(sockets=[sock])
    return 0


if __name__ == "__main__":
    sys.exit(main())
