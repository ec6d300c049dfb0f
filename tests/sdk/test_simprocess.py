"""The simulator child process: options, readiness, and no orphan when the parent dies."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import httpx
import psutil

from capitalcom_sdk import Client
from capitalcom_sdk._simprocess import SimOptions, SimulatorProcess

START_MS = 1_735_819_200_000  # 2025-01-02 12:00 UTC


def _gone(pid: int, within: float = 15.0) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                return True
        except psutil.NoSuchProcess:
            return True
        time.sleep(0.05)
    return False


def _parent(code: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
    )


def test_options_reach_the_simulator() -> None:
    options = SimOptions(
        seed=5,
        start_ms=START_MS,
        end_ms=START_MS + 3_600_000,
        clock_speed=0.0,
        balance=2_500.0,
        currency="EUR",
    )
    with SimulatorProcess.start(options) as sim:
        assert sim.base_url.startswith("http://127.0.0.1:")
        assert sim.password not in repr(sim)
        assert sim.api_key not in repr(sim)
        clock = httpx.get(sim.base_url + "/_sim/clock", trust_env=False).json()
        assert clock == {"now": START_MS, "speed": 0.0}
        env = sim.environment()
        with Client(
            env["CAPITAL_API_KEY"],
            env["CAPITAL_IDENTIFIER"],
            env["CAPITAL_PASSWORD"],
            base_url=env["CAPITAL_BASE_URL"],
        ) as client:
            account = client.accounts.list().accounts[0]
            assert (account.currency, account.balance.balance) == ("EUR", 2_500.0)
        moved = httpx.post(sim.base_url + "/_sim/clock", json={"advance": 7200}, trust_env=False)
        assert moved.json()["now"] == START_MS + 3_600_000  # cut at the end
        refused = httpx.post(sim.base_url + "/_sim/clock", json={"advance": 1}, trust_env=False)
        assert (refused.status_code, refused.json()) == (409, {"errorCode": "error.sim.clock.end"})
    assert not sim.alive()


def test_simulator_exits_when_its_parent_is_killed() -> None:
    parent = _parent(
        """
        import time
        from capitalcom_sdk._simprocess import SimulatorProcess
        sim = SimulatorProcess.start()
        print(sim.pid, sim.base_url, flush=True)
        time.sleep(600)
        """
    )
    assert parent.stdout is not None
    pid_text, base_url = parent.stdout.readline().split()
    pid = int(pid_text)
    assert httpx.get(base_url + "/api/v1/time", trust_env=False).status_code == 200

    os.kill(parent.pid, signal.SIGKILL)
    parent.wait()

    assert _gone(pid), "the simulator outlived its parent"


def test_backtest_leaves_no_bot_and_no_simulator_when_the_runner_is_killed(
    tmp_path: Path,
) -> None:
    from tests.sdk.backtest._bars import START, write_bot, write_csv

    data = write_csv(tmp_path / "GOLD.csv", 30)
    pid_file = tmp_path / "bot.pid"
    bot = write_bot(
        tmp_path,
        "bot.py",
        f"""
        import os, time
        open({str(pid_file)!r}, "w").write(str(os.getpid()))
        time.sleep(600)
        """,
    )
    parent = _parent(
        f"""
        from datetime import datetime, timedelta
        from capitalcom_sdk.backtest import Backtest
        start = datetime.fromisoformat({START.isoformat()!r})
        Backtest("GOLD", "MINUTE", start, start + timedelta(minutes=30), data={str(data)!r},
                 timeout=600).run({str(bot)!r})
        """
    )
    deadline = time.monotonic() + 30
    while not pid_file.exists() or not pid_file.read_text():
        assert time.monotonic() < deadline, "the bot did not start"
        assert parent.poll() is None
        time.sleep(0.05)
    children = [p.pid for p in psutil.Process(parent.pid).children(recursive=True)]
    bot_pid = int(pid_file.read_text())
    assert bot_pid in children
    assert len(children) >= 2  # the simulator and the bot

    os.kill(parent.pid, signal.SIGKILL)
    parent.wait()

    for pid in children:
        assert _gone(pid), f"pid {pid} outlived the runner"
