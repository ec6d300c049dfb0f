"""A simulator in a child process: started on a free loopback port, stopped, never orphaned.

The one place that runs ``python -m capitalcom_sim`` for the SDK (MCP practice mode, the
backtest runner): the SDK never imports the simulator. The child gets a user made up for the
run, the options asked for, and a pipe on its standard input (``--exit-on-stdin-eof``): when
this process dies, however it dies (even SIGKILL), the pipe closes and the simulator exits.
"""

from __future__ import annotations

import collections
import contextlib
import importlib.util
import logging
import os
import re
import secrets
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from types import TracebackType
from typing import IO

from capitalcom_sdk.errors import ConfigurationError

log = logging.getLogger(__name__)

_LISTENING = re.compile(r"listening on (http://\S+)")
INSTALL_HINT = "pip install 'capitalcom-sdk[sim]'"


@dataclass(frozen=True)
class SimOptions:
    """What the simulator child is started with (None: the simulator's default).

    ``start_ms`` / ``end_ms``: the clock's start and the time it never moves past (epoch ms);
    ``clock_speed`` 0 freezes the clock (moved only by ``POST /_sim/clock``); ``balance`` and
    ``currency`` of the user's first account; ``deterministic_ids``: deal ids from the seed;
    ``equity_sample_ms``: the ledger's equity sampling (``GET /_sim/ledger``);
    ``extra_args``: further ``capitalcom_sim`` flags.
    """

    seed: int | None = None
    start_ms: int | None = None
    end_ms: int | None = None
    clock_speed: float | None = None
    balance: float | None = None
    currency: str | None = None
    rate_limits: bool = True
    deterministic_ids: bool = False
    equity_sample_ms: int | None = None
    extra_args: tuple[str, ...] = ()

    def argv(self) -> list[str]:
        """The ``capitalcom_sim`` flags of these options."""
        out: list[str] = []
        for flag, value in (
            ("--seed", self.seed),
            ("--start-ms", self.start_ms),
            ("--end-ms", self.end_ms),
            ("--clock-speed", self.clock_speed),
            ("--balance", self.balance),
            ("--currency", self.currency),
            ("--equity-sample-ms", self.equity_sample_ms),
        ):
            if value is not None:
                out += [flag, repr(value) if isinstance(value, float) else str(value)]
        if not self.rate_limits:
            out.append("--no-rate-limits")
        if self.deterministic_ids:
            out.append("--deterministic-ids")
        return out + list(self.extra_args)


def require_simulator(extra: str = "sim") -> None:
    """ConfigurationError naming the extra when the simulator cannot run here."""
    if importlib.util.find_spec("capitalcom_sim") is None or not all(
        importlib.util.find_spec(m) for m in ("starlette", "uvicorn")
    ):
        raise ConfigurationError(f"this needs the simulator: pip install 'capitalcom-sdk[{extra}]'")


@dataclass(eq=False)
class SimulatorProcess:
    """A running simulator child: its URL and the made-up user's credentials (never in repr)."""

    child: subprocess.Popen[bytes]
    base_url: str
    api_key: str = field(repr=False)
    identifier: str
    password: str = field(repr=False)
    _stderr: collections.deque[str] = field(
        default_factory=lambda: collections.deque(maxlen=50), repr=False
    )

    @property
    def pid(self) -> int:
        return self.child.pid

    @classmethod
    def start(
        cls, options: SimOptions | None = None, *, timeout: float = 30.0, extra: str = "sim"
    ) -> SimulatorProcess:
        """Start it on a free loopback port and wait until it answers (ConfigurationError with
        the simulator's last error lines if it does not)."""
        require_simulator(extra)
        options = options or SimOptions()
        api_key = "run-" + secrets.token_urlsafe(12)
        identifier = "trader@example.com"
        password = secrets.token_urlsafe(12)
        argv = [sys.executable, "-m", "capitalcom_sim", "--host", "127.0.0.1", "--port", "0"]
        # "--flag=value": a made-up secret may start with "-".
        argv += [f"--api-key={api_key}", f"--identifier={identifier}", f"--password={password}"]
        argv += ["--log-level", "warning", "--exit-on-stdin-eof", *options.argv()]
        # Its own session: a terminal's Ctrl-C reaches this process only, which then still
        # reads the simulator (a paper run's report) before stopping it; the stdin pipe keeps
        # it from outliving this process.
        child = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=os.name == "posix",
        )
        assert child.stdout is not None
        assert child.stderr is not None
        sim = cls(child, "", api_key, identifier, password)
        threading.Thread(target=_keep_tail, args=(child.stderr, sim._stderr), daemon=True).start()
        match = _LISTENING.search(child.stdout.readline().decode("utf-8", "replace"))
        if match is None:
            sim.stop()
            raise ConfigurationError(f"the simulator did not start: {sim.last_error()}")
        sim.base_url = match.group(1)
        threading.Thread(target=_drain, args=(child.stdout,), daemon=True).start()
        sim._wait_ready(timeout)
        log.debug("simulator pid %d on %s", child.pid, sim.base_url)
        return sim

    def _wait_ready(self, timeout: float) -> None:
        import httpx

        deadline = time.monotonic() + timeout
        while True:
            try:
                httpx.get(self.base_url + "/api/v1/time", timeout=1.0, trust_env=False)
                return
            except httpx.TransportError:
                if self.child.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise ConfigurationError(
                        f"the simulator did not answer on {self.base_url}: {self.last_error()}"
                    ) from None
                time.sleep(0.05)

    def last_error(self) -> str:
        """The simulator's last lines on stderr (or a note that there were none)."""
        lines = [line for line in self._stderr if line.strip()]
        return " | ".join(lines[-3:]) if lines else "no error output"

    def environment(self) -> dict[str, str]:
        """The ``CAPITAL_*`` variables that point ``Client.from_env()`` at this simulator."""
        return {
            "CAPITAL_BASE_URL": self.base_url,
            "CAPITAL_API_KEY": self.api_key,
            "CAPITAL_IDENTIFIER": self.identifier,
            "CAPITAL_PASSWORD": self.password,
        }

    def alive(self) -> bool:
        return self.child.poll() is None

    def stop(self, timeout: float = 10.0) -> None:
        """Stop it (terminate, then kill) and wait for it."""
        if self.child.poll() is None:
            self.child.terminate()
            try:
                self.child.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.child.kill()
                self.child.wait()
        if self.child.stdin is not None:
            with contextlib.suppress(OSError):
                self.child.stdin.close()

    def __enter__(self) -> SimulatorProcess:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def _drain(stream: IO[bytes]) -> None:
    with stream:
        for _ in stream:
            pass


def _keep_tail(stream: IO[bytes], tail: collections.deque[str]) -> None:
    with stream:
        for line in stream:
            tail.append(line.decode("utf-8", "replace").rstrip())
