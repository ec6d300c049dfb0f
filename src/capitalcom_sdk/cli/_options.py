"""Option types and parsers shared by the commands."""

from __future__ import annotations

import functools
import inspect
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, ParamSpec, TypeVar, get_type_hints

import typer

from capitalcom_sdk.errors import RequestValidationError
from capitalcom_sdk.models.enums import Direction, OrderType, Resolution

P = ParamSpec("P")
R = TypeVar("R")

__all__ = [
    "CsvOut",
    "Direction",
    "DirectionArg",
    "JsonFlag",
    "NoWait",
    "OrderType",
    "ParquetOut",
    "Resolution",
    "ResolutionOpt",
    "Stops",
    "parse_duration",
    "parse_time",
    "with_stop_options",
]

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


ResolutionOpt = Annotated[
    Resolution, typer.Option("--resolution", "-r", help="Bar size.", case_sensitive=False)
]
DirectionArg = Annotated[Direction, typer.Argument(help="BUY or SELL.", case_sensitive=False)]

NoWait = Annotated[
    bool,
    typer.Option(
        "--no-wait", help="Do not wait for the deal confirmation; print the deal reference."
    ),
]

Stops = dict[str, Any]
"""The stop/profit options a command was given, as keyword arguments of the trading call."""

_STOP_OPTIONS: tuple[tuple[str, Any], ...] = (
    ("stop_level", Annotated[float | None, typer.Option(help="Stop-loss price level.")]),
    (
        "stop_distance",
        Annotated[float | None, typer.Option(help="Stop-loss distance from the price.")],
    ),
    ("stop_amount", Annotated[float | None, typer.Option(help="Stop-loss as a loss amount.")]),
    ("profit_level", Annotated[float | None, typer.Option(help="Take-profit price level.")]),
    (
        "profit_distance",
        Annotated[float | None, typer.Option(help="Take-profit distance from the price.")],
    ),
    (
        "profit_amount",
        Annotated[float | None, typer.Option(help="Take-profit as a profit amount.")],
    ),
    (
        "guaranteed_stop",
        Annotated[
            bool | None,
            typer.Option(
                "--guaranteed-stop/--no-guaranteed-stop",
                help="Guaranteed stop.",
                show_default=False,
            ),
        ],
    ),
    (
        "trailing_stop",
        Annotated[
            bool | None,
            typer.Option(
                "--trailing-stop/--no-trailing-stop",
                help="Trailing stop (needs a stop distance).",
                show_default=False,
            ),
        ],
    ),
)
STOP_OPTION_NAMES = tuple(name for name, _ in _STOP_OPTIONS)


def with_stop_options(command: Callable[P, R]) -> Callable[P, R]:
    """Give a command the eight stop/profit options, declared once here.

    The command declares a ``stops: Stops`` parameter instead; it receives the options that
    were given (unset ones left out), ready to pass to the SDK's trading call as ``**stops``.
    """
    signature = inspect.signature(command, eval_str=True)
    hints = get_type_hints(command, include_extras=True)
    kept = [p for p in signature.parameters.values() if p.name != "stops"]
    # in --help the stop options come before the command's last options (--no-wait, --json)
    at = next((i for i, p in enumerate(kept) if p.name in ("no_wait", "json_output")), len(kept))
    added = [
        inspect.Parameter(name, inspect.Parameter.POSITIONAL_OR_KEYWORD, default=None, annotation=a)
        for name, a in _STOP_OPTIONS
    ]
    merged = [*kept[:at], *added, *kept[at:]]

    @functools.wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        given = {name: kwargs.pop(name, None) for name in STOP_OPTION_NAMES}
        kwargs["stops"] = {k: v for k, v in given.items() if v is not None}
        return command(*args, **kwargs)

    wrapper.__signature__ = signature.replace(parameters=merged)  # type: ignore[attr-defined]
    wrapper.__annotations__ = {
        **{k: v for k, v in hints.items() if k != "stops"},
        **dict(_STOP_OPTIONS),
    }
    return wrapper


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
