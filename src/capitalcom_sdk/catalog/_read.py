"""Reading bars back: pandas, Polars or Arrow, chosen by the caller, never by what is installed."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from capitalcom_sdk.catalog._format import arrow_schema, to_ms
from capitalcom_sdk.catalog._state import CatalogState, SeriesKey
from capitalcom_sdk.data._optional import require
from capitalcom_sdk.errors import RequestValidationError

if TYPE_CHECKING:
    import pyarrow as pa

Engine = Literal["pandas", "polars", "arrow"]
ENGINES: tuple[Engine, ...] = ("pandas", "polars", "arrow")


def read_table(
    state: CatalogState, key: SeriesKey, start: datetime | None, end: datetime | None
) -> pa.Table:
    """Bars of ``[start, end)`` of one series as one Arrow table, ascending by ``time``."""
    pa: Any = require("pyarrow", "Catalog.bars()")
    pc: Any = require("pyarrow.compute", "Catalog.bars()")
    low = to_ms(start) if start is not None else None
    high = to_ms(end) if end is not None else None
    tables = []
    for name, info in state.files_of(key):
        first, last = info.coverage[0][0], info.coverage[-1][1]
        if (low is not None and last <= low) or (high is not None and first >= high):
            continue
        table = state.store.read_part(name)
        inside = (low is None or first >= low) and (high is None or last <= high)
        if not inside:  # only a file reaching past the range is filtered (a copy)
            times = table.column("time").cast(pa.int64())
            mask = pc.greater_equal(times, low if low is not None else first)
            mask = pc.and_(mask, pc.less(times, high if high is not None else last))
            table = table.filter(mask)
        tables.append(table)
    if not tables:
        return arrow_schema().empty_table()
    table = tables[0] if len(tables) == 1 else pa.concat_tables(tables)
    return table.replace_schema_metadata(None)


def convert(table: pa.Table, as_: str) -> Any:
    """The table as the requested kind of frame."""
    if as_ == "arrow":
        return table
    if as_ == "polars":
        polars: Any = require("polars", "Catalog.bars(as_='polars')")
        return polars.from_arrow(table)
    if as_ == "pandas":
        return to_pandas_frame(table)
    raise RequestValidationError("as_", f"must be one of {', '.join(ENGINES)}, got {as_!r}")


def to_pandas_frame(table: pa.Table) -> Any:
    """The same frame as ``PriceHistory.to_pandas()``: ``time`` index (ns, UTC), ``Int64``
    volume, ``float64`` prices."""
    pandas: Any = require("pandas", "Catalog.bars(as_='pandas')")
    pa: Any = require("pyarrow", "Catalog.bars()")
    frame = table.to_pandas(
        types_mapper={pa.int64(): pandas.Int64Dtype()}.get,
        coerce_temporal_nanoseconds=True,
    )
    return frame.set_index("time")
