"""Candlestick charts of price bars as PNG files (matplotlib, Agg canvas: no display needed).

Readable as a charting site's: the candles keep the same headroom above and below (the lowest
low never sits on the frame); date ticks fall on calendar boundaries (whole hours, midnight,
Mondays, the first of a month or year) chosen from the span shown; intraday charts name the date
wherever a new day starts; volumes read ``75k`` / ``1.2M``. Bars are drawn side by side without
gaps for closed hours (weekends), as trading charts do.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Hashable, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from capitalcom_sdk.data._optional import require
from capitalcom_sdk.data._schema import Row, rows

if TYPE_CHECKING:
    from matplotlib.figure import Figure

Side = Literal["mid", "bid", "ask"]

_UP = "#26a69a"
_DOWN = "#ef5350"
_MAX_TICKS = 8
HEADROOM = 0.05
"""Space above the highest high and below the lowest low, as a share of the price range."""

Period = Callable[[datetime], Hashable]
_JUST_BEFORE = timedelta(microseconds=1)


def _minutes(step: int) -> Period:
    return lambda t: (t.date(), t.hour, t.minute - t.minute % step)


def _hours(step: int) -> Period:
    return lambda t: (t.date(), t.hour - t.hour % step)


def _week(t: datetime) -> Hashable:
    year, week, _ = t.isocalendar()
    return (year, week)


# Calendar periods from the finest to the coarsest: (name, the period a time falls in). A tick
# marks the first bar of a period; the finest period giving at most _MAX_TICKS ticks is used.
_PERIODS: tuple[tuple[str, Period], ...] = (
    *((f"{m}min", _minutes(m)) for m in (1, 2, 5, 10, 15, 30)),
    *((f"{h}h", _hours(h)) for h in (1, 2, 3, 4, 6, 12)),
    ("day", lambda t: t.date()),
    ("week", _week),
    ("month", lambda t: (t.year, t.month)),
    ("2months", lambda t: (t.year, (t.month - 1) // 2)),
    ("quarter", lambda t: (t.year, (t.month - 1) // 3)),
    ("half", lambda t: (t.year, (t.month - 1) // 6)),
    ("year", lambda t: t.year),
)
_INTRADAY = frozenset(name for name, _ in _PERIODS if name.endswith(("min", "h")))


def _bar_rows(prices: Any) -> list[Row]:
    """Schema rows from a price result, a list of bars, or a DataFrame from ``to_pandas()``."""
    if type(prices).__module__.startswith("pandas"):
        records: list[Row] = prices.reset_index().to_dict("records")
        return records
    return rows(prices, "prices")


def _starts(times: Sequence[datetime], period: Period) -> list[int]:
    """Indexes of the bars that open a new period (the first bar only if it starts one)."""
    keys = [period(t) for t in times]
    ticks = [i for i in range(1, len(times)) if keys[i] != keys[i - 1]]
    if keys[0] != period(times[0] - _JUST_BEFORE):
        ticks.insert(0, 0)
    return ticks


def date_ticks(times: Sequence[datetime]) -> tuple[str, list[int], list[str]]:
    """The calendar period, bar indexes and labels of the x axis for bars starting at ``times``.

    The finest period (1 minute ... 1 year) with at most 8 boundaries in the span is used, so
    ticks fall on whole hours, midnights, Mondays, firsts of the month or of the year. Intraday
    labels are ``HH:MM``; where the day changes (or at the first tick, when the span crosses
    midnight) the date is added below. Daily and weekly labels are ``Mar 2``; monthly ``Mar 2026``;
    yearly ``2026``.
    """
    if not times:
        return "none", [], []
    chosen, ticks = _PERIODS[-1][0], _starts(times, _PERIODS[-1][1])
    for name, period in _PERIODS:
        found = _starts(times, period)
        if len(found) <= _MAX_TICKS and (len(found) >= 2 or name == _PERIODS[-1][0]):
            chosen, ticks = name, found
            break
    else:  # more years than ticks: every k-th year
        step = math.ceil(len(ticks) / _MAX_TICKS)
        ticks = ticks[::step]
    if not ticks:
        ticks = [0]
    crosses_midnight = times[0].date() != times[-1].date()
    labels: list[str] = []
    previous: datetime | None = None
    for index in ticks:
        t = times[index]
        if chosen in _INTRADAY:
            label = f"{t:%H:%M}"
            new_day = previous is None or previous.date() != t.date()
            if crosses_midnight and new_day:
                label += f"\n{t:%b} {t.day}"
        elif chosen in ("day", "week"):
            label = f"{t:%b} {t.day}"
            if previous is None or previous.year != t.year:
                label += f"\n{t.year}"
        elif chosen in ("month", "2months", "quarter", "half"):
            label = f"{t:%b %Y}"
        else:
            label = f"{t.year}"
        labels.append(label)
        previous = t
    return chosen, ticks, labels


def _axis_label(times: Sequence[datetime]) -> str:
    """``time (UTC)``, with the day when every bar is within one day (no tick names it)."""
    first, last = times[0], times[-1]
    if first.date() == last.date() and len(times) > 1:
        return f"time (UTC), {first:%a} {first.day} {first:%b %Y}"
    return "time (UTC)"


def price_limits(lows: Sequence[float], highs: Sequence[float]) -> tuple[float, float]:
    """Y limits with the same headroom below the lowest low and above the highest high."""
    low, high = min(lows), max(highs)
    span = high - low
    pad = span * HEADROOM if span > 0 else max(abs(high) * 0.001, 1e-9)
    return low - pad, high + pad


def volume_label(value: float) -> str:
    """``950``, ``75k``, ``1.5M``, ``2B``: volumes as traders read them."""
    magnitude = abs(value)
    for threshold, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if magnitude >= threshold:
            scaled = value / threshold
            text = f"{scaled:.1f}".rstrip("0").rstrip(".")
            return f"{text}{suffix}"
    return f"{value:.0f}"


def candlestick_figure(
    prices: Any,
    *,
    title: str | None = None,
    width: int = 1200,
    height: int = 700,
    dpi: int = 100,
    side: Side = "mid",
    volume: bool | None = None,
) -> Figure:
    """The matplotlib ``Figure`` that :func:`candlestick_chart` saves (for further drawing).

    Its first axes holds the candles; the second, when present, the volumes.

    Raises:
        MissingDependencyError: matplotlib is missing (``pip install 'capitalcom-sdk[chart]'``).
        ValueError: no bars, or a size that is not positive.
    """
    if width <= 0 or height <= 0 or dpi <= 0:
        raise ValueError("width, height and dpi must be positive")
    data = [r for r in _bar_rows(prices) if r.get(f"open_{side}") is not None]
    if not data:
        raise ValueError("no price bars to draw")
    require("matplotlib", "candlestick_chart()")
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    opens = [float(r[f"open_{side}"]) for r in data]
    highs = [float(r[f"high_{side}"]) for r in data]
    lows = [float(r[f"low_{side}"]) for r in data]
    closes = [float(r[f"close_{side}"]) for r in data]
    volumes = [r.get("volume") for r in data]
    times: list[datetime] = [r["time"] for r in data]
    has_volume = any(v is not None and v == v and v > 0 for v in volumes)
    show_volume = has_volume if volume is None else volume and has_volume

    figure = Figure(figsize=(width / dpi, height / dpi), dpi=dpi)
    FigureCanvasAgg(figure)
    if show_volume:
        grid = figure.add_gridspec(2, 1, height_ratios=(4, 1), hspace=0.05)
        ax = figure.add_subplot(grid[0])
        ax_volume = figure.add_subplot(grid[1], sharex=ax)
    else:
        ax = figure.add_subplot(1, 1, 1)
        ax_volume = None

    xs = list(range(len(data)))
    colors = [_UP if c >= o else _DOWN for o, c in zip(opens, closes, strict=True)]
    ax.vlines(xs, lows, highs, colors=colors, linewidth=0.8)
    price_span = max(highs) - min(lows)
    bodies = [max(abs(c - o), price_span * 0.001) for o, c in zip(opens, closes, strict=True)]
    bottoms = [min(o, c) for o, c in zip(opens, closes, strict=True)]
    ax.bar(xs, bodies, bottom=bottoms, width=0.7, color=colors, linewidth=0)
    ax.set_xlim(-1, len(data))
    ax.set_ylim(*price_limits(lows, highs))
    ax.grid(True, alpha=0.25)
    ax.set_ylabel(f"price ({side})")
    if title:
        ax.set_title(title)

    _, ticks, labels = date_ticks(times)
    labelled = ax_volume if ax_volume is not None else ax
    labelled.set_xticks(ticks)
    labelled.set_xticklabels(labels, fontsize=8)
    if ax_volume is not None:
        ax.tick_params(labelbottom=False)
        ax_volume.bar(xs, [v or 0 for v in volumes], width=0.7, color=colors, linewidth=0)
        ax_volume.set_ylim(0, max(v or 0 for v in volumes) * (1 + HEADROOM))
        ax_volume.yaxis.set_major_locator(MaxNLocator(3, min_n_ticks=2))
        ax_volume.yaxis.set_major_formatter(FuncFormatter(lambda v, _: volume_label(v)))
        ax_volume.set_ylabel("volume")
        ax_volume.grid(True, alpha=0.25)
    labelled.set_xlabel(_axis_label(times))
    figure.subplots_adjust(left=0.08, right=0.98, top=0.93, bottom=0.12)
    return figure


def candlestick_chart(
    prices: Any,
    path: str | os.PathLike[str],
    *,
    title: str | None = None,
    width: int = 1200,
    height: int = 700,
    dpi: int = 100,
    side: Side = "mid",
    volume: bool | None = None,
) -> Path:
    """Draw a candlestick chart of price bars into a PNG of exactly ``width`` x ``height`` pixels.

    Args:
        prices: a price history result, a list of bars, or the DataFrame of ``to_pandas()``.
        path: the PNG file to write.
        title: the chart's title (e.g. the epic and resolution).
        side: which prices to draw: ``mid`` (default), ``bid`` or ``ask``.
        volume: draw a volume panel; by default when any bar has a volume.

    Raises:
        MissingDependencyError: matplotlib is missing (``pip install 'capitalcom-sdk[chart]'``).
        ValueError: no bars, or a size that is not positive.
    """
    figure = candlestick_figure(
        prices, title=title, width=width, height=height, dpi=dpi, side=side, volume=volume
    )
    out = Path(path)
    figure.savefig(out, format="png", dpi=dpi)
    return out
