"""Run the simulator under uvicorn in a background thread (tests, demo, benchmarks, CLI)."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from types import FrameType, TracebackType

import uvicorn

from capitalcom_sim.app import SimApp, create_app
from capitalcom_sim.config import SimConfig
from capitalcom_sim.state import SimState


class PromptServer(uvicorn.Server):
    """uvicorn's server, stopping as soon as it is asked to.

    uvicorn looks at ``should_exit`` every 0.1 s and its shutdown waits a fixed 0.1 s before it
    looks at the connections: 0.2 s per stop, minutes over the simulators a test run starts.
    Here :meth:`wake` ends the wait at once, and the shutdown polls the connections and tasks
    every few milliseconds (up to ``timeout_graceful_shutdown``, then cancels what is left).
    """

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None

    async def main_loop(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._wake = wake = asyncio.Event()
        counter = 0
        while not await self.on_tick(counter):
            counter = (counter + 1) % 864_000  # on_tick refreshes the Date header every 10
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), 0.1)

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        super().handle_exit(sig, frame)  # SIGTERM / SIGINT: should_exit (uvicorn's own rule)
        self.wake()

    def wake(self) -> None:
        """From any thread: look at ``should_exit`` now."""
        loop, wake = self._loop, self._wake
        if loop is not None and wake is not None:
            with contextlib.suppress(RuntimeError):  # the loop has ended already
                loop.call_soon_threadsafe(wake.set)

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        for server in self.servers:
            server.close()
        for sock in sockets or []:
            sock.close()
        state = self.server_state
        for connection in list(state.connections):
            connection.shutdown()  # idle keep-alive ones close now, busy ones after the answer
        loop = asyncio.get_running_loop()
        deadline = loop.time() + (self.config.timeout_graceful_shutdown or 0)
        while (state.connections or state.tasks) and loop.time() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.005)  # uvicorn's state has no event to wait on
        for task in list(state.tasks):
            task.cancel(msg="simulator stopping: graceful shutdown time exceeded")
        if not self.force_exit:
            await self.lifespan.shutdown()
        for server in self.servers:
            await server.wait_closed()


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
        self._server = PromptServer(uv_config)
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
        self._server.wake()
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
