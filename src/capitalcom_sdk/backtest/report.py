"""The report of a backtest: its statistics, and the files a reader opens.

``stats(result)`` gives the figures (per epic and in total; the definitions are in
:mod:`capitalcom_sdk.backtest._report_stats` and docs/backtest.md: Sharpe and Sortino are on
daily calendar-day returns, annualised with sqrt(365)). ``write(result, out_dir)`` writes:

| file | what |
|---|---|
| ``trades.csv``, ``trades.json`` | every trade: times, levels, size, P&L, fees, funding |
| ``equity.csv`` | the equity curve: balance, equity and drawdown at each simulated step |
| ``stats.json`` | :func:`stats` |
| ``report.json`` | the whole result (but the wall time) and its statistics |
| ``bot.log`` | the bot's own output |
| ``equity.png`` | equity and drawdown curves (needs the ``chart`` extra: matplotlib) |
| ``report.html`` | one self-contained page: the chart, the statistics and the trades |

The same result gives byte-identical JSON and CSV files (sorted keys, fixed number formats, no
wall-clock time anywhere), and the same PNG and HTML with the same matplotlib.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import os
from pathlib import Path
from typing import Any

from capitalcom_sdk.backtest._report_stats import (
    ANNUALISATION_DAYS,
    Stats,
    Summary,
    drawdowns,
    stats,
)
from capitalcom_sdk.backtest._results import BacktestResult, format_time

__all__ = ["ANNUALISATION_DAYS", "FILES", "Stats", "Summary", "stats", "to_json", "write"]

logger = logging.getLogger(__name__)

FILES = (
    "trades.csv",
    "trades.json",
    "equity.csv",
    "stats.json",
    "report.json",
    "bot.log",
    "equity.png",
    "report.html",
)
"""The files :func:`write` writes (``equity.png`` only when the chart is drawn)."""

TRADE_FIELDS = (
    "epic",
    "direction",
    "size",
    "deal_id",
    "opened_at",
    "open_level",
    "closed_at",
    "close_level",
    "pnl",
    "fees",
    "funding",
    "net_pnl",
    "close_reason",
)
EQUITY_FIELDS = ("at", "balance", "equity", "drawdown", "drawdown_pct")


def to_json(value: Any) -> bytes:
    """The report's JSON encoding: sorted keys, 2-space indent, UTF-8, a final newline."""
    text = json.dumps(value, sort_keys=True, indent=2, ensure_ascii=False, allow_nan=False)
    return (text + "\n").encode("utf-8")


def _level(value: float) -> str:
    # repr is the shortest text that reads back as the same float: exact and stable.
    return repr(float(value))


def _csv(header: tuple[str, ...], rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


def trades_csv(result: BacktestResult) -> bytes:
    """``trades.csv``: one row per trade (money with 2 decimals, levels exact)."""
    rows = [
        [
            t.epic,
            t.direction,
            _level(t.size),
            t.deal_id,
            format_time(t.opened_at),
            _level(t.open_level),
            format_time(t.closed_at),
            _level(t.close_level),
            f"{t.pnl:.2f}",
            f"{t.fees:.2f}",
            f"{t.funding:.2f}",
            f"{t.net_pnl:.2f}",
            t.close_reason,
        ]
        for t in result.trades
    ]
    return _csv(TRADE_FIELDS, rows)


def equity_csv(result: BacktestResult) -> bytes:
    """``equity.csv``: the account at each simulated step and its drawdown from the peak."""
    curve = [(p.at, p.equity) for p in result.equity]
    falls = drawdowns(curve, result.initial_balance)
    rows = [
        [
            format_time(p.at),
            f"{p.balance:.2f}",
            f"{p.equity:.2f}",
            f"{round(fall, 2) + 0.0:.2f}",
            f"{round(pct, 4) + 0.0:.4f}",
        ]
        for p, (fall, pct) in zip(result.equity, falls, strict=True)
    ]
    return _csv(EQUITY_FIELDS, rows)


def report_dict(result: BacktestResult, summary: Summary | None = None) -> dict[str, Any]:
    """``report.json``'s content: the result (without the wall time) and its statistics."""
    return {
        "result": result.to_dict(),
        "stats": (summary or stats(result)).to_dict(),
    }


def _chart(result: BacktestResult, chart: bool | None) -> bytes | None:
    if chart is False:
        return None
    from capitalcom_sdk.backtest._report_chart import equity_png
    from capitalcom_sdk.data._optional import MissingDependencyError

    try:
        return equity_png(result)
    except MissingDependencyError:
        if chart:
            raise
        logger.warning("backtest report without its chart: matplotlib is not installed")
        return None


def write(
    result: BacktestResult, out_dir: str | os.PathLike[str], *, chart: bool | None = None
) -> dict[str, Path]:
    """Write the report's files into ``out_dir`` (created if needed; files replaced).

    Args:
        result: what the backtest produced.
        out_dir: the folder to write into.
        chart: draw ``equity.png`` (and embed it in the page): True requires matplotlib,
            False never draws, None (default) draws when matplotlib is installed.

    Returns:
        The path of each file written, by file name (see :data:`FILES`).

    Raises:
        MissingDependencyError: ``chart=True`` and matplotlib is missing.
    """
    from capitalcom_sdk.backtest._report_html import render

    folder = Path(out_dir)
    folder.mkdir(parents=True, exist_ok=True)
    summary = stats(result)
    png = _chart(result, chart)
    contents: dict[str, bytes] = {
        "trades.csv": trades_csv(result),
        "trades.json": to_json([t.to_dict() for t in result.trades]),
        "equity.csv": equity_csv(result),
        "stats.json": to_json(summary.to_dict()),
        "report.json": to_json(report_dict(result, summary)),
        "bot.log": result.log.encode("utf-8"),
    }
    if png is not None:
        contents["equity.png"] = png
    contents["report.html"] = render(result, summary, png).encode("utf-8")
    written: dict[str, Path] = {}
    for name, data in contents.items():
        path = folder / name
        path.write_bytes(data)
        written[name] = path
    logger.debug("backtest report written to %s (%d files)", folder, len(written))
    return written
