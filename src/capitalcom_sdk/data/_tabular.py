"""``to_pandas()`` / ``to_csv()`` / ``to_parquet()`` on the list results of the SDK.

A mixin of the list models (``PriceHistory``, ``Positions``, ...): the kind of table is inferred
from the model's list field, pandas / pyarrow are imported only when a method is called.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd
    import polars as pl
    import pyarrow as pa


class Tabular:
    """Table exports of a list result; columns as documented in docs/data.md."""

    __slots__ = ()

    def to_pandas(self, *, decimal: bool = False) -> pd.DataFrame:
        """The items as a DataFrame (needs ``pip install 'capitalcom-sdk[data]'``).

        ``decimal=True``: prices and amounts as exact ``Decimal`` objects instead of floats.
        """
        from capitalcom_sdk.data.frames import to_pandas

        return to_pandas(self, decimal=decimal)

    def to_arrow(self) -> pa.Table:
        """The items as a ``pyarrow.Table`` (same columns; needs the ``data`` extra)."""
        from capitalcom_sdk.data.arrow import to_arrow

        return to_arrow(self)

    def to_polars(self) -> pl.DataFrame:
        """The items as a Polars DataFrame (same columns; needs the ``catalog`` extra)."""
        from capitalcom_sdk.data.arrow import to_polars

        return to_polars(self)

    def to_csv(self, path: str | os.PathLike[str]) -> int:
        """Write the items as CSV (no extra needed); returns the number of rows."""
        from capitalcom_sdk.data.files import write_csv

        return write_csv(self, path)

    def to_parquet(self, path: str | os.PathLike[str]) -> int:
        """Write the items as Parquet (needs the ``data`` extra); returns the number of rows."""
        from capitalcom_sdk.data.files import write_parquet

        return write_parquet(self, path)
