"""``capitalcom backtest``: a bot file against bars from a CSV file or fetched into a catalog."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.sdk.backtest._bars import write_bot, write_csv
from tests.sdk.cli.conftest import Cli

ARGV_BOT = """
    import sys
    from capitalcom_sdk import Client
    print("argv", sys.argv[1:])
    client = Client.from_env()
    client.positions.open("GOLD", "BUY", 1.0)
    while True:
        client.sleep(60)
"""


def test_backtest_writes_the_report_and_passes_the_bot_its_arguments(
    cli: Cli, tmp_path: Path
) -> None:
    data = write_csv(tmp_path / "GOLD.csv", 60)
    bot = write_bot(tmp_path, "bot.py", ARGV_BOT)
    out = tmp_path / "report"

    outcome = cli(
        "backtest",
        str(bot),
        "--epics",
        "GOLD",
        "--from",
        "2025-01-02T12:00",
        "--to",
        "2025-01-02T13:00",
        "--data",
        str(data),
        "--out",
        str(out),
        "--no-rate-limits",
        "--spread",
        "0",
        "--json",
        "--",
        "--fast",
        "3",
    )

    assert outcome.exit_code == 0, outcome.stderr
    summary = outcome.json
    assert summary["exit"] == "ok"
    assert (summary["bars"], summary["trades"]) == (60, 1)
    assert summary["end"] == "2025-01-02T13:00:00+00:00"
    assert "argv ['--fast', '3']" in (out / "bot.log").read_text()
    [trade] = json.loads((out / "trades.json").read_text())
    assert trade["close_reason"] == "END"
    # --spread 0: bid = offer, so the position opened at the bar's mid (the first open).
    assert trade["open_level"] == 2000.0
    assert {"report.html", "equity.csv", "stats.json"} <= {p.name for p in out.iterdir()}


def test_backtest_of_a_crashing_bot_exits_1_with_the_reason(cli: Cli, tmp_path: Path) -> None:
    data = write_csv(tmp_path / "GOLD.csv", 30)
    bot = write_bot(tmp_path, "bot.py", "raise RuntimeError('no strategy yet')\n")

    outcome = cli(
        "backtest",
        str(bot),
        "--epics",
        "GOLD",
        "--from",
        "2025-01-02T12:00",
        "--to",
        "2025-01-02T12:30",
        "--data",
        str(data),
        "--json",
    )

    assert outcome.exit_code == 1
    assert outcome.json["exit"] == "crashed"
    assert "RuntimeError: no strategy yet" in outcome.json["message"]


def test_backtest_with_fetch_caches_the_bars_in_a_catalog(cli: Cli, tmp_path: Path) -> None:
    bot = write_bot(tmp_path, "bot.py", ARGV_BOT)
    catalog = tmp_path / "catalog"
    args = (
        "backtest",
        str(bot),
        "--epics",
        "GOLD",
        "--from",
        "2025-01-02T12:00",
        "--to",
        "2025-01-02T12:45",
        "--data",
        str(catalog),
        "--no-rate-limits",
    )

    fetched = cli.json(*args, "--fetch")
    cached = cli.json(*args)  # from the catalog alone, no server needed

    assert fetched["exit"] == cached["exit"] == "ok"
    assert fetched["bars"] == cached["bars"] == 45
    assert fetched["finalBalance"] == cached["finalBalance"]
    assert (catalog / "_manifest.json").exists()


def test_backtest_without_bars_in_the_window_is_a_usage_error(cli: Cli, tmp_path: Path) -> None:
    data = write_csv(tmp_path / "GOLD.csv", 30)
    bot = write_bot(tmp_path, "bot.py", ARGV_BOT)

    outcome = cli(
        "backtest",
        str(bot),
        "--epics",
        "GOLD",
        "--from",
        "2024-01-01",
        "--to",
        "2024-01-02",
        "--data",
        str(data),
        "--json",
    )

    assert outcome.exit_code == 2
    assert "no MINUTE bars of GOLD" in outcome.error["message"]


@pytest.mark.parametrize(
    ("spread", "message"),
    [
        ("wide", "--spread: a number, 'recorded' or 'recorded-median', got 'wide'"),
        ("recorded-median", "spread='recorded-median': the data of GOLD has no close_bid"),
        ("recorded", "spread='recorded': the data of GOLD has no close_bid"),
    ],
)
def test_backtest_spread_forms_are_checked(
    cli: Cli, tmp_path: Path, spread: str, message: str
) -> None:
    data = write_csv(tmp_path / "GOLD.csv", 10)  # mid bars only: no recorded bid and ask
    bot = write_bot(tmp_path, "bot.py", "pass\n")
    outcome = cli(
        "backtest",
        str(bot),
        "--epics",
        "GOLD",
        "--from",
        "2025-01-02T12:00",
        "--to",
        "2025-01-02T12:10",
        "--data",
        str(data),
        "--spread",
        spread,
    )
    assert outcome.exit_code != 0
    assert message in outcome.stderr
