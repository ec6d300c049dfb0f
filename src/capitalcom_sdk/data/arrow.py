"""Arrow tables and Polars frames of API results, in the documented column schemas.

The same columns as :func:`~capitalcom_sdk.data.to_pandas` (docs/data.md), with times as
``timestamp[ms, UTC]`` and the index column (``time`` of prices) an ordinary first column:
Arrow and Polars have no index. pandas is not needed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from capitalcom_sdk.data._optional import require
from capitalcom_sdk.data._schema import SCHEMAS, Dtype, Kind, columns, infer_kind

if TYPE_CHECKING:
    import polars as pl
    import pyarrow as pa


def _arrow_type(pa: Any, dtype: Dtype) -> Any:
    return {
        "datetime": pa.timestamp("ms", tz="UTC"),
        "float": pa.float64(),
        "int": pa.int64(),
        "string": pa.string(),
        "bool": pa.bool_(),
    }[dtype]


def to_arrow(result: Any, kind: Kind | None = None) -> pa.Table:
    """A ``pyarrow.Table`` of a list result (needs ``pip install 'capitalcom-sdk[data]'``)."""
    pa: Any = require("pyarrow", "to_arrow()")
    chosen = kind or infer_kind(result)
    schema = SCHEMAS[chosen]
    data = columns(result, chosen)
    fields = [pa.field(c.name, _arrow_type(pa, c.dtype)) for c in schema.columns]
    arrays = [
        pa.array(data[c.name], type=f.type) for c, f in zip(schema.columns, fields, strict=True)
    ]
    return pa.Table.from_arrays(arrays, schema=pa.schema(fields))


def to_polars(result: Any, kind: Kind | None = None) -> pl.DataFrame:
    """A Polars DataFrame of a list result (needs ``pip install 'capitalcom-sdk[catalog]'``)."""
    polars: Any = require("polars", "to_polars()")
    frame: pl.DataFrame = polars.from_arrow(to_arrow(result, kind))
    return frame
