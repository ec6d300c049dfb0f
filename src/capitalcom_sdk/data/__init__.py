"""Tables, files and charts of API results: DataFrames, CSV, Parquet, candlestick PNGs.

pandas, pyarrow and matplotlib are optional: they are imported by the functions that need them,
which raise :class:`MissingDependencyError` naming the extra to install
(``pip install 'capitalcom-sdk[data]'`` or ``[chart]``). Importing this package imports none.
The column schemas are documented in docs/data.md and defined in :data:`SCHEMAS`.
"""

from capitalcom_sdk.data._optional import MissingDependencyError
from capitalcom_sdk.data._schema import KINDS, SCHEMAS, Column, Kind, Schema, infer_kind, rows
from capitalcom_sdk.data.arrow import to_arrow, to_polars
from capitalcom_sdk.data.charts import candlestick_chart, candlestick_figure
from capitalcom_sdk.data.files import read_csv, read_parquet, write_csv, write_parquet
from capitalcom_sdk.data.frames import PANDAS_DTYPES, to_pandas

__all__ = [
    "KINDS",
    "PANDAS_DTYPES",
    "SCHEMAS",
    "Column",
    "Kind",
    "MissingDependencyError",
    "Schema",
    "candlestick_chart",
    "candlestick_figure",
    "infer_kind",
    "read_csv",
    "read_parquet",
    "rows",
    "to_arrow",
    "to_pandas",
    "to_polars",
    "write_csv",
    "write_parquet",
]
