"""The backtest report as one self-contained HTML page: no script, no external resource.

The chart is embedded as a base64 PNG; every text that comes from the result (epics, the bot's
log, messages, deal ids) is HTML-escaped.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Sequence
from html import escape

from capitalcom_sdk.backtest._report_stats import Stats, Summary
from capitalcom_sdk.backtest._results import BacktestResult, format_time

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem; color: #222; }
h1 { font-size: 1.5rem; } h2 { font-size: 1.15rem; margin-top: 2rem; }
table { border-collapse: collapse; font-size: 0.9rem; }
th, td { border: 1px solid #ccc; padding: 0.25rem 0.6rem; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
th { background: #f3f3f3; text-align: left; }
img { max-width: 100%; height: auto; border: 1px solid #ddd; }
pre { background: #f7f7f7; padding: 0.8rem; overflow-x: auto; font-size: 0.8rem; }
.bad { color: #b00020; font-weight: bold; }
"""


def money(value: float | None) -> str:
    """Money as shown in the page: 2 decimals, ``n/a`` when undefined."""
    return "n/a" if value is None else f"{value:.2f}"


def number(value: float | None) -> str:
    """A ratio as shown in the page: 4 decimals, ``n/a`` when undefined."""
    return "n/a" if value is None else f"{value:.4f}"


def percent(value: float | None) -> str:
    """A percentage as shown in the page: 2 decimals and ``%``, ``n/a`` when undefined."""
    return "n/a" if value is None else f"{value:.2f} %"


def count(value: float | None) -> str:
    """A count as shown in the page."""
    return "n/a" if value is None else str(int(value))


# (label, Stats attribute, formatter): the rows of the statistics table.
STAT_ROWS: tuple[tuple[str, str, Callable[[float | None], str]], ...] = (
    ("Net P&L", "net_pnl", money),
    ("Return", "return_pct", percent),
    ("Max drawdown", "max_drawdown", money),
    ("Max drawdown %", "max_drawdown_pct", percent),
    ("Sharpe (daily, x sqrt(365))", "sharpe", number),
    ("Sortino (daily, x sqrt(365))", "sortino", number),
    ("Win rate", "win_rate_pct", percent),
    ("Profit factor", "profit_factor", number),
    ("Exposure", "exposure_pct", percent),
    ("Trades", "trades", count),
    ("Average trade", "average_trade", money),
    ("Gross P&L", "gross_pnl", money),
    ("Fees", "fees", money),
    ("Funding", "funding", money),
)

_TRADE_COLUMNS = (
    "#",
    "Epic",
    "Direction",
    "Size",
    "Opened",
    "Open level",
    "Closed",
    "Close level",
    "P&L",
    "Fees",
    "Funding",
    "Net P&L",
    "Reason",
)


def _row(cells: Sequence[tuple[str, bool]], header: bool = False) -> str:
    tag = "th" if header else "td"
    parts = []
    for text, numeric in cells:
        klass = ' class="n"' if numeric and not header else ""
        parts.append(f"<{tag}{klass}>{escape(text)}</{tag}>")
    return "<tr>" + "".join(parts) + "</tr>"


def _stats_table(summary: Summary) -> str:
    scopes: list[tuple[str, Stats]] = [("Total", summary.total), *summary.epics.items()]
    lines = ['<table id="stats">', _row([("", False)] + [(n, False) for n, _ in scopes], True)]
    for label, attribute, show in STAT_ROWS:
        cells = [(label, False)] + [(show(getattr(s, attribute)), True) for _, s in scopes]
        lines.append(_row(cells))
    lines.append("</table>")
    return "\n".join(lines)


def _trades_table(result: BacktestResult) -> str:
    if not result.trades:
        return '<p id="trades">No trades.</p>'
    lines = ['<table id="trades">', _row([(c, False) for c in _TRADE_COLUMNS], True)]
    for index, t in enumerate(result.trades, 1):
        cells = [
            (str(index), True),
            (t.epic, False),
            (t.direction, False),
            (f"{t.size:g}", True),
            (format_time(t.opened_at), False),
            (f"{t.open_level:g}", True),
            (format_time(t.closed_at), False),
            (f"{t.close_level:g}", True),
            (money(t.pnl), True),
            (money(t.fees), True),
            (money(t.funding), True),
            (money(t.net_pnl), True),
            (t.close_reason, False),
        ]
        lines.append(_row(cells))
    lines.append("</table>")
    return "\n".join(lines)


def _run_table(result: BacktestResult) -> str:
    rows = [
        ("Epics", ", ".join(result.epics)),
        ("Resolution", result.resolution),
        ("From", format_time(result.start)),
        ("To", format_time(result.end)),
        ("Bars", str(result.bars)),
        ("Initial balance", f"{money(result.initial_balance)} {result.currency}"),
        ("Seed", str(result.seed)),
        ("Exit", result.exit),
    ]
    if result.message is not None:
        rows.append(("Message", result.message))
    lines = ['<table id="run">']
    lines += [_row([(k, False), (v, False)]) for k, v in rows]
    lines.append("</table>")
    return "\n".join(lines)


def render(result: BacktestResult, summary: Summary, png: bytes | None) -> str:
    """The report page (``png``: the chart, or None when matplotlib is not installed)."""
    title = f"Backtest {', '.join(result.epics)} {result.resolution}"
    if png is None:
        chart = "<p>No chart: install the chart extra (pip install 'capitalcom-sdk[chart]').</p>"
    else:
        data = base64.b64encode(png).decode("ascii")
        chart = f'<img id="chart" alt="equity and drawdown" src="data:image/png;base64,{data}">'
    exit_note = ""
    if result.exit != "ok":
        exit_note = f'<p class="bad" id="exit">The bot\'s run ended: {escape(result.exit)}'
        if result.message:
            exit_note += f": {escape(result.message)}"
        exit_note += "</p>"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        f"<title>{escape(title)}</title>",
        f"<style>{_STYLE}</style>",
        "</head>",
        "<body>",
        f"<h1>{escape(title)}</h1>",
        exit_note,
        _run_table(result),
        "<h2>Equity and drawdown</h2>",
        chart,
        "<h2>Statistics</h2>",
        _stats_table(summary),
        f"<h2>Trades ({len(result.trades)})</h2>",
        _trades_table(result),
        "<h2>Bot log</h2>",
        f'<pre id="log">{escape(result.log)}</pre>',
        "</body>",
        "</html>",
    ]
    return "\n".join(p for p in parts if p) + "\n"
