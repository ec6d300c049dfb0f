"""The backtest report: figures against hand-computed values, byte-stable files, a page a
real browser opens."""

from __future__ import annotations

import csv
import io
import itertools
import json
import math
import os
import statistics
import struct
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from PIL import Image

from capitalcom_sdk.backtest import BacktestResult, EquityPoint, Trade, report
from capitalcom_sdk.data._optional import MissingDependencyError
from tests.docs._browser import chromium_path, open_page

T0 = datetime(2025, 1, 1, tzinfo=UTC)


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def trade(
    epic: str,
    opened: float,
    closed: float,
    pnl: float,
    *,
    fees: float = 0.0,
    funding: float = 0.0,
    direction: str = "BUY",
    deal_id: str | None = None,
) -> Trade:
    return Trade(
        epic=epic,
        direction=direction,  # type: ignore[arg-type]
        size=1.0,
        deal_id=deal_id or f"{epic}-{opened:g}",
        opened_at=at(opened),
        open_level=100.0,
        closed_at=at(closed),
        close_level=100.0 + pnl,
        pnl=pnl,
        fees=fees,
        funding=funding,
        close_reason="CLOSED",
    )


# Four days, two epics, three trades. GOLD wins 200 then 299.25 net (funding -0.75); EURUSD
# loses 504 net (pnl -500, fees 2.50, funding -1.50) and overlaps GOLD's first trade by 2 h.
TRADES = (
    trade("GOLD", 10, 20, 200.0),
    trade("EURUSD", 18, 48, -500.0, fees=2.5, funding=-1.5, direction="SELL"),
    trade("GOLD", 60, 84, 300.0, funding=-0.75),
)
EQUITY_CURVE = (  # (hours from T0, balance, equity)
    (0, 10000.0, 10000.0),
    (12, 10000.0, 10100.0),
    (20, 10200.0, 10200.0),
    (36, 10200.0, 9900.0),
    (48, 9696.0, 9696.0),
    (66, 9696.0, 9800.0),
    (84, 9995.25, 9995.25),
    (95, 9995.25, 9995.25),
)


def sample_result(**changes: object) -> BacktestResult:
    fields: dict[str, object] = {
        "epics": ("GOLD", "EURUSD"),
        "resolution": "HOUR",
        "start": T0,
        "end": T0 + timedelta(days=4),
        "initial_balance": 10000.0,
        "currency": "USD",
        "seed": 7,
        "trades": TRADES,
        "equity": tuple(EquityPoint(at(h), b, e) for h, b, e in EQUITY_CURVE),
        "log": "bought GOLD\n<script>alert('x')</script> & done\n",
        "exit": "ok",
        "message": None,
        "bars": 96,
        "wall_seconds": 1.25,
    }
    fields.update(changes)
    return BacktestResult(**fields)  # type: ignore[arg-type]


def empty_result() -> BacktestResult:
    return sample_result(trades=(), equity=(), log="", bars=0)


def independent_sharpe(values: list[float]) -> float:
    returns = [b / a - 1 for a, b in itertools.pairwise(values)]
    return statistics.mean(returns) / statistics.stdev(returns) * math.sqrt(365)


def independent_sortino(values: list[float]) -> float:
    returns = [b / a - 1 for a, b in itertools.pairwise(values)]
    downside = math.sqrt(statistics.fmean([min(r, 0.0) ** 2 for r in returns]))
    return statistics.mean(returns) / downside * math.sqrt(365)


# ---- the figures --------------------------------------------------------------------------
def test_total_figures_match_the_hand_computed_values() -> None:
    total = report.stats(sample_result()).total
    assert total.trades == 3
    assert (total.wins, total.losses) == (2, 1)
    assert total.net_pnl == -4.75  # 200 - 504 + 299.25
    assert total.gross_pnl == 0.0
    assert total.fees == 2.5
    assert total.funding == -2.25
    assert total.return_pct == pytest.approx(-0.0475)
    assert total.average_trade == -1.58
    assert total.win_rate_pct == pytest.approx(66.6667)
    assert total.profit_factor == pytest.approx(499.25 / 504, abs=1e-4)
    # Union of [10 h, 48 h] (two overlapping trades) and [60 h, 84 h]: 62 of 96 hours.
    assert total.exposure_pct == pytest.approx(62 / 96 * 100, abs=1e-4)


