"""Candlestick charts of price bars as PNG files (matplotlib, Agg canvas: no display needed)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from capitalcom_sdk.data._optional import require
from capitalcom_sdk.data._schema import Row, rows

Side = Literal["mid", "bid", "ask"]

_UP = "#26a69a"
_DOWN = "#ef5350"
_MAX_TICKS = 8


def _bar_rows(prices: Any) -> list[Row]:
    """Schema rows from a price result, a list of bars, or a DataFrame from ``to_pandas()``."""
    if type(prices).__module__.startswith("pandas"):
        records: list[Row] = prices.reset_index().to_dict("records")
        return records
    return rows(prices, "prices")


def _tick_label(times: Sequence[datetime]) -> str:
    span = (times[-1] - times[0]).total_seconds() if len(times) > 1 else 0.0
    if span >= 7 * 86_400:
        return "%Y-%m-%d"
    if span >= 86_400:
        return "%m-%d %H:%M"
    return "%H:%M"


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
    if width <= 0 or height <= 0 or dpi <= 0:
        raise ValueError("width, height and dpi must be positive")
    data = [r for r in _bar_rows(prices) if r.get(f"open_{side}") is not None]
    if not data:
        raise ValueError("no price bars to draw")
    require("matplotlib", "candlestick_chart()")
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

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
    ax.grid(True, alpha=0.25)
    ax.set_ylabel(f"price ({side})")
    if title:
        ax.set_title(title)

    step = max(1, len(data) // _MAX_TICKS)
    # no label within half a step of the right edge, where it would be cut off
    ticks = [x for x in xs[::step] if x == 0 or len(data) - 1 - x >= step / 2]
    fmt = _tick_label(times)
    labelled = ax_volume if ax_volume is not None else ax
    labelled.set_xticks(ticks)
    labelled.set_xticklabels([times[i].strftime(fmt) for i in ticks], fontsize=8)
    if ax_volume is not None:
        ax.tick_params(labelbottom=False)
        ax_volume.bar(xs, [v or 0 for v in volumes], width=0.7, color=colors, linewidth=0)
        ax_volume.set_ylabel("volume")
        ax_volume.grid(True, alpha=0.25)
    labelled.set_xlabel("time (UTC)")
    figure.subplots_adjust(left=0.08, right=0.98, top=0.93, bottom=0.1)

    out = Path(path)
    figure.savefig(out, format="png", dpi=dpi)
    return out
