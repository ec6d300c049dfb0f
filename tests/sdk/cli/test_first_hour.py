"""What a new user meets first: help texts, numbers, error messages, whole lines in pipes,
SIGTERM on a stream, the id to close a position with, entry points without their extra."""

from __future__ import annotations

import csv
import json
import os
import re
import signal
import subprocess
import sys
import time
import tomllib
from decimal import Decimal
from pathlib import Path

import pytest

from capitalcom_sdk.cli._exit import ExitCode
from tests.conftest import SimHandle
from tests.sdk.cli.conftest import Cli

ROOT = Path(__file__).resolve().parents[3]
CAPITALCOM = [
    sys.executable,
    "-c",
    "import sys; from capitalcom_sdk.cli import main; sys.exit(main())",
]
PRICE = re.compile(r"^-?[\d,]+\.(\d+)$")

# Every group and command with its own --help.
HELP_PAGES = [
    (),
    ("positions", "open"),
    ("positions", "update"),
    ("orders", "create"),
    ("orders", "update"),
    ("prices", "show"),
    ("prices", "export"),
    ("markets", "show"),
    ("stream", "quotes"),
    ("session", "switch"),
    ("accounts", "set-preferences"),
    ("history", "activity"),
]


def _help(cli: Cli, *command: str) -> str:
    outcome = cli(*command, "--help")
    assert outcome.exit_code == 0, outcome.stderr
    return outcome.stdout


@pytest.mark.parametrize("command", HELP_PAGES, ids=lambda c: " ".join(c) or "capitalcom")
def test_help_shows_no_value_placeholders_on_flags_nor_braces(
    cli: Cli, command: tuple[str]
) -> None:
    text = _help(cli, *command)
    assert "<bool>" not in text
    assert "{" not in text
    assert "}" not in text
    usage = next(line for line in text.splitlines() if "Usage:" in line)
    arguments = usage.split("[OPTIONS]", 1)[1]
    assert not re.search(r"[a-z]", arguments), usage  # EPIC, [NODE_ID], as docs/cli.md


def test_verbose_shows_no_int_and_resolutions_are_upper_case(cli: Cli) -> None:
    root = _help(cli)
    verbose = next(line for line in root.splitlines() if "--verbose" in line)
    assert "<int>" not in verbose
    assert "[default: 0]" not in root
    prices = _help(cli, "prices", "show")
    assert "HOUR" in prices
    assert "MINUTE_5" in prices
    assert "hour" not in prices.replace("HOUR", "")
    opened = _help(cli, "positions", "open")
    assert "BUY|SELL" in opened
    assert "EPIC DIRECTION SIZE" in opened


def test_the_stop_and_profit_options_are_the_same_on_every_trading_command(cli: Cli) -> None:
    eight = {
        "--stop-level",
        "--stop-distance",
        "--stop-amount",
        "--profit-level",
        "--profit-distance",
        "--profit-amount",
        "--guaranteed-stop",
        "--trailing-stop",
    }
    for command in (("positions", "open"), ("positions", "update"), ("orders", "create")):
        found = set(re.findall(r"--[a-z-]+", _help(cli, *command))) & {*eight, "--no-wait"}
        assert found == {*eight, "--no-wait"}, command


def _decimals(cell: str) -> int:
    match = PRICE.match(cell)
    assert match, cell
    return len(match.group(1))


def test_prices_show_prints_every_price_at_the_instrument_decimals(cli: Cli) -> None:
    for epic, places in (("GOLD", 2), ("EURUSD", 5)):
        outcome = cli("prices", "show", epic, "-r", "MINUTE", "--max", "30")
        assert outcome.exit_code == 0, outcome.stderr
        rows = [
            line.split() for line in outcome.stdout.splitlines() if re.match(r"\s+20\d\d-", line)
        ]
        assert len(rows) == 30
        for row in rows:
            prices, volume = row[2:8], row[8]
            assert {_decimals(cell) for cell in prices} == {places}, row
            assert re.fullmatch(r"[\d,]+", volume), row  # whole lots, no .0


