"""pandas DataFrames of API results, with the documented column schemas (docs/data.md)."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from capitalcom_sdk._decimal import to_decimal
from capitalcom_sdk.data._optional import require
from capitalcom_sdk.data._schema import SCHEMAS, Dtype, Kind, Row, columns, infer_kind

if TYPE_CHECKING:
    import pandas as pd

PANDAS_DTYPES: dict[Dtype, str] = {
    "datetime": "datetime64[ns, UTC]",
    "float": "float64",
    "int": "Int64",
    "string": "string",
    "bool": "boolean",
}
"""The pandas dtype of each schema dtype (nullable integer, boolean and string dtypes)."""


def frame_from_rows(data: list[Row], kind: Kind) -> pd.DataFrame:
    """A DataFrame of schema rows: every column present, typed, the index set."""
    names = SCHEMAS[kind].names
    return frame_from_columns({name: [row.get(name) for row in data] for name in names}, kind)


def frame_from_columns(
    data: dict[str, list[Any]], kind: Kind, *, decimal: bool = False
) -> pd.DataFrame:
    """A DataFrame of schema columns (name -> values): typed, the index set.

    With ``decimal`` the float columns hold ``Decimal`` objects (see :func:`to_pandas`).
    """
    pandas: Any = require("pandas", "to_pandas()")
    schema = SCHEMAS[kind]
    columns: dict[str, Any] = {}
    exact: dict[str, list[Decimal | None]] = {}
    for column in schema.columns:
        values = data[column.name]
        dtype = PANDAS_DTYPES[column.dtype]
        if decimal and column.dtype == "float":
            if column.source:
                exact[column.name] = [to_decimal(v) for v in values]
            else:  # a mid: the exact half-sum of the exact bid and ask
                side = column.name.removesuffix("_mid")
                pairs = zip(exact[f"{side}_bid"], exact[f"{side}_ask"], strict=True)
                exact[column.name] = [
                    None if b is None or a is None else (b + a) / 2 for b, a in pairs
                ]
            columns[column.name] = pandas.Series(exact[column.name], dtype=object)
        elif column.dtype == "datetime":
            stamps = pandas.to_datetime(pandas.Series(values, dtype=object), utc=True)
            columns[column.name] = stamps.astype(dtype)
        else:
            columns[column.name] = pandas.Series(pandas.array(values, dtype=dtype))
    df: pd.DataFrame = pandas.DataFrame(columns, columns=list(schema.names))
    if schema.index:
        df = df.set_index(schema.index)
    return df


def to_pandas(result: Any, kind: Kind | None = None, *, decimal: bool = False) -> pd.DataFrame:
    """A DataFrame of a list result (prices, positions, activities, ...).

    Args:
        result: a list result model (``PriceHistory``, ``PositionList``, ...), a list of its items,
            or the same as decoded JSON.
        kind: which schema to use; inferred from the result when omitted.
        decimal: prices and amounts as ``Decimal`` objects (object columns, exactly the numbers
            the API sent; mids exact too) instead of ``float64``. Slower; for accounting.

    Raises:
        MissingDependencyError: pandas is not installed (``pip install 'capitalcom-sdk[data]'``).
    """
    require("pandas", "to_pandas()")
    chosen = kind or infer_kind(result)
    return frame_from_columns(columns(result, chosen), chosen, decimal=decimal)
