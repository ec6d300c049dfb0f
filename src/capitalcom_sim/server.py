"""Run the simulator under uvicorn in a background thread (tests, demo, benchmarks, CLI)."""

from __future__ import annotations

import socket
import threading
import time
from types import TracebackType

import uvicorn

from capitalcom_sim.app import SimApp, create_app
from capitalcom_sim.config import SimConfig
from capitalcom_sim.state import SimState


class SimServer:
    """A simulator listening on ``host`` (127.0.0.1 unless told otherwise) in a thread.

    ``port=0`` picks a free port; ``base_url`` tells the one chosen once started.
    """

    def __init__(
        self, config: SimConfig | None = None, host: str = "127.0.0.1", port: int = 0
    ) -> None:
        self.config = config or SimConfig()
        self.app: SimApp = create_app(self.config)
        self.host = host
        # proto=IPPROTO_TCP matters: asyncio sets TCP_NODELAY on accepted sockets only when the
        # listening socket says so; without it every keep-alive response waits ~40 ms (Nagle).
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind((host, port))
        self.port: int = self._sock.getsockname()[1]
        # A short graceful shutdown: a request held by a "timeout" fault must not block stop().
        uv_config = uvicorn.Config(
            self.app, log_level="warning", lifespan="off", timeout_graceful_shutdown=2
        )
        self._server = uvicorn.Server(uv_config)
        self._thread = threading.Thread(target=self._run, name="capitalcom-sim", daemon=True)

    @property
    def state(self) -> SimState:
        state: SimState = self.app.state.sim
        return state

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def _run(self) -> None:
        self._server.run(sockets=[self._sock])

    def start(self, timeout: float = 10.0) -> SimServer:
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("simulator did not start")
            time.sleep(0.005)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._sock.close()

    def __enter__(self) -> SimServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
