"""Candlestick PNGs are valid images of the requested size."""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from PIL import Image

from capitalcom_sdk.data import (
    MissingDependencyError,
    candlestick_chart,
    candlestick_figure,
    to_pandas,
)
from capitalcom_sdk.data.charts import HEADROOM, date_ticks, volume_label
from tests.sdk.data._bars import wire_bars

if TYPE_CHECKING:
    from matplotlib.figure import Figure

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize(("width", "height"), [(1200, 700), (640, 480), (1333, 777)])
def test_chart_is_a_png_of_the_requested_size(tmp_path: Path, width: int, height: int) -> None:
    path = tmp_path / "chart.png"
    out = candlestick_chart(wire_bars(120), path, title="SILVER HOUR", width=width, height=height)
    assert out == path
    assert path.read_bytes()[:8] == PNG_SIGNATURE
    with Image.open(path) as image:
        image.verify()
    with Image.open(path) as image:
        assert image.format == "PNG"
        assert image.size == (width, height)


def test_chart_draws_candles_not_a_blank_canvas(tmp_path: Path) -> None:
    path = tmp_path / "chart.png"
    candlestick_chart(wire_bars(30), path, width=400, height=300, volume=False)
    with Image.open(path) as image:
        colours = image.convert("RGB").getcolors(maxcolors=100_000)
    assert colours is not None
    rgb = {c for _, c in colours}
    assert (0x26, 0xA6, 0x9A) in rgb or (0xEF, 0x53, 0x50) in rgb


def test_chart_accepts_the_dataframe_and_each_side(tmp_path: Path) -> None:
    df = to_pandas(wire_bars(20), kind="prices")
    for side in ("mid", "bid", "ask"):
        path = tmp_path / f"{side}.png"
        candlestick_chart(df, path, side=side, width=300, height=200)  # type: ignore[arg-type]
        with Image.open(path) as image:
            assert image.size == (300, 200)


def test_chart_of_no_bars_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no price bars"):
        candlestick_chart([], tmp_path / "x.png")


