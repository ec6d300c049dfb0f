"""The history a backtest replays: bars of each epic read from a catalog, a CSV or Parquet file,
or fetched through the SDK and cached in a catalog; sent to the simulator as mid OHLC bars.

Columns are those of the SDK's own exports (``time``, ``open_bid`` ... ``close_ask``,
``volume``, ``open_mid`` ... ``close_mid``: ``PriceHistory.to_csv()``, the catalog) or the
simulator's bar CSV (``time,open,high,low,close[,volume]``). The mid of a bar is taken from the
``*_mid`` columns, else the mean of bid and ask, else ``open ... close``.
"""

from __future__ import annotations

import csv
import math
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from capitalcom_sdk.errors import ConfigurationError

FIELDS = ("open", "high", "low", "close")


@dataclass(frozen=True, slots=True)
class Bar:
    """One mid bar: start (epoch ms), open, high, low, close, volume (None: unknown)."""

    time_ms: int
    open: float
    high: float
    low: float
    close: float
    volume: int | None = None
    spread: float | None = None  # the recorded close_ask - close_bid, when the data has both


DataSource = str | os.PathLike[str] | Mapping[str, str | os.PathLike[str]] | Any
"""A catalog folder, a CSV / Parquet file (one epic), a folder of ``EPIC.csv`` /
``EPIC.parquet`` files, a mapping epic -> file, or a :class:`~capitalcom_sdk.Client` (fetched
and cached in a catalog)."""