def test_markets_show_uses_the_markets_decimal_places(cli: Cli) -> None:
    outcome = cli("markets", "show", "EURUSD")
    assert outcome.exit_code == 0, outcome.stderr
    details = cli.json("markets", "show", "EURUSD")
    places = details["snapshot"]["decimalPlacesFactor"]
    for label in ("bid", "offer", "high", "low"):
        line = next(ln for ln in outcome.stdout.splitlines() if ln.split()[:1] == [label])
        assert _decimals(line.split()[1]) == places, line
    assert "10000000.0" not in outcome.stdout


def test_stream_quotes_table_shows_spread_and_change_without_exponents(cli: Cli) -> None:
    engine = cli.sim.state.engine
    now = cli.sim.state.clock.now_ms()
    engine.set_path("EURUSD", [(now, 1.05), (now + 120_000, 1.10)])
    try:
        outcome = cli("stream", "quotes", "EURUSD", "--count", "3", "--duration", "20")
    finally:
        engine.release("EURUSD")
    assert outcome.exit_code == 0, outcome.stderr
    row = next(line.split() for line in outcome.stdout.splitlines() if "EURUSD" in line)
    bid, offer, spread, change = row[1:5]
    assert "e-" not in outcome.stdout
    assert {_decimals(bid), _decimals(offer), _decimals(spread), _decimals(change)} == {5}


def test_csv_mids_are_the_exact_half_sums(cli: Cli, tmp_path: Path) -> None:
    target = tmp_path / "bars.csv"
    outcome = cli("prices", "export", "GOLD", "-r", "MINUTE", "--from", "1d", "--csv", str(target))
    assert outcome.exit_code == 0, outcome.stderr
    with target.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) > 100
    for row in rows:
        for side in ("open", "high", "low", "close"):
            exact = (Decimal(row[f"{side}_bid"]) + Decimal(row[f"{side}_ask"])) / 2
            assert Decimal(row[f"{side}_mid"]) == exact, row


def test_positions_open_prints_the_id_to_close_with(cli: Cli) -> None:
    opened = cli.json("positions", "open", "GOLD", "BUY", "1")
    position_id = next(d["dealId"] for d in opened["affectedDeals"] if d["status"] == "OPENED")
    assert opened["dealId"] == position_id
    assert opened["orderDealId"] != position_id
    closed = cli.json("positions", "close", opened["dealId"])
    assert closed["dealStatus"] == "ACCEPTED"

    text = cli("positions", "open", "GOLD", "BUY", "1")
    assert text.exit_code == 0, text.stderr
    printed = re.search(r"deal id\s+(\S+)", text.stdout)
    assert printed is not None, text.stdout
    listed = [p["position"]["dealId"] for p in cli.json("positions", "list")["positions"]]
    assert printed.group(1) in listed
    assert cli("positions", "close", printed.group(1)).exit_code == 0


def test_piped_output_keeps_long_lines_whole(cli: Cli, tmp_path: Path) -> None:
    folder = tmp_path / ("a-folder-with-a-long-name-" * 4)
    folder.mkdir()
    target = folder / "positions.csv"
    outcome = cli("positions", "list", "--csv", str(target), env=cli.env(COLUMNS=None))
    assert outcome.exit_code == 0, outcome.stderr
    assert len(str(target)) > 120
    assert str(target) in outcome.stderr.replace("\n", "")
    assert str(target) in outcome.stderr


def test_wrong_password_says_which_password_is_meant(cli: Cli) -> None:
    outcome = cli("--no-session-cache", "session", "login", env=cli.env(CAPITAL_PASSWORD="nope"))
    assert outcome.exit_code == ExitCode.AUTH
    assert "API key" in outcome.stderr
    assert "not your platform password" in outcome.stderr
    assert "nope" not in outcome.stderr


def test_lower_case_epic_gets_the_upper_case_hint(cli: Cli) -> None:
    outcome = cli("markets", "show", "gold")
    assert outcome.exit_code == ExitCode.NOT_FOUND
    assert "did you mean GOLD?" in outcome.stderr


def test_connection_failure_names_the_url(cli: Cli) -> None:
    outcome = cli(
        "--no-session-cache",
        "markets",
        "show",
        "GOLD",
        env=cli.env(CAPITAL_BASE_URL="http://127.0.0.1:9"),
    )
    assert outcome.exit_code == ExitCode.NETWORK
    assert "http://127.0.0.1:9/api/v1/session" in outcome.stderr