def test_missing_matplotlib_names_the_chart_extra(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(MissingDependencyError, match=r"capitalcom-sdk\[chart\]"):
        candlestick_chart(wire_bars(3), tmp_path / "x.png")


# ---- readable as a charting site's: headroom, calendar ticks, dates, volume units ----------
def _figure(bars: list[dict[str, Any]], **kwargs: Any) -> Figure:
    return candlestick_figure(bars, width=1200, height=700, **kwargs)


def _lows_highs(bars: list[dict[str, Any]]) -> tuple[float, float]:
    lows = [(b["lowPrice"]["bid"] + b["lowPrice"]["ask"]) / 2 for b in bars]
    highs = [(b["highPrice"]["bid"] + b["highPrice"]["ask"]) / 2 for b in bars]
    return min(lows), max(highs)


def _times(bars: list[dict[str, Any]], ticks: list[float]) -> list[datetime]:
    return [
        datetime.fromisoformat(bars[int(x)]["snapshotTimeUTC"]).replace(tzinfo=UTC) for x in ticks
    ]


def test_candles_keep_the_same_headroom_above_and_below(tmp_path: Path) -> None:
    bars = wire_bars(200)
    low, high = _lows_highs(bars)
    bottom, top = _figure(bars).axes[0].get_ylim()
    assert bottom < low
    assert top > high
    assert low - bottom == pytest.approx(top - high)
    assert low - bottom == pytest.approx((high - low) * HEADROOM)


def test_a_flat_market_still_has_headroom() -> None:
    bars = wire_bars(3)
    for bar in bars:
        for key in ("openPrice", "highPrice", "lowPrice", "closePrice"):
            bar[key] = {"bid": 50.0, "ask": 50.0}
    bottom, top = _figure(bars).axes[0].get_ylim()
    assert bottom < 50.0 < top


def test_a_month_of_hourly_bars_is_ticked_on_mondays() -> None:
    bars = wire_bars(720)  # from Monday 2026-01-05 00:00 UTC, hourly
    ax = _figure(bars, volume=False).axes[0]
    ticks = list(ax.get_xticks())
    times = _times(bars, ticks)
    assert 3 <= len(ticks) <= 8
    assert all(t.weekday() == 0 and t.hour == 0 and t.minute == 0 for t in times)
    labels = [label.get_text() for label in ax.get_xticklabels()]
    assert labels == ["Jan 5\n2026", "Jan 12", "Jan 19", "Jan 26", "Feb 2"]


def test_intraday_ticks_on_whole_hours_show_the_date_across_midnight() -> None:
    bars = wire_bars(300, start=datetime(2026, 1, 5, 18, 0, tzinfo=UTC), step_minutes=5)
    figure = _figure(bars)
    ax_volume = figure.axes[1]
    times = _times(bars, list(ax_volume.get_xticks()))
    assert all(t.minute == 0 and t.hour % 2 == 0 for t in times)
    labels = [label.get_text() for label in ax_volume.get_xticklabels()]
    midnight = times.index(datetime(2026, 1, 6, tzinfo=UTC))
    assert labels[midnight] == "00:00\nJan 6"
    assert labels[0] == "20:00\nJan 5"
    assert all("\n" not in label for i, label in enumerate(labels) if i not in (0, midnight))
    figure.canvas.draw()
    price_labels = figure.axes[0].get_xticklabels()
    assert not any(label.get_visible() and label.get_text() for label in price_labels)


def test_an_intraday_chart_within_one_day_names_the_day_on_its_axis() -> None:
    bars = wire_bars(120, start=datetime(2026, 1, 7, 9, 0, tzinfo=UTC), step_minutes=1)
    ax = _figure(bars, volume=False).axes[0]
    labels = [label.get_text() for label in ax.get_xticklabels()]
    assert labels == ["09:00", "09:15", "09:30", "09:45", "10:00", "10:15", "10:30", "10:45"]
    assert ax.get_xlabel() == "time (UTC), Wed 7 Jan 2026"


def test_years_of_daily_bars_are_ticked_on_the_first_of_a_period() -> None:
    bars = wire_bars(800, start=datetime(2024, 1, 1, tzinfo=UTC), step_minutes=1440)
    ax = _figure(bars, volume=False).axes[0]
    times = _times(bars, list(ax.get_xticks()))
    assert 2 <= len(times) <= 8
    assert all(t.day == 1 and t.month in (1, 7) for t in times)
    labels = [label.get_text() for label in ax.get_xticklabels()]
    assert labels[:2] == ["Jan 2024", "Jul 2024"]


def test_ticks_fall_on_boundaries_for_every_span() -> None:
    start = datetime(2026, 3, 2, 13, 7, tzinfo=UTC)
    for step_minutes, count in ((1, 30), (1, 500), (5, 1000), (60, 100), (240, 500), (1440, 90)):
        times = [start + timedelta(minutes=step_minutes * i) for i in range(count)]
        period, ticks, labels = date_ticks(times)
        assert 1 <= len(ticks) <= 8, (step_minutes, count, period)
        assert len(labels) == len(ticks)
        assert ticks == sorted(set(ticks))
        for index in ticks:
            t = times[index]
            before = times[index - 1] if index else t - timedelta(microseconds=1)
            # each tick is the first bar of its period: its predecessor lies in another one
            assert (t.minute, t.hour) != (before.minute, before.hour) or t.date() != before.date()


@pytest.mark.parametrize(
    ("value", "label"),
    [(0, "0"), (950, "950"), (1000, "1k"), (75_000, "75k"), (1_500_000, "1.5M"), (2e9, "2B")],
)
def test_volume_labels_read_in_k_and_m(value: float, label: str) -> None:
    assert volume_label(value) == label


def test_the_volume_axis_is_labelled_in_thousands() -> None:
    bars = wire_bars(100)
    for bar in bars:
        bar["lastTradedVolume"] = bar["lastTradedVolume"] * 30  # up to 150,000
    figure = _figure(bars)
    figure.canvas.draw()
    labels = [label.get_text() for label in figure.axes[1].get_yticklabels()]
    assert any(label.endswith("k") for label in labels), labels
    assert not any(len(label) > 4 for label in labels), labels


def test_the_rendered_chart_is_a_png_with_candles_inside_the_frame(tmp_path: Path) -> None:
    path = tmp_path / "chart.png"
    bars = wire_bars(300, start=datetime(2026, 1, 5, 18, 0, tzinfo=UTC), step_minutes=5)
    candlestick_chart(bars, path, title="SILVER MINUTE_5")
    with Image.open(path) as image:
        rgb = image.convert("RGB")
        assert rgb.size == (1200, 700)
        # the price panel's frame: the lowest candle stays off its bottom edge
        figure = _figure(bars)
        ax = figure.axes[0]
        frame = ax.get_window_extent()
        low, _ = _lows_highs(bars)
        _, low_y = ax.transData.transform((0, low))
        assert low_y - frame.y0 > 5  # pixels of headroom under the lowest low