def test_max_drawdown_is_the_fall_from_the_running_peak_of_the_equity_curve() -> None:
    total = report.stats(sample_result()).total
    # Peak 10,200 at 20 h, trough 9,696 at 48 h.
    assert total.max_drawdown == 504.0
    assert total.max_drawdown_pct == pytest.approx(504 / 10200 * 100, abs=1e-4)


def test_a_loss_from_the_first_step_counts_against_the_initial_balance() -> None:
    curve = (EquityPoint(at(1), 10000.0, 9000.0), EquityPoint(at(2), 10000.0, 9500.0))
    total = report.stats(sample_result(trades=(), equity=curve)).total
    assert total.max_drawdown == 1000.0
    assert total.max_drawdown_pct == pytest.approx(10.0)


def test_sharpe_and_sortino_are_on_daily_values_annualised_with_sqrt_365() -> None:
    total = report.stats(sample_result()).total
    # The last equity of each UTC day, after the initial balance.
    daily = [10000.0, 10200.0, 9900.0, 9800.0, 9995.25]
    assert total.days == 4
    assert total.sharpe == pytest.approx(independent_sharpe(daily), abs=1e-4)
    assert total.sortino == pytest.approx(independent_sortino(daily), abs=1e-4)
    assert report.ANNUALISATION_DAYS == 365


def test_each_epic_has_its_own_figures_on_its_realised_curve() -> None:
    summary = report.stats(sample_result())
    assert list(summary.epics) == ["GOLD", "EURUSD"]
    gold, eurusd = summary.epics["GOLD"], summary.epics["EURUSD"]
    assert (gold.trades, gold.net_pnl, gold.funding, gold.fees) == (2, 499.25, -0.75, 0.0)
    assert (eurusd.trades, eurusd.net_pnl, eurusd.fees, eurusd.funding) == (1, -504.0, 2.5, -1.5)
    assert gold.exposure_pct == pytest.approx(34 / 96 * 100, abs=1e-4)
    assert eurusd.exposure_pct == pytest.approx(30 / 96 * 100, abs=1e-4)
    assert gold.max_drawdown == 0.0
    assert eurusd.max_drawdown == 504.0
    assert eurusd.max_drawdown_pct == pytest.approx(5.04)
    assert gold.sortino is None  # no losing day
    assert gold.sharpe == pytest.approx(
        independent_sharpe([10000.0, 10200.0, 10200.0, 10200.0, 10499.25]), abs=1e-4
    )
    assert eurusd.profit_factor == 0.0
    assert gold.profit_factor is None  # no losing trade
    assert math.fsum(s.net_pnl for s in summary.epics.values()) == summary.total.net_pnl


def test_no_trades_gives_zeros_and_undefined_figures_not_errors() -> None:
    summary = report.stats(empty_result())
    total = summary.total
    assert (total.trades, total.net_pnl, total.return_pct, total.exposure_pct) == (0, 0, 0, 0)
    assert (total.max_drawdown, total.max_drawdown_pct) == (0.0, 0.0)
    assert total.win_rate_pct is None
    assert total.profit_factor is None
    assert total.average_trade is None
    assert total.sharpe is None  # flat: no deviation
    assert total.sortino is None
    assert set(summary.epics) == {"GOLD", "EURUSD"}


def test_a_day_ending_at_midnight_is_not_counted_twice() -> None:
    one_day = sample_result(end=T0 + timedelta(days=1), trades=(), equity=())
    assert report.stats(one_day).total.days == 1
    assert report.stats(sample_result(end=T0 + timedelta(days=1, seconds=1))).total.days == 2