def _child_env(sim: SimHandle, tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CAPITAL_")}
    env.update(
        CAPITAL_API_KEY=sim.api_key,
        CAPITAL_IDENTIFIER=sim.identifier,
        CAPITAL_PASSWORD=sim.password,
        CAPITAL_BASE_URL=sim.base_url,
        CAPITAL_SESSION_CACHE=str(tmp_path / "sessions.json"),
    )
    return env


def test_a_refused_subscription_is_printed_once(sim: SimHandle, tmp_path: Path) -> None:
    # A process of its own: in-process, pytest's log capture would swallow a stray SDK warning
    # that logging's last-resort handler prints on a real stderr.
    done = subprocess.run(
        [*CAPITALCOM, "stream", "quotes", "NO_SUCH_EPIC", "--duration", "5"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=_child_env(sim, tmp_path),
        timeout=60,
    )
    assert done.returncode == ExitCode.REJECTED, done.stderr
    assert done.stderr.count("NO_SUCH_EPIC") == 1, done.stderr


def test_sigterm_on_stream_quotes_prints_the_summary_and_exits_143(
    sim: SimHandle, tmp_path: Path
) -> None:
    engine = sim.state.engine
    now = sim.state.clock.now_ms()
    engine.set_path("GOLD", [(now, 2300.0), (now + 600_000, 2400.0)])
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; from capitalcom_sdk.cli import main; sys.exit(main())",
            "stream",
            "quotes",
            "GOLD",
            "--json",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
        env=_child_env(sim, tmp_path),
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()  # a quote arrived: the stream is running
        assert json.loads(first)["epic"] == "GOLD"
        proc.send_signal(signal.SIGTERM)
        stdout, stderr = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
        engine.release("GOLD")
    assert proc.returncode == ExitCode.TERMINATED == 143, stderr
    assert "Traceback" not in stderr
    # --json: the summary is the NDJSON stream itself, every line whole
    for line in stdout.splitlines():
        json.loads(line)


def test_sigterm_in_text_mode_prints_how_many_quotes_arrived(
    sim: SimHandle, tmp_path: Path
) -> None:
    engine = sim.state.engine
    now = sim.state.clock.now_ms()
    engine.set_path("GOLD", [(now, 2300.0), (now + 600_000, 2400.0)])
    marker = tmp_path / "started"
    code = (
        "import sys, pathlib\n"
        "from capitalcom_sdk.streaming import Stream\n"
        "get = Stream.get\n"
        "def spy(self, *a, **k):\n"
        f"    pathlib.Path({str(marker)!r}).touch()\n"
        "    return get(self, *a, **k)\n"
        "Stream.get = spy\n"
        "from capitalcom_sdk.cli import main\n"
        "sys.exit(main())\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code, "stream", "quotes", "GOLD"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
        env=_child_env(sim, tmp_path),
    )
    try:
        deadline = time.monotonic() + 30
        while not marker.exists():  # the command is in its streaming loop
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline
            time.sleep(0.05)
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
        engine.release("GOLD")
    assert proc.returncode == 143, stderr
    assert re.search(r"\d+ quotes received", stderr), stderr


def _entry_points() -> dict[str, str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    scripts: dict[str, str] = project["project"]["scripts"]
    return scripts


@pytest.mark.parametrize(
    ("script", "hidden", "extra"),
    [
        ("capitalcom", ("typer",), "cli"),
        ("capitalcom", ("rich",), "cli"),
        ("capitalcom-sim", ("starlette",), "sim"),
        ("capitalcom-sim", ("uvicorn", "starlette"), "sim"),
    ],
)
def test_entry_points_without_their_extra_say_what_to_install(
    tmp_path: Path, script: str, hidden: tuple[str, ...], extra: str
) -> None:
    """Run the console script as pip's wrapper does, with the extra's modules unimportable."""
    (tmp_path / "sitecustomize.py").write_text(
        "import sys\n" + "".join(f"sys.modules[{name!r}] = None\n" for name in hidden),
        encoding="utf-8",
    )
    module, _, function = _entry_points()[script].partition(":")
    wrapper = f"import sys\nfrom {module} import {function}\nsys.exit({function}())\n"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), *sys.path])}
    done = subprocess.run(
        [sys.executable, "-c", wrapper, "--help"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=60,
    )
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert f"pip install 'capitalcom-sdk[{extra}]'" in done.stderr
    assert "Traceback" not in done.stderr
    assert hidden[0] in done.stderr
