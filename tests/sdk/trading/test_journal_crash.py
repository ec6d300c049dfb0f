"""SIGKILL a bot at each step of an order write, restart it: no write lost from the journal,
none duplicated on the server, every pending one settled."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from capitalcom_sdk.trading import OrderJournal
from capitalcom_sim.config import SimConfig, single_user
from tests.conftest import SimHandle
from tests.sdk.trading.conftest import WEDNESDAY_1400_UTC


@pytest.fixture
def sim_config() -> SimConfig:
    """A running clock: reconcile maps the client's send time onto the server's clock, which a
    frozen clock would make ambiguous for a deal made a moment after the request."""
    return SimConfig(
        users=(single_user(),), rate_limits=False, seed=11, start_ms=WEDNESDAY_1400_UTC
    )


BOT = Path(__file__).with_name("_crash_bot.py")


def _run_bot(sim: SimHandle, directory: Path, crash_at: str = "") -> subprocess.Popen[str]:
    env = {**os.environ, "CRASH_AT": crash_at, "LATE_APPLY_WINDOW": "0.5"}
    args = [sys.executable, str(BOT), sim.base_url, sim.api_key, sim.identifier, sim.password]
    return subprocess.Popen(
        [*args, str(directory)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def _finish(process: subprocess.Popen[str]) -> dict[str, object]:
    out, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    return dict(json.loads(out.strip().splitlines()[-1]))


def _positions(sim: SimHandle) -> list[str]:
    return [deal for account in sim.state.engine.accounts.values() for deal in account.positions]


def _wait_until(predicate: object, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def _assert_settled(sim: SimHandle, directory: Path) -> None:
    account = next(iter(sim.state.engine.accounts))
    journal = OrderJournal(directory)
    assert journal.pending(account) == []
    positions = _positions(sim)
    assert len(positions) == 1  # none duplicated
    assert set(positions) <= journal.owned_deal_ids(account)  # none lost from the journal


@pytest.mark.parametrize(
    ("crash_at", "verdict"),
    [("intent", "NOT_PLACED"), ("sent", "FOUND"), ("confirmed", None)],
)
def test_killed_at_a_step_then_restarted(
    sim: SimHandle, tmp_path: Path, crash_at: str, verdict: str | None
) -> None:
    killed = _run_bot(sim, tmp_path, crash_at)
    killed.communicate(timeout=30)
    assert killed.returncode == -9
    result = _finish(_run_bot(sim, tmp_path))
    assert result["settled"] == ([verdict] if verdict else [])
    assert result["opened"] is (verdict == "NOT_PLACED")
    _assert_settled(sim, tmp_path)


def test_killed_while_the_write_is_held_by_the_server(sim: SimHandle, tmp_path: Path) -> None:
    """Sent, no answer yet, process killed; the server drops the request unapplied."""
    fault = sim.state.faults.add({"method": "POST", "path": "/api/v1/positions", "kind": "timeout"})
    bot = _run_bot(sim, tmp_path)
    _wait_until(lambda: fault.hits >= 1)  # the order write is held in the server
    bot.kill()
    bot.communicate(timeout=30)
    account = next(iter(sim.state.engine.accounts))
    assert [e.status for e in OrderJournal(tmp_path).pending(account)] == ["intent"]
    result = _finish(_run_bot(sim, tmp_path))
    assert result["settled"] == ["NOT_PLACED"]
    assert result["opened"] is True
    _assert_settled(sim, tmp_path)


def test_killed_after_an_applied_write_lost_its_answer(sim: SimHandle, tmp_path: Path) -> None:
    """Applied by the server, the answer lost (OrderOutcomeUnknown recorded), then killed."""
    sim.state.faults.add({"method": "POST", "path": "/api/v1/positions", "kind": "apply_then_drop"})
    killed = _run_bot(sim, tmp_path, "unknown")
    killed.communicate(timeout=30)
    assert killed.returncode == -9
    account = next(iter(sim.state.engine.accounts))
    assert [e.status for e in OrderJournal(tmp_path).pending(account)] == ["unknown"]
    result = _finish(_run_bot(sim, tmp_path))
    assert result["settled"] == ["FOUND"]
    assert result["opened"] is False
    _assert_settled(sim, tmp_path)