# ---- the result data ----------------------------------------------------------------------
def test_result_round_trips_through_its_json_form() -> None:
    result = sample_result()
    data = json.loads(json.dumps(result.to_dict()))
    assert "wall_seconds" not in data
    again = BacktestResult.from_dict(data, wall_seconds=result.wall_seconds)
    assert again == result
    assert again.trades[1].net_pnl == -504.0
    assert data["trades"][0]["opened_at"] == "2025-01-01T10:00:00Z"


def test_times_must_be_aware_and_are_kept_in_utc() -> None:
    with pytest.raises(ValueError, match="aware"):
        EquityPoint(datetime(2025, 1, 1), 1.0, 1.0)
    paris = datetime(2025, 1, 1, 1, tzinfo=ZoneInfo("Europe/Paris"))
    assert EquityPoint(paris, 1.0, 1.0).at == T0
    with pytest.raises(ValueError, match="direction"):
        trade("GOLD", 0, 1, 1.0, direction="LONG")


def test_fees_are_a_positive_cost_and_funding_is_signed() -> None:
    charged = trade("GOLD", 0, 30, 10.0, fees=1.25, funding=-0.4)
    assert charged.net_pnl == 8.35
    assert trade("GOLD", 0, 30, 10.0, funding=0.4).net_pnl == 10.4  # a credit
    with pytest.raises(ValueError, match="fees are a cost"):
        trade("GOLD", 0, 1, 1.0, fees=-1.25)  # as the simulator books it: a sign slip


def test_money_is_rounded_to_cents_without_negative_zero() -> None:
    point = EquityPoint(T0, 100.004, -0.001)
    assert (point.balance, point.equity) == (100.0, 0.0)
    assert str(point.equity) == "0.0"


# ---- the files ----------------------------------------------------------------------------
def test_write_produces_every_file_with_the_trades_and_figures(tmp_path: Path) -> None:
    written = report.write(sample_result(), tmp_path)
    assert sorted(written) == sorted(report.FILES)
    with (tmp_path / "trades.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["net_pnl"] for r in rows] == ["200.00", "-504.00", "299.25"]
    assert rows[1]["fees"] == "2.50"
    assert rows[1]["opened_at"] == "2025-01-01T18:00:00Z"
    assert json.loads((tmp_path / "trades.json").read_text())[2]["funding"] == -0.75
    with (tmp_path / "equity.csv").open(newline="") as handle:
        equity = list(csv.DictReader(handle))
    assert len(equity) == len(EQUITY_CURVE)
    assert max(float(r["drawdown"]) for r in equity) == 504.0
    stats = json.loads((tmp_path / "stats.json").read_text())
    assert stats["total"]["net_pnl"] == -4.75
    assert stats["annualisation_days"] == 365
    whole = json.loads((tmp_path / "report.json").read_text())
    assert "wall_seconds" not in json.dumps(whole)
    assert BacktestResult.from_dict(whole["result"]) == sample_result()
    assert (tmp_path / "bot.log").read_text() == sample_result().log


def test_the_same_result_gives_the_same_bytes(tmp_path: Path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    report.write(sample_result(wall_seconds=1.0), first)
    report.write(sample_result(wall_seconds=99.0), second)
    for name in report.FILES:
        assert (first / name).read_bytes() == (second / name).read_bytes(), name
    text = (first / "report.json").read_text()
    assert text.endswith("}\n")
    assert list(json.loads(text)) == sorted(json.loads(text))


def test_another_process_writes_the_same_bytes(tmp_path: Path) -> None:
    # A fresh interpreter: no font cache, hash seed or import order shared with this one.
    repo = Path(__file__).resolve().parents[3]
    code = (
        "import sys; from tests.sdk.backtest.test_report import sample_result; "
        "from capitalcom_sdk.backtest import report; report.write(sample_result(), sys.argv[1])"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "child")],
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONHASHSEED": "random"},
    )
    assert done.returncode == 0, done.stderr
    report.write(sample_result(), tmp_path / "here")
    for name in report.FILES:
        assert (tmp_path / "child" / name).read_bytes() == (tmp_path / "here" / name).read_bytes()


