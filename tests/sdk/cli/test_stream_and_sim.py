"""``capitalcom stream quotes`` and ``capitalcom sim``."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil

from tests.sdk.cli.conftest import Cli

CAPITALCOM = [sys.executable, "-c", "from capitalcom_sdk.cli import main; main()"]


def test_stream_quotes_as_ndjson_stops_after_count(cli: Cli) -> None:
    # The seeded process can sit still for many seconds in a quiet hour; ramps make every tick
    # a new quote, so the count is reached whatever the time of day.
    engine = cli.sim.state.engine
    now = cli.sim.state.clock.now_ms()
    for epic, (low, high) in {"GOLD": (2300.0, 2400.0), "EURUSD": (1.05, 1.10)}.items():
        engine.set_path(epic, [(now, low), (now + 120_000, high)])
    try:
        outcome = cli(
            "stream", "quotes", "GOLD", "EURUSD", "--count", "4", "--duration", "20", "--json"
        )
    finally:
        for epic in ("GOLD", "EURUSD"):
            engine.release(epic)
    assert outcome.exit_code == 0, outcome.stderr
    lines = [json.loads(line) for line in outcome.stdout.splitlines()]
    assert len(lines) == 4
    for quote in lines:
        assert quote["epic"] in ("GOLD", "EURUSD")
        assert quote["bid"] < quote["offer"]
        assert quote["timestamp"].endswith("+00:00")


def test_stream_quotes_table_stops_after_duration(cli: Cli) -> None:
    started = time.monotonic()
    outcome = cli("stream", "quotes", "GOLD", "--duration", "2")
    assert outcome.exit_code == 0, outcome.stderr
    assert time.monotonic() - started < 15
    assert "quotes received" in outcome.stderr


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def test_sim_command_serves_the_api_until_stopped(tmp_path: Path) -> None:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CAPITAL_")}
    proc = subprocess.Popen(
        [*CAPITALCOM, "sim", "--port", str(port), "--seed", "3", "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
        env=env,
    )
    child = None
    try:
        assert proc.stdout is not None
        info = json.loads(proc.stdout.readline())
        child = psutil.Process(info["pid"])
        assert info["baseUrl"] == f"http://127.0.0.1:{port}"
        assert child.ppid() == proc.pid  # the simulator runs in its own process
        response = httpx.get(info["baseUrl"] + "/api/v1/time", timeout=5)
        assert isinstance(response.json()["serverTime"], int)
        proc.terminate()
        assert proc.wait(timeout=10) == 0
        child.wait(timeout=10)  # terminating capitalcom stops the simulator too
    finally:
        if proc.poll() is None:
            proc.kill()
        if child is not None and child.is_running():
            child.kill()


def test_sim_command_with_duration_ends_by_itself(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CAPITAL_")}
    done = subprocess.run(
        [*CAPITALCOM, "sim", "--port", "0", "--duration", "0.5", "--json"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.splitlines()[0])["baseUrl"].startswith("http://127.0.0.1:")


def test_help_does_not_import_heavy_optional_modules(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "from capitalcom_sdk.cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "bad = [m for m in ('pandas', 'pyarrow', 'matplotlib', 'capitalcom_sim')"
        " if m in sys.modules]\n"
        "sys.stderr.write('LOADED:' + ','.join(bad))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, timeout=60
    )
    assert "Usage" in done.stdout
    assert done.stderr.strip().endswith("LOADED:")


def test_stream_of_an_unknown_epic_exits_5(cli: Cli) -> None:
    outcome = cli("stream", "quotes", "NO_SUCH_EPIC", "--duration", "5", "--json")
    assert outcome.exit_code == 5, outcome.stderr
    assert outcome.error["type"] == "SubscriptionError"


def test_exit_codes_of_streaming_errors_by_class() -> None:
    from capitalcom_sdk.cli._exit import ExitCode, exit_code_for
    from capitalcom_sdk.streaming import StreamClosedError, SubscriptionError

    assert exit_code_for(SubscriptionError("error.invalid.epic", ["X"], "s")) is ExitCode.REJECTED
    assert exit_code_for(StreamClosedError("closed")) is ExitCode.NETWORK
