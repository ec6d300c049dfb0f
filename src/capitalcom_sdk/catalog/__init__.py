"""A local market-data catalog: price bars synced once, incrementally, read by any engine.

``Catalog(root, client).sync(epics, resolutions, start)`` keeps Hive-partitioned Parquet
(``prices/epic=.../resolution=.../year=.../part-*.parquet``) and a manifest of covered ranges
under ``root`` (a path or an fsspec URL); ``Catalog(root).bars(...)`` reads them back as pandas,
Polars or Arrow. DuckDB, Polars, Spark and Dask read the same files directly. Needs the
``catalog`` extra. See docs/data.md.
"""

from capitalcom_sdk.catalog._catalog import Catalog, SeriesInfo
from capitalcom_sdk.catalog._format import SCHEMA_VERSION, arrow_schema
from capitalcom_sdk.catalog._keys import load_keys
from capitalcom_sdk.catalog._sync import SeriesSummary, SyncProgress, SyncSummary

__all__ = [
    "SCHEMA_VERSION",
    "Catalog",
    "SeriesInfo",
    "SeriesSummary",
    "SyncProgress",
    "SyncSummary",
    "arrow_schema",
    "load_keys",
]
