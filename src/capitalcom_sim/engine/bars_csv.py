"""Bars given to the control plane as CSV text (``time,open,high,low,close[,volume][,spread]``)."""

from __future__ import annotations

import csv
import io
import math
from datetime import UTC, datetime

from capitalcom_sim.errors import ApiError


def _parse_time(text: str) -> int:
    text = text.strip()
    if text.lstrip("-").isdigit():
        return int(text)
    try:
        parsed = datetime.strptime(text, "%Y-%m-%dT%H:%M:%S")
    except ValueError:
        raise ApiError(400, "error.invalid.bars.time") from None
    return int(parsed.replace(tzinfo=UTC).timestamp() * 1000)


def parse_bars_csv(
    text: str,
) -> list[tuple[int, float, float, float, float, int | None, float | None]]:
    """Rows (time, open, high, low, close, volume|None, spread|None), in time order.

    The header starts ``time,open,high,low,close``; optional ``volume`` and ``spread`` columns
    follow in any order (``spread``: the bar's offer - bid in price units, >= 0; a blank cell
    leaves the instrument's spread).
    """
    reader = csv.reader(io.StringIO(text.strip()))
    rows = [r for r in reader if r and any(cell.strip() for cell in r)]
    if not rows:
        raise ApiError(400, "error.invalid.bars")
    header = [h.strip().lower() for h in rows[0]]
    if header[:5] != ["time", "open", "high", "low", "close"]:
        raise ApiError(400, "error.invalid.bars.header")
    volume_at = header.index("volume", 5) if "volume" in header[5:] else None
    spread_at = header.index("spread", 5) if "spread" in header[5:] else None
    out: list[tuple[int, float, float, float, float, int | None, float | None]] = []
    for row in rows[1:]:
        if len(row) < 5:
            raise ApiError(400, "error.invalid.bars.row")
        try:
            o, h, low, c = (float(x) for x in row[1:5])
            volume = _cell(row, volume_at)
            spread = _cell(row, spread_at)
        except ValueError:
            raise ApiError(400, "error.invalid.bars.row") from None
        if not all(math.isfinite(x) for x in (o, h, low, c)):
            raise ApiError(400, "error.invalid.bars.row")
        if spread is not None and not (math.isfinite(spread) and spread >= 0):
            raise ApiError(400, "error.invalid.bars.row")
        out.append(
            (
                _parse_time(row[0]),
                o,
                h,
                low,
                c,
                None if volume is None else int(volume),
                spread,
            )
        )
    if not out:
        raise ApiError(400, "error.invalid.bars")
    out.sort(key=lambda r: r[0])
    return out


def _cell(row: list[str], index: int | None) -> float | None:
    """The number in column ``index`` (None: no such column or a blank cell)."""
    if index is None or len(row) <= index or not row[index].strip():
        return None
    return float(row[index])
