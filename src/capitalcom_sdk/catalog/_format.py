"""The on-disk format: the Arrow schema of a part file, its metadata, paths and the manifest.

Schema version 1. Columns are the ``prices`` schema of docs/data.md (``time`` is the bar start,
``timestamp[ms, UTC]``; bid, ask and mid OHLC ``float64``; ``volume`` nullable ``int64``). The
partition columns (``epic``, ``resolution``, ``year``) live only in the path, as engines that
read Hive layouts expect. Each part file carries, under the Parquet key ``capitalcom``, the JSON
of :class:`PartInfo`: which instants it covers (a covered instant without a bar had no trading),
the epic, resolution, decimal places and, after compaction, the files it replaces.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from capitalcom_sdk.catalog._intervals import Span
from capitalcom_sdk.data._optional import require
from capitalcom_sdk.errors import RequestValidationError

if TYPE_CHECKING:
    import pyarrow as pa

    from capitalcom_sdk.models.prices import PriceBar

SCHEMA_VERSION = 1
METADATA_KEY = b"capitalcom"
PRICES_DIR = "prices"
MANIFEST = "_manifest.json"
STAGING = "_staging"
PRICE_COLUMNS = (
    "open_bid",
    "high_bid",
    "low_bid",
    "close_bid",
    "open_ask",
    "high_ask",
    "low_ask",
    "close_ask",
)
MID_COLUMNS = ("open_mid", "high_mid", "low_mid", "close_mid")
COLUMNS = ("time", *PRICE_COLUMNS, "volume", *MID_COLUMNS)
_SAFE_EPIC = re.compile(r"^[A-Za-z0-9_.\-]+$")


def check_epic(epic: str) -> str:
    """An epic that is safe as a path segment (letters, digits, ``_ . -``)."""
    if not isinstance(epic, str) or not _SAFE_EPIC.match(epic):
        raise RequestValidationError(
            "epic", f"must be letters, digits, '_', '.' or '-' (a path segment), got {epic!r}"
        )
    return epic


def arrow_schema() -> pa.Schema:
    """The schema of every part file (version 1)."""
    pa: Any = require("pyarrow", "the catalog")
    price = pa.float64()
    return pa.schema(
        [
            pa.field("time", pa.timestamp("ms", tz="UTC"), nullable=False),
            *(pa.field(name, price) for name in PRICE_COLUMNS),
            pa.field("volume", pa.int64()),
            *(pa.field(name, price) for name in MID_COLUMNS),
        ]
    )


@dataclass(frozen=True)
class PartInfo:
    """What a part file holds, kept in its Parquet metadata (and mirrored in the manifest)."""

    epic: str
    resolution: str
    year: int
    coverage: tuple[Span, ...]
    rows: int
    decimal_places: int | None = None
    instrument_type: str | None = None
    replaces: tuple[str, ...] = field(default=())
    schema_version: int = SCHEMA_VERSION

    def to_json(self) -> dict[str, Any]:
        return {
            "schema_version": self.schema_version,
            "epic": self.epic,
            "resolution": self.resolution,
            "year": self.year,
            "coverage": [list(span) for span in self.coverage],
            "rows": self.rows,
            "decimal_places": self.decimal_places,
            "instrument_type": self.instrument_type,
            "replaces": list(self.replaces),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PartInfo:
        return cls(
            epic=str(data["epic"]),
            resolution=str(data["resolution"]),
            year=int(data["year"]),
            coverage=tuple((int(a), int(b)) for a, b in data["coverage"]),
            rows=int(data["rows"]),
            decimal_places=data.get("decimal_places"),
            instrument_type=data.get("instrument_type"),
            replaces=tuple(data.get("replaces", ())),
            schema_version=int(data.get("schema_version", SCHEMA_VERSION)),
        )

    def encode(self) -> bytes:
        return json.dumps(self.to_json(), separators=(",", ":")).encode()


def series_dir(epic: str, resolution: str) -> str:
    """``prices/epic=GOLD/resolution=HOUR`` (relative to the root)."""
    return f"{PRICES_DIR}/epic={epic}/resolution={resolution}"


def year_dir(epic: str, resolution: str, year: int) -> str:
    return f"{series_dir(epic, resolution)}/year={year}"


def year_span(year: int) -> Span:
    """``[1 Jan year, 1 Jan year+1)`` in ms."""
    return (to_ms(datetime(year, 1, 1, tzinfo=UTC)), to_ms(datetime(year + 1, 1, 1, tzinfo=UTC)))


def year_of(ms: int) -> int:
    return from_ms(ms).year


def to_ms(value: datetime) -> int:
    return int(value.timestamp() * 1000)


def from_ms(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


def bars_table(bars: Sequence[PriceBar]) -> pa.Table:
    """The bars (sorted, unique) as a table in the part-file schema."""
    pa: Any = require("pyarrow", "the catalog")
    pc: Any = require("pyarrow.compute", "the catalog")
    schema = arrow_schema()
    times = [to_ms(bar.snapshot_time_utc) for bar in bars]
    sides = {
        "open": [bar.open_price for bar in bars],
        "high": [bar.high_price for bar in bars],
        "low": [bar.low_price for bar in bars],
        "close": [bar.close_price for bar in bars],
    }
    columns: dict[str, Any] = {"time": pa.array(times, pa.timestamp("ms", tz="UTC"))}
    for name, pairs in sides.items():
        columns[f"{name}_bid"] = pa.array([p.bid for p in pairs], pa.float64())
        columns[f"{name}_ask"] = pa.array([p.ask for p in pairs], pa.float64())
    volumes = [bar.last_traded_volume for bar in bars]
    columns["volume"] = pa.array([None if v is None else round(v) for v in volumes], pa.int64())
    for name in sides:
        total = pc.add(columns[f"{name}_bid"], columns[f"{name}_ask"])
        columns[f"{name}_mid"] = pc.divide(total, 2.0)
    return pa.table([columns[name] for name in schema.names], schema=schema)


def empty_table() -> pa.Table:
    return arrow_schema().empty_table()