def _png_text_chunks(png: bytes) -> list[bytes]:
    chunks: list[bytes] = []
    offset = 8
    while offset < len(png):
        (length,) = struct.unpack(">I", png[offset : offset + 4])
        kind = png[offset + 4 : offset + 8]
        if kind in (b"tEXt", b"zTXt", b"iTXt", b"tIME"):
            chunks.append(kind + b":" + png[offset + 8 : offset + 8 + length])
        offset += 12 + length
    return chunks


def test_chart_is_a_png_of_equity_and_drawdown_without_metadata(tmp_path: Path) -> None:
    report.write(sample_result(), tmp_path)
    png = (tmp_path / "equity.png").read_bytes()
    assert _png_text_chunks(png) == []  # no Software text, no date
    with Image.open(io.BytesIO(png)) as image:
        assert image.size == (1200, 700)
        colours = image.convert("RGB").getcolors(maxcolors=1_000_000)
    assert colours is not None
    reds = sum(n for n, (r, g, b) in colours if r > 180 and g < 150 and b < 150)
    assert reds > 500  # the drawdown area is drawn


def test_empty_result_writes_every_file(tmp_path: Path) -> None:
    written = report.write(empty_result(), tmp_path)
    assert sorted(written) == sorted(report.FILES)
    assert (tmp_path / "trades.csv").read_text().strip() == ",".join(report.TRADE_FIELDS)
    assert json.loads((tmp_path / "trades.json").read_text()) == []
    assert "No trades." in (tmp_path / "report.html").read_text()


def test_without_matplotlib_the_report_has_no_chart_unless_one_is_required(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    written = report.write(sample_result(), tmp_path / "auto")
    assert "equity.png" not in written
    assert "capitalcom-sdk[chart]" in (tmp_path / "auto" / "report.html").read_text()
    with pytest.raises(MissingDependencyError, match=r"capitalcom-sdk\[chart\]"):
        report.write(sample_result(), tmp_path / "required", chart=True)


def test_a_failed_run_says_so_in_the_page(tmp_path: Path) -> None:
    result = sample_result(exit="hung", message="no request for 600 s <simulated>")
    report.write(result, tmp_path, chart=False)
    page = (tmp_path / "report.html").read_text()
    assert "The bot's run ended: hung: no request for 600 s &lt;simulated&gt;" in page


# ---- the page in a real browser -----------------------------------------------------------
def _chromium_or_skip() -> None:
    if chromium_path() is not None:
        return
    if os.environ.get("CI") or os.environ.get("REQUIRE_CONTRACT") == "1":
        pytest.fail("chromium is not installed (.ci/run installs it)")
    pytest.skip("chromium is not installed: apt-get install chromium")


async def test_the_page_opens_in_a_browser_and_shows_the_numbers(tmp_path: Path) -> None:
    _chromium_or_skip()
    report.write(sample_result(), tmp_path)
    async with open_page() as page:
        await page.goto((tmp_path / "report.html").as_uri())
        stats_rows = await page.evaluate(
            "[...document.querySelectorAll('#stats tr')]"
            ".map(tr => [...tr.cells].map(c => c.textContent))"
        )
        trade_rows = await page.evaluate("document.querySelectorAll('#trades tr').length")
        image = await page.evaluate(
            "(() => { const i = document.querySelector('#chart');"
            " return [i.complete, i.naturalWidth, i.naturalHeight]; })()"
        )
        log = await page.evaluate("document.querySelector('#log').textContent")
        scripts = await page.evaluate("document.scripts.length")
        errors = list(page.errors)
    assert errors == []
    by_label = {row[0]: row[1:] for row in stats_rows}
    assert by_label[""] == ["Total", "GOLD", "EURUSD"]
    assert by_label["Net P&L"] == ["-4.75", "499.25", "-504.00"]
    assert by_label["Max drawdown"] == ["504.00", "0.00", "504.00"]
    assert by_label["Trades"] == ["3", "2", "1"]
    assert by_label["Sortino (daily, x sqrt(365))"][1] == "n/a"
    assert trade_rows == 1 + 3
    assert image == [True, 1200, 700]
    assert log == sample_result().log  # shown as text, the script tag never ran
    assert scripts == 0
