"""The README is true: its sample output is what ``make demo`` prints now, and every command it
tells a user to type works as typed (in the README's order, in one shell, as a reader would).

The set-up commands themselves (``make demo``, ``make test``) are what CI runs, so they are not
run again here. A block holding ``...`` placeholders is a template for the reader's own
credentials: the test puts the simulator's in their place (the reader's demo account is a real
server, which no test may contact). The simulator's port 8765 is swapped for a free one (the
machine is shared), and the test waits for a server started with ``&`` to listen before the
next line, as a person would see its banner first.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
from pathlib import Path

import pytest

from tools import readme_demo

REPO = Path(__file__).resolve().parents[2]
README = REPO / "README.md"
FENCE = re.compile(r"^```(\w*)\n(.*?)^```$", re.MULTILINE | re.DOTALL)
SETUP = ("make demo", "make test")
SIM_CREDENTIALS = (
    "CAPITAL_API_KEY=sim-api-key CAPITAL_IDENTIFIER=trader@example.com "
    "CAPITAL_PASSWORD=sim-password"
)


def blocks() -> list[tuple[str, str]]:
    """``(language, text)`` of every fenced block of the README, in order."""
    return [(m[1], m[2]) for m in FENCE.finditer(README.read_text(encoding="utf-8"))]


def runnable() -> list[tuple[str, str]]:
    """The sh and python blocks a reader types (set-up commands left out), in order."""
    chosen = []
    for language, text in blocks():
        if language not in ("sh", "python"):
            continue
        if "..." in text:
            if language == "sh" and text.startswith("export CAPITAL_"):
                chosen.append(("template", text))  # the reader's credentials go here
            continue
        if language == "sh" and any(line.startswith(SETUP) for line in text.splitlines()):
            continue
        chosen.append((language, text))
    return chosen


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def script(port: int) -> str:
    """One bash script of the runnable blocks; python blocks run with ``.venv/bin/python``."""
    lines = ["set -eo pipefail"]
    wait = (
        f"until (exec 3<>/dev/tcp/127.0.0.1/{port}) 2>/dev/null; do "
        "kill -0 $! || exit 97; sleep 0.05; done"
    )
    for language, text in runnable():
        text = text.replace("8765", str(port))
        if language == "template":
            lines.append(f"export CAPITAL_BASE_URL=http://127.0.0.1:{port} {SIM_CREDENTIALS}")
            continue
        if language == "python":
            lines += [".venv/bin/python - <<'README_PYTHON'", text.rstrip("\n"), "README_PYTHON"]
            continue
        for line in text.splitlines():
            lines.append(line)
            command = line.split("  #", 1)[0].rstrip()
            if command.endswith("&"):
                lines.append(wait)
    lines.append("echo README-COMMANDS-DONE")
    # The README leaves the quick start's simulator running for the reader; the test stops it
    # (it holds the output pipe open).
    lines.append("jobs -p | xargs -r kill; wait")
    return "\n".join(lines) + "\n"


def test_readme_lists_the_commands_a_reader_types() -> None:
    chosen = runnable()
    text = "\n".join(t for _, t in chosen)
    assert [lang for lang, _ in chosen].count("template") == 1
    assert len([lang for lang, _ in chosen if lang == "python"]) >= 2
    for expected in ("source .venv/bin/activate", "capitalcom-sim", "examples/ma_crossover.py"):
        assert expected in text


@pytest.mark.slow
def test_every_readme_command_works_as_typed(tmp_path: Path) -> None:
    # A reader's checkout: the virtualenv and the examples where the README says they are.
    for name in (".venv", "examples"):
        (tmp_path / name).symlink_to(REPO / name)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CAPITAL_", "VIRTUAL_ENV"))}
    env["PATH"] = os.pathsep.join(
        p for p in env.get("PATH", "").split(os.pathsep) if not p.startswith(str(REPO))
    )
    env["COLUMNS"] = "120"
    process = subprocess.Popen(
        ["bash", "-c", script(free_port())],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        output, _ = process.communicate(timeout=240)
    finally:
        # Whatever the script left running (a background simulator) goes with its group.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
    assert process.returncode == 0, output[-5000:]
    assert "README-COMMANDS-DONE" in output
    for landmark in (
        "capitalcom-sim listening on http://127.0.0.1:",  # the simulator's banner
        "GOLD",  # markets search
        "ACCEPTED",  # positions open
        '"positions"',  # --json positions list
        "done: 20 iterations",  # the crossover bot
        "ok: 1,440 bars, 120 trades, balance 10,000.00 -> 9,987.58 USD in ",  # its backtest
        "OK",  # the quick start's ping
    ):
        assert landmark in output, landmark
    csv_lines = (tmp_path / "gold.csv").read_text().splitlines()
    assert len(csv_lines) > 300  # 30 days of hourly bars and a header
    assert (tmp_path / "gold.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # the README's report image is what this very command draws (the chart is deterministic)
    drawn = (tmp_path / "backtest-report" / "equity.png").read_bytes()
    assert drawn == (REPO / "docs" / "images" / "backtest-report.png").read_bytes()


@pytest.mark.slow
def test_readme_sample_output_is_what_make_demo_prints_now() -> None:
    shown = readme_demo.current(README.read_text(encoding="utf-8"))
    assert shown, "the README's demo-output block is empty: python -m tools.readme_demo --write"
    fresh = readme_demo.run_demo()
    assert readme_demo.normalise(shown) == readme_demo.normalise(fresh), (
        "README's sample output is out of date: .venv/bin/python -m tools.readme_demo --write "
        "README.md\n" + fresh
    )


def test_sample_output_comparison_ignores_only_what_varies() -> None:
    one = "│ GOLD │ 2325.64 │ deal 4e521443-df9d-4e17-9f6b-0e085d933739 ━━━━━━━━\n"
    other = "│ GOLD   │ 12.5 │ deal\n0a521443-df9d-4e17-9f6b-0e085d933700 ━━━\n"
    assert readme_demo.normalise(one) == readme_demo.normalise(other)
    assert readme_demo.normalise(one) != readme_demo.normalise(one.replace("GOLD", "SILVER"))
    assert readme_demo.normalise("a ┃ b") != readme_demo.normalise("a b")
