"""Option types and parsers shared by the commands."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from capitalcom_sdk.errors import RequestValidationError

JsonFlag = Annotated[
    bool,
    typer.Option("--json", help="Print one JSON document (NDJSON for streams) instead of tables."),
]
CsvOut = Annotated[
    Path | None, typer.Option("--csv", help="Also write the rows to this CSV file (docs/data.md).")
]
ParquetOut = Annotated[
    Path | None,
    typer.Option("--parquet", help="Also write the rows to this Parquet file (needs [data])."),
]


class Side(StrEnum):
    BUY = "BUY"
    SELL = "SELL"


class OrderKind(StrEnum):
    LIMIT = "LIMIT"
    STOP = "STOP"


class Resolution(StrEnum):
    MINUTE = "MINUTE"
    MINUTE_5 = "MINUTE_5"
    MINUTE_15 = "MINUTE_15"
    MINUTE_30 = "MINUTE_30"
    HOUR = "HOUR"
    HOUR_4 = "HOUR_4"
    DAY = "DAY"
    WEEK = "WEEK"


ResolutionOpt = Annotated[
    Resolution, typer.Option("--resolution", "-r", help="Bar size.", case_sensitive=False)
]

StopLevel = Annotated[float | None, typer.Option(help="Stop-loss price level.")]
StopDistance = Annotated[float | None, typer.Option(help="Stop-loss distance from the price.")]
StopAmount = Annotated[float | None, typer.Option(help="Stop-loss as a loss amount.")]
ProfitLevel = Annotated[float | None, typer.Option(help="Take-profit price level.")]
ProfitDistance = Annotated[float | None, typer.Option(help="Take-profit distance from the price.")]
ProfitAmount = Annotated[float | None, typer.Option(help="Take-profit as a profit amount.")]
GuaranteedStop = Annotated[
    bool | None,
    typer.Option(
        "--guaranteed-stop/--no-guaranteed-stop", help="Guaranteed stop.", show_default=False
    ),
]
TrailingStop = Annotated[
    bool | None,
    typer.Option(
        "--trailing-stop/--no-trailing-stop",
        help="Trailing stop (needs a stop distance).",
        show_default=False,
    ),
]
NoWait = Annotated[
    bool,
    typer.Option(
        "--no-wait", help="Do not wait for the deal confirmation; print the deal reference."
    ),
]


def stop_options(**given: Any) -> dict[str, Any]:
    """The stop/profit keyword arguments of a trading call, unset options left out."""
    return {k: v for k, v in given.items() if v is not None}


_RELATIVE = re.compile(r"^(\d+(?:\.\d+)?)\s*([smhdw])$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 604_800}


def parse_duration(text: str, option: str) -> timedelta:
    """``90s``, ``15m``, ``12h``, ``30d``, ``2w`` as a timedelta."""
    match = _RELATIVE.match(text.strip().lower())
    if not match:
        raise RequestValidationError(option, f"expected a duration like 30d, 12h or 15m: {text!r}")
    return timedelta(seconds=float(match.group(1)) * _UNITS[match.group(2)])


def parse_time(
    text: str | None, option: str, now: datetime, *, future: bool = False
) -> datetime | None:
    """An ISO 8601 date or time (no zone = UTC), or a duration before ``now`` (``30d``; after
    ``now`` when ``future``)."""
    if text is None:
        return None
    if _RELATIVE.match(text.strip().lower()):
        delta = parse_duration(text, option)
        return now + delta if future else now - delta
    try:
        parsed = datetime.fromisoformat(text.strip())
    except ValueError:
        raise RequestValidationError(
            option, f"expected ISO 8601 (2026-01-31T12:00) or a duration (30d): {text!r}"
        ) from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
