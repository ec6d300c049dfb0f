"""The opt-in live suite (tests/live) run against the simulator, so it is known to work."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import SimHandle

ROOT = Path(__file__).resolve().parent.parent


def _run(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "tests/live", "-q", "-p", "no:cacheprovider", "-rA"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def _clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("CAPITAL_")}


def test_the_live_suite_passes_against_the_simulator(sim: SimHandle) -> None:
    env = {
        **_clean_env(),
        "CAPITAL_API_KEY": sim.api_key,
        "CAPITAL_IDENTIFIER": sim.identifier,
        "CAPITAL_PASSWORD": sim.password,
        "CAPITAL_BASE_URL": sim.base_url,
        "CAPITAL_LIVE_TRADING": "1",
    }
    done = _run(env)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert "22 passed" in done.stdout, done.stdout[-2000:]
    assert "skipped" not in done.stdout


def test_without_credentials_the_live_suite_is_deselected_not_run() -> None:
    done = _run(_clean_env())
    assert done.returncode == 5, done.stdout[-2000:]  # pytest: no tests were run
    assert "22 deselected" in done.stdout, done.stdout[-2000:]


def test_the_live_suite_refuses_the_live_server() -> None:
    env = {
        **_clean_env(),
        "CAPITAL_API_KEY": "k",
        "CAPITAL_IDENTIFIER": "i",
        "CAPITAL_PASSWORD": "p",
        "CAPITAL_ENV": "live",
        "CAPITAL_BASE_URL": "http://127.0.0.1:9",  # even so: nothing may be sent anywhere
    }
    done = _run(env)
    assert done.returncode == 2, done.stdout[-2000:]
    assert "demo server only" in done.stdout + done.stderr
