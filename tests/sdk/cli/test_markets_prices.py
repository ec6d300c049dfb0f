"""``capitalcom markets ...`` and ``capitalcom prices ...`` against the simulator."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pandas as pd
from PIL import Image

from capitalcom_sdk.data import read_csv, read_parquet
from tests.sdk.cli.conftest import Cli


def test_markets_search_finds_gold(cli: Cli) -> None:
    document = cli.json("markets", "search", "gold")
    epics = [m["epic"] for m in document["markets"]]
    assert "GOLD" in epics
    outcome = cli("markets", "search", "gold")
    assert outcome.exit_code == 0
    assert "GOLD" in outcome.stdout


def test_markets_search_exports_csv(cli: Cli) -> None:
    path = cli.workdir / "markets.csv"
    cli.json("markets", "search", "gold", "--csv", str(path))
    with path.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert "GOLD" in [r["epic"] for r in rows]


def test_markets_show_gives_instrument_rules_and_snapshot(cli: Cli) -> None:
    document = cli.json("markets", "show", "GOLD")
    assert document["instrument"]["epic"] == "GOLD"
    assert document["snapshot"]["bid"] < document["snapshot"]["offer"]
    assert "minDealSize" in document["dealingRules"]
    assert cli("markets", "show", "GOLD").exit_code == 0


def test_markets_show_unknown_epic_exits_4(cli: Cli) -> None:
    outcome = cli("markets", "show", "NO_SUCH_EPIC", "--json")
    assert outcome.exit_code == 4
    assert outcome.error["errorCode"] == "error.not-found.epic"


def test_markets_navigate_top_level_then_a_leaf(cli: Cli) -> None:
    top = cli.json("markets", "navigate")
    assert top["nodes"]
    leaf = None
    queue = [n["id"] for n in top["nodes"]]
    while queue and leaf is None:
        node = cli.json("markets", "navigate", queue.pop(0), "--limit", "5")
        if node.get("markets"):
            leaf = node
        else:
            queue[:0] = [n["id"] for n in node["nodes"]]
    assert leaf is not None
    assert 0 < len(leaf["markets"]) <= 5


def test_markets_sentiment_adds_up_to_100(cli: Cli) -> None:
    document = cli.json("markets", "sentiment", "GOLD", "EURUSD")
    for item in document["clientSentiments"]:
        assert abs(item["longPositionPercentage"] + item["shortPositionPercentage"] - 100) < 0.01


def test_prices_show_latest_bars(cli: Cli) -> None:
    document = cli.json("prices", "show", "GOLD", "-r", "MINUTE", "--max", "5")
    assert len(document["prices"]) == 5
    times = [b["snapshotTimeUTC"] for b in document["prices"]]
    assert times == sorted(times)
    outcome = cli("prices", "show", "GOLD", "--max", "3")
    assert outcome.exit_code == 0
    assert "GOLD HOUR" in outcome.stdout


def test_prices_show_a_range_over_several_pages(cli: Cli) -> None:
    document = cli.json("prices", "show", "EURUSD", "-r", "MINUTE", "--from", "2000m")
    assert 1900 <= len(document["prices"]) <= 2001
    times = [b["snapshotTimeUTC"] for b in document["prices"]]
    assert times == sorted(set(times))


def test_prices_export_csv_and_parquet_round_trip(cli: Cli) -> None:
    csv_path, parquet_path = cli.workdir / "gold.csv", cli.workdir / "gold.parquet"
    summary = cli.json(
        "prices",
        "export",
        "GOLD",
        "-r",
        "HOUR",
        "--from",
        "3d",
        "--csv",
        str(csv_path),
        "--parquet",
        str(parquet_path),
    )
    assert summary["bars"] > 0
    assert summary["files"] == {"csv": str(csv_path), "parquet": str(parquet_path)}
    from_csv = read_csv(csv_path, "prices")
    assert len(from_csv) == summary["bars"]
    assert str(from_csv.index.dtype) == "datetime64[ns, UTC]"
    pd.testing.assert_frame_equal(from_csv, read_parquet(parquet_path))
    plain = pd.read_csv(csv_path, index_col="time", parse_dates=["time"])
    assert plain.index.is_monotonic_increasing
    assert (plain["high_bid"] >= plain["low_bid"]).all()


def test_prices_export_needs_a_file(cli: Cli) -> None:
    outcome = cli("prices", "export", "GOLD", "--json")
    assert outcome.exit_code == 5
    assert outcome.error["field"] == "csv"


def test_prices_chart_writes_a_png_of_the_requested_size(cli: Cli) -> None:
    path = cli.workdir / "gold.png"
    summary = cli.json(
        "prices",
        "chart",
        "GOLD",
        "--out",
        str(path),
        "-r",
        "HOUR",
        "--from",
        "5d",
        "--width",
        "800",
        "--height",
        "500",
    )
    assert summary["bars"] > 0
    with Image.open(path) as image:
        assert image.format == "PNG"
        assert image.size == (800, 500)


def test_prices_bad_range_is_rejected_before_sending(cli: Cli) -> None:
    outcome = cli("prices", "show", "GOLD", "--from", "yesterday", "--json")
    assert outcome.exit_code == 5
    assert outcome.error["field"] == "from"


def test_prices_unknown_epic_exits_4(cli: Cli, tmp_path: Path) -> None:
    outcome = cli("prices", "show", "NO_SUCH_EPIC", "--json")
    assert outcome.exit_code == 4


def test_prices_export_shows_a_progress_bar_on_a_terminal(cli: Cli) -> None:
    path = cli.workdir / "eurusd.csv"
    env = cli.env(FORCE_COLOR="1", TTY_INTERACTIVE="1")
    outcome = cli(
        "prices",
        "export",
        "EURUSD",
        "-r",
        "MINUTE",
        "--from",
        "2500m",
        "--csv",
        str(path),
        env=env,
    )
    assert outcome.exit_code == 0, outcome.stderr
    assert "EURUSD MINUTE" in outcome.stderr
    assert re.search(r"3/3\S* requests", outcome.stderr), outcome.stderr[-500:]
