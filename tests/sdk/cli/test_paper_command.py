"""``capitalcom paper``: a bot file on a simulator fed by another simulator's quotes (the source
stands for the demo or live server; the command starts its own target simulator)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import SimHandle, handle_for, start_sim
from tests.sdk.backtest._bars import write_bot
from tests.sdk.cli.conftest import Cli
from tests.sdk.streaming.support import stream_config

EPIC = "BTCUSD"  # trades around the clock: the target simulator runs on today's wall clock

HOLDING_BOT = """
    import sys
    from pathlib import Path
    from capitalcom_sdk import Client

    print("argv", sys.argv[1:])
    client = Client.from_env()
    client.positions.open("BTCUSD", "BUY", 0.1)
    Path(sys.argv[1]).write_text("opened")
    while True:
        client.sleep(0.2)
"""


def _trading_requests(sim: SimHandle) -> int:
    requests: dict[str, int] = sim.state.stats.snapshot()["requests"]
    return sum(
        n
        for key, n in requests.items()
        if any(word in key for word in ("positions", "workingorders", "confirms"))
    )


def test_paper_runs_the_bot_for_the_duration_and_writes_the_report(
    cli: Cli, tmp_path: Path
) -> None:
    bot = write_bot(tmp_path, "bot.py", HOLDING_BOT)
    marker = tmp_path / "opened"
    out = tmp_path / "report"
    before = _trading_requests(cli.sim)

    outcome = cli(
        "paper",
        str(bot),
        "--prices",
        cli.sim.base_url,
        "--epics",
        EPIC,
        "--duration",
        "4",
        "--balance",
        "20000",
        "--out",
        str(out),
        "--json",
        "--",
        str(marker),
    )

    assert outcome.exit_code == 0, outcome.stderr
    summary = outcome.json
    assert summary["exit"] == "ok"
    assert summary["message"] == "stopped after the duration (4 s)"
    assert summary["trades"] == 1
    assert summary["initialBalance"] == 20000
    assert summary["quotes"] >= 1
    [trade] = json.loads((out / "trades.json").read_text())
    assert (trade["epic"], trade["close_reason"]) == (EPIC, "END")
    assert f"argv ['{marker}']" in (out / "bot.log").read_text()
    assert _trading_requests(cli.sim) == before  # the source only served quotes


@pytest.mark.parametrize(
    ("signum", "code", "name"),
    [(signal.SIGINT, 0, "Ctrl-C (SIGINT)"), (signal.SIGTERM, 143, "SIGTERM")],
    ids=["sigint", "sigterm"],
)
def test_a_signal_stops_the_bot_closes_its_position_and_writes_the_report(
    tmp_path: Path, signum: signal.Signals, code: int, name: str
) -> None:
    server = start_sim(stream_config())
    source = handle_for(server)
    bot = write_bot(tmp_path, "bot.py", HOLDING_BOT)
    marker = tmp_path / "opened"
    out = tmp_path / "report"
    env = {k: v for k, v in os.environ.items() if not k.startswith("CAPITAL")}
    env.update(
        CAPITAL_API_KEY=source.api_key,
        CAPITAL_IDENTIFIER=source.identifier,
        CAPITAL_PASSWORD=source.password,
        CAPITAL_SESSION_CACHE=str(tmp_path / "sessions.json"),
    )
    executable = str(Path(sys.executable).with_name("capitalcom"))
    argv = [executable, "paper", str(bot), "--prices", source.base_url, "--epics", EPIC]
    try:
        child = subprocess.Popen(
            [*argv, "--out", str(out), "--json", "--", str(marker)],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,  # its own process group, as a terminal's foreground job
        )
        try:
            deadline = time.monotonic() + 60
            while not marker.exists():
                assert child.poll() is None, child.communicate()
                assert time.monotonic() < deadline, "the bot never opened its position"
                time.sleep(0.05)
            os.killpg(child.pid, signum)  # as Ctrl-C in a terminal: the whole group
            stdout, stderr = child.communicate(timeout=60)
        finally:
            if child.poll() is None:
                child.kill()
                child.wait()
        assert child.returncode == code, stderr
        summary = json.loads(stdout)
        assert summary["exit"] == "ok"
        assert summary["message"] == f"stopped by {name}"
        [trade] = json.loads((out / "trades.json").read_text())
        assert trade["close_reason"] == "END"
        assert (out / "report.html").exists()
        assert _trading_requests(source) == 0
    finally:
        server.stop()


def test_an_unknown_prices_source_is_a_usage_error(cli: Cli, tmp_path: Path) -> None:
    bot = write_bot(tmp_path, "bot.py", HOLDING_BOT)

    outcome = cli("paper", str(bot), "--prices", "staging", "--epics", EPIC, "--json")

    assert outcome.exit_code == 2
    assert "--prices: demo, live or an http(s):// base URL" in outcome.error["message"]


def test_missing_credentials_stop_the_command_before_the_bot_starts(
    cli: Cli, tmp_path: Path
) -> None:
    bot = write_bot(tmp_path, "bot.py", HOLDING_BOT)
    marker = tmp_path / "opened"

    outcome = cli(
        "paper",
        str(bot),
        "--prices",
        "demo",
        "--epics",
        EPIC,
        "--json",
        "--",
        str(marker),
        env=cli.env(CAPITAL_API_KEY=None, CAPITAL_PASSWORD=None),
    )

    assert outcome.exit_code == 2
    assert "CAPITAL_API_KEY, CAPITAL_PASSWORD" in outcome.error["message"]
    assert not marker.exists()


def test_an_epic_the_simulator_lacks_is_a_usage_error(cli: Cli, tmp_path: Path) -> None:
    bot = write_bot(tmp_path, "bot.py", HOLDING_BOT)
    marker = tmp_path / "opened"

    outcome = cli(
        "paper",
        str(bot),
        "--prices",
        cli.sim.base_url,
        "--epics",
        f"{EPIC},NOPE",
        "--json",
        "--",
        str(marker),
    )

    assert outcome.exit_code == 2
    assert "the simulator has no market 'NOPE'" in outcome.error["message"]
    assert not marker.exists()
