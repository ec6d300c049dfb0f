"""Candlestick PNGs are valid images of the requested size."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from PIL import Image

from capitalcom_sdk.data import MissingDependencyError, candlestick_chart, to_pandas
from tests.sdk.data._bars import wire_bars

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
