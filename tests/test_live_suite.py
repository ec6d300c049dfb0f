"""The opt-in live suite (tests/live) run against the simulator, so it is known to work."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from capitalcom_sim.sessions import Session
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


def _tokens(sessions: list[Session]) -> list[str]:
    return [
        token
        for session in sessions
        for token in (session.cst, session.security_token, *session.previous_security_tokens)
    ]


def _clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("CAPITAL_")}


# One observation per open question of tests/live/test_fidelity.py (docs/simulator.md).
QUESTIONS = {
    "login flags and account shapes",
    "previous X-SECURITY-TOKEN after PUT /session",
    "session headers on error answers",
    "number formats",
    "empty price window",
    "closed-bar lag",
    "double-slash path",
    "rate-limit burst",
    "quote quantities",
    "numbers sent as strings",
    "open with stop and profit levels",
    "working order place / amend / cancel",
    "DELETE /positions/{id} with a size body",
    "top-up past the cap",
    "confirm expiry",
}


def test_the_live_suite_passes_against_the_simulator(sim: SimHandle, tmp_path: Path) -> None:
    report = tmp_path / "live-report.jsonl"
    ended: list[Session] = []
    sim.state.on_session_end.append(ended.append)
    env = {
        **_clean_env(),
        "CAPITAL_LIVE_REPORT": str(report),
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
    observations = [json.loads(line) for line in report.read_text().splitlines()]
    assert {o["question"] for o in observations} == QUESTIONS
    assert sim.password not in report.read_text()
    tokens = _tokens(ended + sim.state.sessions.active())
    assert len(tokens) >= 6  # several sessions really ran, and their tokens are not reported
    assert not any(token in report.read_text() for token in tokens)


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
