"""docs/backtest.md's complete example runs as printed: the bot file, the Python run and the
command line, on 300 minute bars."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

from tests.sdk.backtest._bars import write_csv

ROOT = Path(__file__).resolve().parents[3]
PAGE = ROOT / "docs" / "backtest.md"
BLOCK = re.compile(r"<!-- example: (\S+) -->\n```python\n(.*?)```", re.DOTALL)
SHELL = re.compile(r"```\n(capitalcom backtest sma_bot\.py .*?)```", re.DOTALL)


def _examples() -> dict[str, str]:
    return dict(BLOCK.findall(PAGE.read_text(encoding="utf-8")))


def test_the_page_is_in_the_site_navigation() -> None:
    assert "backtest.md" in (ROOT / "mkdocs.yml").read_text(encoding="utf-8")


def test_the_complete_example_runs_as_printed(tmp_path: Path) -> None:
    examples = _examples()
    assert set(examples) == {"sma_bot.py", "run_backtest.py"}
    for name, code in examples.items():
        (tmp_path / name).write_text(code)
    write_csv(tmp_path / "GOLD.csv", 300)

    done = subprocess.run(
        [sys.executable, "run_backtest.py"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert done.returncode == 0, done.stderr[-3000:]
    first, second = done.stdout.splitlines()[:2]
    assert re.fullmatch(r"ok 280 bars, \d+ trades", first), first
    assert int(first.split()[3]) >= 2
    assert second.startswith("final balance ")
    assert second.endswith(" USD")
    trades = (tmp_path / "report" / "trades.csv").read_text().splitlines()
    assert trades[-1].endswith(",END")
    assert " BUY" in (tmp_path / "report" / "bot.log").read_text()


def test_the_command_line_of_the_example_runs(tmp_path: Path) -> None:
    (tmp_path / "sma_bot.py").write_text(_examples()["sma_bot.py"])
    write_csv(tmp_path / "GOLD.csv", 300)
    [command] = SHELL.findall(PAGE.read_text(encoding="utf-8"))
    argv = shlex.split(command.replace("\\\n", " "))
    assert argv[0] == "capitalcom"
    executable = Path(sys.executable).with_name("capitalcom")

    done = subprocess.run(
        [str(executable), *argv[1:]], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )

    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
    assert done.stdout.startswith("ok: 280 bars, ")
    assert (tmp_path / "report" / "report.html").exists()
