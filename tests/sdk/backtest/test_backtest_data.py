"""Where a backtest's bars come from: the SDK's export columns, Parquet, folders, mappings; and
the bar CSV the simulator is given (gaps held flat)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from capitalcom_sdk import Client
from capitalcom_sdk.backtest import Backtest, Trade
from capitalcom_sdk.backtest._data import Bar, bars_csv, load_history
from capitalcom_sdk.errors import ConfigurationError
from tests.sdk.backtest._bars import START, START_MS, gold_bars, write_csv

END = START + timedelta(hours=1)
SIDES = ("open", "high", "low", "close")


def _export_rows(n: int) -> list[dict[str, object]]:
    """Rows as PriceHistory.to_csv() writes them: bid and ask sides, no mid columns."""
    rows = []
    for t, o, h, low, c, v in gold_bars(n):
        row: dict[str, object] = {"time": datetime.fromtimestamp(t / 1000, UTC).isoformat()}
        for name, mid in zip(SIDES, (o, h, low, c), strict=True):
            row[f"{name}_bid"] = round(mid - 0.25, 2)
            row[f"{name}_ask"] = round(mid + 0.25, 2)
        row["volume"] = v
        rows.append(row)
    return rows


def test_bid_and_ask_columns_give_the_mid(tmp_path: Path) -> None:
    path = tmp_path / "GOLD.csv"
    rows = _export_rows(5)
    header = list(rows[0])
    path.write_text(
        ",".join(header) + "\n" + "\n".join(",".join(str(r[k]) for k in header) for r in rows)
    )

    [bars] = load_history(path, ["GOLD"], "MINUTE", START, END).values()

    expected = gold_bars(5)
    assert [b.time_ms for b in bars] == [row[0] for row in expected]
    assert [b.close for b in bars] == pytest.approx([row[4] for row in expected])
    assert [b.volume for b in bars] == [row[5] for row in expected]


def test_parquet_files_in_a_folder_one_per_epic(tmp_path: Path) -> None:
    for epic in ("GOLD", "SILVER"):
        table = pa.Table.from_pylist(
            [
                {"time": t, "open_mid": o, "high_mid": h, "low_mid": low, "close_mid": c}
                for t, o, h, low, c, _ in gold_bars(10)
            ]
        )
        pq.write_table(table, tmp_path / f"{epic}.parquet")

    history = load_history(tmp_path, ["GOLD", "SILVER"], "MINUTE", START, END)

    assert {epic: len(bars) for epic, bars in history.items()} == {"GOLD": 10, "SILVER": 10}
    assert history["SILVER"][0].volume is None


def test_a_mapping_names_each_epics_file_and_the_window_is_applied(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "gold-minutes.csv", 120)

    [bars] = load_history(
        {"GOLD": path}, ["GOLD"], "MINUTE", START + timedelta(minutes=30), END
    ).values()

    assert (bars[0].time_ms, len(bars)) == (START_MS + 30 * 60_000, 30)
    with pytest.raises(ConfigurationError, match="no file for SILVER"):
        load_history({"GOLD": path}, ["GOLD", "SILVER"], "MINUTE", START, END)


def test_a_gap_is_held_flat_at_the_last_close() -> None:
    bars = [Bar(0, 10.0, 11.0, 9.0, 10.5, 5), Bar(180_000, 10.5, 10.6, 10.4, 10.6, None)]

    text = bars_csv(bars, 60_000)

    assert text.splitlines() == [
        "time,open,high,low,close,volume",
        "0,10.0,11.0,9.0,10.5,5",
        "60000,10.5,10.5,10.5,10.5,0",  # the missing minutes 1 and 2
        "180000,10.5,10.6,10.4,10.6,",
        "240000,10.6,10.6,10.6,10.6,0",  # so the last bar lasts one minute
    ]


def test_bad_data_is_a_configuration_error(tmp_path: Path) -> None:
    bad = tmp_path / "GOLD.csv"
    bad.write_text("time,open,high,low,close\n2025-01-02T12:00,10,9,11,10\n")
    with pytest.raises(ConfigurationError, match="not a valid bar"):
        load_history(bad, ["GOLD"], "MINUTE", START, END)
    with pytest.raises(ConfigurationError, match="does not exist"):
        load_history(tmp_path / "none.csv", ["GOLD"], "MINUTE", START, END)
    with pytest.raises(ConfigurationError, match=r"no SILVER\.csv"):
        load_history(tmp_path, ["SILVER"], "MINUTE", START, END)


def test_an_epic_the_simulator_does_not_know_is_a_configuration_error(tmp_path: Path) -> None:
    write_csv(tmp_path / "NOSUCHEPIC.csv", 10)
    runner = Backtest("NOSUCHEPIC", "MINUTE", START, END, data=tmp_path)
    with pytest.raises(ConfigurationError, match="no market 'NOSUCHEPIC'"):
        runner.run(lambda client: None)


def _quoted_spread(runner: Backtest) -> list[float]:
    seen: list[float] = []

    def bot(client: Client) -> None:
        snapshot = client.markets.get("GOLD").snapshot
        seen.append(round(snapshot.offer - snapshot.bid, 2))

    result = runner.run(bot)
    assert result.exit == "ok", result.message
    return seen


def test_the_spread_can_be_set_or_taken_from_the_recorded_bid_and_ask(tmp_path: Path) -> None:
    path = tmp_path / "GOLD.csv"
    rows = _export_rows(30)
    header = list(rows[0])
    path.write_text(
        ",".join(header) + "\n" + "\n".join(",".join(str(r[k]) for k in header) for r in rows)
    )

    def runner(spread: object) -> Backtest:
        return Backtest(
            "GOLD", "MINUTE", START, START + timedelta(minutes=30), data=path, spread=spread
        )

    assert _quoted_spread(runner(0.0)) == [0.0]
    assert _quoted_spread(runner({"GOLD": 1.5})) == [1.5]
    assert _quoted_spread(runner("recorded")) == [0.5]  # GOLD's own is 0.3
    assert _quoted_spread(runner("recorded-median")) == [0.5]
    with pytest.raises(ConfigurationError, match="spread must be"):
        runner("wide")


def _varying_spread_rows(n: int, wide: range) -> list[dict[str, object]]:
    """Export rows whose recorded spread is 0.2, and 3.0 on the bars of ``wide``."""
    rows = []
    for i, (t, o, h, low, c, v) in enumerate(gold_bars(n)):
        half = 1.5 if i in wide else 0.1
        row: dict[str, object] = {"time": datetime.fromtimestamp(t / 1000, UTC).isoformat()}
        for name, mid in zip(SIDES, (o, h, low, c), strict=True):
            row[f"{name}_bid"] = round(mid - half, 2)
            row[f"{name}_ask"] = round(mid + half, 2)
        row["volume"] = v
        rows.append(row)
    return rows


def test_recorded_spreads_are_paid_bar_by_bar_and_the_median_once(tmp_path: Path) -> None:
    path = tmp_path / "GOLD.csv"
    rows = _varying_spread_rows(30, wide=range(5, 10))
    header = list(rows[0])
    path.write_text(
        ",".join(header) + "\n" + "\n".join(",".join(str(r[k]) for k in header) for r in rows)
    )

    def run(spread: str) -> tuple[list[float], Trade]:
        quoted: list[float] = []

        def bot(client: Client) -> None:
            for minute in range(20):
                snapshot = client.markets.get("GOLD").snapshot
                quoted.append(round(snapshot.offer - snapshot.bid, 2))
                if minute == 7:  # a wide bar
                    client.positions.open("GOLD", "BUY", 1.0)
                if minute == 15:  # a narrow one
                    for position in client.positions.list().positions:
                        client.positions.close(position.position.deal_id)
                client.sleep(60)

        result = Backtest(
            "GOLD", "MINUTE", START, START + timedelta(minutes=30), data=path, spread=spread
        ).run(bot)
        assert result.exit == "ok", result.message
        [trade] = result.trades
        return quoted, trade

    per_bar, trade = run("recorded")
    median, trade_median = run("recorded-median")
    # Minute m of the run quotes bar m's recorded spread (the bar in force: the previous close's
    # row starts it), the median form 0.2 throughout.
    assert per_bar == [3.0 if m in range(5, 10) else 0.2 for m in range(20)]
    assert median == [0.2] * 20
    # Bought at the wide offer, sold at the narrow bid: 1.4 more paid on the way in.
    assert trade.open_level == pytest.approx(trade_median.open_level + 1.4, abs=0.005)
    assert trade.close_level == pytest.approx(trade_median.close_level, abs=0.005)
    assert trade.pnl == pytest.approx(trade_median.pnl - 1.4, abs=0.005)
    assert trade.pnl < trade_median.pnl
