"""CSV and Parquet files of API results, in the documented column schemas (docs/data.md).

CSV needs no optional dependency (standard ``csv`` module); Parquet needs the ``data`` extra.
"""

from __future__ import annotations

import csv
import math
import os
from datetime import datetime
from typing import TYPE_CHECKING, Any

from capitalcom_sdk.data._optional import require
from capitalcom_sdk.data._schema import SCHEMAS, Kind, infer_kind, rows
from capitalcom_sdk.data.frames import PANDAS_DTYPES, frame_from_rows

if TYPE_CHECKING:
    import pandas as pd

PathLike = str | os.PathLike[str]


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, float):
        return "" if math.isnan(value) else repr(value)
    return str(value)


def write_csv(result: Any, path: PathLike, kind: Kind | None = None) -> int:
    """Write a list result as CSV (header = the schema's columns); returns the number of rows.

    Times are ISO 8601 with an explicit ``+00:00``; missing values are empty cells.
    """
    chosen = kind or infer_kind(result)
    schema = SCHEMAS[chosen]
    data = rows(result, chosen)
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(schema.names)
        for row in data:
            writer.writerow([_cell(row[name]) for name in schema.names])
    return len(data)


def read_csv(path: PathLike, kind: Kind) -> pd.DataFrame:
    """Read a CSV written by :func:`write_csv` back into the same typed DataFrame."""
    pandas: Any = require("pandas", "read_csv()")
    schema = SCHEMAS[kind]
    text_dtypes = {
        c.name: PANDAS_DTYPES[c.dtype] for c in schema.columns if c.dtype in ("string", "int")
    }
    raw = pandas.read_csv(path, dtype=text_dtypes, keep_default_na=True)
    data = []
    for record in raw.to_dict("records"):
        data.append({k: (None if _missing(pandas, v) else v) for k, v in record.items()})
    return frame_from_rows(_typed(data, kind), kind)


def _missing(pandas: Any, value: Any) -> bool:
    return value is None or bool(pandas.isna(value))


def _typed(data: list[dict[str, Any]], kind: Kind) -> list[dict[str, Any]]:
    schema = SCHEMAS[kind]
    out = []
    for record in data:
        row: dict[str, Any] = {}
        for column in schema.columns:
            value = record.get(column.name)
            if value is not None and column.dtype == "datetime":
                value = datetime.fromisoformat(str(value))
            elif value is not None and column.dtype == "bool" and not isinstance(value, bool):
                value = str(value).lower() == "true"
            elif value is not None and column.dtype == "int":
                value = int(value)
            row[column.name] = value
        out.append(row)
    return out


def write_parquet(result: Any, path: PathLike, kind: Kind | None = None) -> int:
    """Write a list result as Parquet (pyarrow), index and dtypes kept; returns the row count."""
    require("pyarrow", "to_parquet()")
    chosen = kind or infer_kind(result)
    df = frame_from_rows(rows(result, chosen), chosen)
    df.to_parquet(path, engine="pyarrow")
    return len(df)


def read_parquet(path: PathLike) -> pd.DataFrame:
    """Read a Parquet file written by :func:`write_parquet`."""
    pandas: Any = require("pandas", "read_parquet()")
    require("pyarrow", "read_parquet()")
    df: pd.DataFrame = pandas.read_parquet(path, engine="pyarrow")
    return df
