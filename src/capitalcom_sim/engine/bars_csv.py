"""Bars given to the control plane as CSV text (``time,open,high,low,close[,volume]``)."""

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


def parse_bars_csv(text: str) -> list[tuple[int, float, float, float, float, int | None]]:
    reader = csv.reader(io.StringIO(text.strip()))
    rows = [r for r in reader if r and any(cell.strip() for cell in r)]
    if not rows:
        raise ApiError(400, "error.invalid.bars")
    header = [h.strip().lower() for h in rows[0]]
    if header[:5] != ["time", "open", "high", "low", "close"]:
        raise ApiError(400, "error.invalid.bars.header")
    has_volume = len(header) > 5 and header[5] == "volume"
    out: list[tuple[int, float, float, float, float, int | None]] = []
    for row in rows[1:]:
        if len(row) < 5:
            raise ApiError(400, "error.invalid.bars.row")
        try:
            o, h, low, c = (float(x) for x in row[1:5])
            volume = int(float(row[5])) if has_volume and len(row) > 5 and row[5].strip() else None
        except ValueError:
            raise ApiError(400, "error.invalid.bars.row") from None
        if not all(math.isfinite(x) for x in (o, h, low, c)):
            raise ApiError(400, "error.invalid.bars.row")
        out.append((_parse_time(row[0]), o, h, low, c, volume))
    if not out:
        raise ApiError(400, "error.invalid.bars")
    out.sort(key=lambda r: r[0])
    return out
