"""The equity and drawdown chart of a backtest as PNG bytes (matplotlib's Agg canvas, no pyplot).

The PNG carries no metadata (no ``Software`` text, no date), so the same result gives the same
bytes with the same matplotlib and FreeType.
"""

from __future__ import annotations

import io
from datetime import datetime

from capitalcom_sdk.backtest._report_stats import drawdowns
from capitalcom_sdk.backtest._results import BacktestResult
from capitalcom_sdk.data._optional import require

_EQUITY = "#1f77b4"
_BALANCE = "#7f7f7f"
_DRAWDOWN = "#d62728"


def _points(result: BacktestResult) -> tuple[list[datetime], list[float], list[float]]:
    if result.equity:
        return (
            [p.at for p in result.equity],
            [p.equity for p in result.equity],
            [p.balance for p in result.equity],
        )
    # No simulated step recorded: a flat line at the initial balance over the period.
    times = [result.start, result.end]
    flat = [result.initial_balance, result.initial_balance]
    return times, flat, list(flat)


def equity_png(
    result: BacktestResult, *, width: int = 1200, height: int = 700, dpi: int = 100
) -> bytes:
    """The equity (and balance) curve over the drawdown curve, as PNG bytes.

    Raises:
        MissingDependencyError: matplotlib is missing (``pip install 'capitalcom-sdk[chart]'``).
    """
    require("matplotlib", "the backtest report's chart")
    from matplotlib import dates
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    times, equity, balance = _points(result)
    # matplotlib's date numbers (days since its epoch); its date helpers are untyped.
    xs: list[float] = [float(x) for x in dates.date2num(times)]  # type: ignore[no-untyped-call]
    falls = [
        -pct for _, pct in drawdowns(list(zip(times, equity, strict=True)), result.initial_balance)
    ]

    figure = Figure(figsize=(width / dpi, height / dpi), dpi=dpi)
    FigureCanvasAgg(figure)
    grid = figure.add_gridspec(2, 1, height_ratios=(3, 1), hspace=0.08)
    ax = figure.add_subplot(grid[0])
    ax_drawdown = figure.add_subplot(grid[1], sharex=ax)

    ax.plot(xs, balance, color=_BALANCE, linewidth=1.0, label="balance", drawstyle="steps-post")
    ax.plot(xs, equity, color=_EQUITY, linewidth=1.2, label="equity")
    ax.set_ylabel(f"equity ({result.currency})")
    ax.grid(True, alpha=0.25)
    ax.legend(loc="upper left")
    ax.tick_params(labelbottom=False)
    ax.set_title(f"{', '.join(result.epics)} {result.resolution}")

    ax_drawdown.fill_between(xs, falls, 0.0, color=_DRAWDOWN, alpha=0.35, linewidth=0)
    ax_drawdown.plot(xs, falls, color=_DRAWDOWN, linewidth=0.8)
    ax_drawdown.set_ylabel("drawdown (%)")
    ax_drawdown.set_ylim(min(min(falls), -1.0) * 1.05, 0.0)
    ax_drawdown.grid(True, alpha=0.25)
    locator = dates.AutoDateLocator()  # type: ignore[no-untyped-call]
    ax_drawdown.xaxis.set_major_locator(locator)
    ax_drawdown.xaxis.set_major_formatter(
        dates.ConciseDateFormatter(locator)  # type: ignore[no-untyped-call]
    )
    if xs[0] != xs[-1]:
        ax_drawdown.set_xlim(xs[0], xs[-1])

    figure.subplots_adjust(left=0.08, right=0.98, top=0.94, bottom=0.08)
    out = io.BytesIO()
    figure.savefig(out, format="png", dpi=dpi, metadata={"Software": None})
    return out.getvalue()
