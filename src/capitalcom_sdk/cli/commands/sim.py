"""``capitalcom sim``: run the local simulator.

It delegates to the simulator's own command line (``python -m capitalcom_sim``) in a child
process: the SDK package never imports the simulator.
"""

from __future__ import annotations

import importlib.util
import re
import signal
import subprocess
import sys
import threading
import time
from typing import IO, Annotated

import typer

from capitalcom_sdk.cli._options import JsonFlag
from capitalcom_sdk.cli._state import handle_errors, state_of
from capitalcom_sdk.errors import ConfigurationError

HELP = """Run the local simulator of the Capital.com API (REST + WebSocket) until Ctrl-C.

Delegates to `python -m capitalcom_sim`: every option of capitalcom-sim is accepted (see \
`python -m capitalcom_sim --help`: --api-key, --identifier, --password, --users, ...). \
Point the CLI at it with --base-url http://127.0.0.1:PORT and the printed credentials. \
With --json, one JSON line gives the URL and the process id.
"""

_LISTENING = re.compile(r"listening on (http://\S+)")


def _drain(stream: IO[str], sink: IO[str]) -> None:
    for line in stream:
        sink.write(line)
        sink.flush()


@handle_errors
def sim(
    ctx: typer.Context,
    host: Annotated[str, typer.Option(help="Address to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port (0 = any free port).")] = 8765,
    seed: Annotated[int | None, typer.Option(help="Market seed (deterministic prices).")] = None,
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
    missing = [m for m in ("capitalcom_sim", "starlette", "uvicorn") if not _installed(m)]
    if missing:
        raise ConfigurationError(
            f"the simulator needs {', '.join(missing)}: pip install 'capitalcom-sdk[sim]'"
        )
    argv = [sys.executable, "-m", "capitalcom_sim", "--host", host, "--port", str(port)]
    if seed is not None:
        argv += ["--seed", str(seed)]
    if no_rate_limits:
        argv.append("--no-rate-limits")
    argv += ctx.args
    json_mode = state.output.json_mode
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _interrupt)  # stop the child too when we are terminated
    child = subprocess.Popen(  # noqa: S603 - our own interpreter and module, arguments as given
        argv, stdout=subprocess.PIPE if json_mode else None, text=True
    )
    try:
        if json_mode:
            assert child.stdout is not None
            first = child.stdout.readline()
            match = _LISTENING.search(first)
            if match is None:
                child.wait(timeout=10)
                raise typer.Exit(2 if child.returncode in (None, 0) else child.returncode)
            base_url = match.group(1)
            _wait_until_serving(base_url, child)
            state.output.result({"baseUrl": base_url, "pid": child.pid})
            threading.Thread(target=_drain, args=(child.stdout, sys.stderr), daemon=True).start()
        try:
            code = child.wait(timeout=duration)
        except subprocess.TimeoutExpired:
            code = 0
    except KeyboardInterrupt:
        code = 0
    finally:
        if child.poll() is None:
            child.terminate()
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                child.kill()
    if code:
        raise typer.Exit(code)
    state.output.note("simulator stopped")


def _wait_until_serving(base_url: str, child: subprocess.Popen[str], timeout: float = 15.0) -> None:
    """Return once the simulator answers (so the JSON line means "ready")."""
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and child.poll() is None:
        try:
            httpx.get(base_url + "/api/v1/time", timeout=1.0)
            return
        except httpx.TransportError:
            time.sleep(0.05)
    raise ConfigurationError(f"the simulator did not answer on {base_url}")


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _installed(module: str) -> bool:
    return importlib.util.find_spec(module) is not None