def _time_ms(value: Any, where: str) -> int:
    if isinstance(value, datetime):
        stamp = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
        return int(stamp.timestamp() * 1000)
    text = str(value).strip()
    if text.lstrip("-").isdigit():
        return int(text)
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ConfigurationError(
            f"{where}: time {text!r} is neither epoch ms nor ISO 8601"
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return int(parsed.timestamp() * 1000)


def _number(row: Mapping[str, Any], key: str) -> float | None:
    value = row.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _mid(row: Mapping[str, Any], name: str) -> float | None:
    mid = _number(row, f"{name}_mid")
    if mid is not None:
        return mid
    bid, ask = _number(row, f"{name}_bid"), _number(row, f"{name}_ask")
    if bid is not None and ask is not None:
        return (bid + ask) / 2
    return _number(row, name) if bid is None and ask is None else (bid if ask is None else ask)


def bars_from_rows(rows: Iterable[Mapping[str, Any]], where: str) -> list[Bar]:
    """Bars from dict rows with the SDK's export columns (or plain OHLC), sorted by time."""
    bars: dict[int, Bar] = {}
    for number, raw in enumerate(rows, start=1):
        row = {str(k).strip().lower(): v for k, v in raw.items()}
        if "time" not in row:
            raise ConfigurationError(f"{where}: no 'time' column")
        prices = [_mid(row, name) for name in FIELDS]
        if any(p is None for p in prices):
            continue  # a bar without prices (a gap in the source) is skipped
        o, h, low, c = (float(p) for p in prices if p is not None)
        if not (low <= min(o, c) <= max(o, c) <= h) or low <= 0:
            raise ConfigurationError(
                f"{where}: row {number} is not a valid bar ({o}, {h}, {low}, {c})"
            )
        volume = _number(row, "volume")
        stamp = _time_ms(row["time"], f"{where} row {number}")
        bid, ask = _number(row, "close_bid"), _number(row, "close_ask")
        spread = ask - bid if bid is not None and ask is not None and ask >= bid else None
        bars[stamp] = Bar(stamp, o, h, low, c, None if volume is None else int(volume), spread)
    return [bars[t] for t in sorted(bars)]


def read_file(path: Path) -> list[Bar]:
    """Bars of one CSV or Parquet file."""
    suffix = path.suffix.lower()
    if suffix == ".csv":
        with path.open(newline="", encoding="utf-8") as handle:
            return bars_from_rows(csv.DictReader(handle), str(path))
    if suffix in (".parquet", ".pq"):
        from capitalcom_sdk.data._optional import require

        parquet = require("pyarrow.parquet", "catalog")
        table = parquet.read_table(path)
        return bars_from_rows(table.to_pylist(), str(path))
    raise ConfigurationError(f"{path}: a .csv or .parquet file is needed")


def _from_catalog(
    root: Path | str, epics: Sequence[str], resolution: str, start: datetime, end: datetime
) -> dict[str, list[Bar]]:
    from capitalcom_sdk.catalog import Catalog

    catalog = Catalog(root)
    out: dict[str, list[Bar]] = {}
    for epic in epics:
        table = catalog.bars(epic, resolution, start, end, as_="arrow")
        out[epic] = bars_from_rows(table.to_pylist(), f"catalog {root} {epic}/{resolution}")
    return out


def _from_folder(folder: Path, epics: Sequence[str]) -> dict[str, list[Bar]]:
    out: dict[str, list[Bar]] = {}
    for epic in epics:
        found = [
            folder / f"{epic}{s}" for s in (".csv", ".parquet") if (folder / f"{epic}{s}").exists()
        ]
        if not found:
            raise ConfigurationError(
                f"{folder}: no {epic}.csv or {epic}.parquet (and no catalog _manifest.json)"
            )
        out[epic] = read_file(found[0])
    return out


def load_history(
    data: DataSource,
    epics: Sequence[str],
    resolution: str,
    start: datetime,
    end: datetime,
    *,
    cache: str | os.PathLike[str] | None = None,
) -> dict[str, list[Bar]]:
    """Each epic's bars of ``[start, end)`` (sorted by time) from ``data``."""
    from capitalcom_sdk._client import Client

    if isinstance(data, Client):
        if cache is None:
            raise ConfigurationError("fetching history through a client needs cache= (a folder)")
        from capitalcom_sdk.catalog import Catalog

        Catalog(cache, data).sync(list(epics), resolution, start, end)
        bars = _from_catalog(Path(cache), epics, resolution, start, end)
    elif isinstance(data, Mapping):
        missing = [e for e in epics if e not in data]
        if missing:
            raise ConfigurationError(f"data: no file for {', '.join(missing)}")
        bars = {epic: read_file(Path(data[epic])) for epic in epics}
    elif isinstance(data, str | os.PathLike):
        path = Path(data)
        if not path.exists():
            raise ConfigurationError(f"data: {path} does not exist")
        if path.is_dir():
            if (path / "_manifest.json").exists():
                bars = _from_catalog(path, epics, resolution, start, end)
            else:
                bars = _from_folder(path, epics)
        elif len(epics) != 1:
            raise ConfigurationError(
                f"data: one file ({path.name}) holds one epic; give a folder of EPIC.csv files, "
                "a catalog or a mapping epic -> file for several"
            )
        else:
            bars = {epics[0]: read_file(path)}
    else:
        raise ConfigurationError(
            f"data must be a path, a mapping epic -> file or a Client, got {type(data).__name__}"
        )
    first, last = int(start.timestamp() * 1000), int(end.timestamp() * 1000)
    window = {e: [b for b in bars[e] if first <= b.time_ms < last] for e in epics}
    empty = [e for e, b in window.items() if not b]
    if empty:
        raise ConfigurationError(
            f"data: no {resolution} bars of {', '.join(empty)} between {start:%Y-%m-%d %H:%M} "
            f"and {end:%Y-%m-%d %H:%M} UTC"
        )
    return window


def bars_csv(bars: Sequence[Bar], bar_ms: int, *, spreads: bool = False) -> str:
    """The simulator's bar CSV of ``bars``: a gap longer than one bar is filled with one flat bar
    at the last close (the simulator makes each bar last until the next one starts, and the
    price must not wander through a closed market), and one flat bar closes the series so the
    last real bar lasts ``bar_ms``.

    ``spreads``: add the ``spread`` column, each bar's recorded ``close_ask - close_bid`` (blank
    where the data has none, and on the flat filler bars: the instrument's spread applies).
    """
    lines = ["time,open,high,low,close,volume" + (",spread" if spreads else "")]
    for index, bar in enumerate(bars):
        line = (
            f"{bar.time_ms},{bar.open!r},{bar.high!r},{bar.low!r},{bar.close!r},"
            f"{'' if bar.volume is None else bar.volume}"
        )
        if spreads:
            line += f",{'' if bar.spread is None else repr(bar.spread)}"
        lines.append(line)
        following = bars[index + 1].time_ms if index + 1 < len(bars) else None
        bar_end = bar.time_ms + bar_ms
        if following is None or following > bar_end:
            close = repr(bar.close)
            lines.append(f"{bar_end},{close},{close},{close},{close},0" + ("," if spreads else ""))
    return "\n".join(lines) + "\n"


def recorded_spread(bars: Sequence[Bar]) -> float | None:
    """The median recorded spread of ``bars`` (None when the data has no bid and ask)."""
    spreads = sorted(b.spread for b in bars if b.spread is not None)
    return spreads[len(spreads) // 2] if spreads else None
