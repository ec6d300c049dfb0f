"""The same catalog read by DuckDB, Polars, pyarrow datasets, Dask and Catalog.bars: identical
bars; an fsspec memory:// root; the return type chosen by the caller, never by what is installed."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import dask.dataframe as dd
import duckdb
import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.dataset as ds
import pytest

from capitalcom_sdk import Client
from capitalcom_sdk.catalog import Catalog
from capitalcom_sdk.data import MissingDependencyError
from tests.conftest import SimHandle
from tests.sdk.catalog.conftest import NOW

# dask's own parquet reader calls a pandas API that pandas deprecates (not ours to fix)
pytestmark = pytest.mark.filterwarnings(
    "ignore:The inplace keyword in DataFrame.reset_index:DeprecationWarning"
)

START = NOW - timedelta(days=6)
COLUMNS = ["epic", "resolution", "time", "close_bid", "close_ask", "close_mid", "volume"]


@pytest.fixture
def catalog(sim: SimHandle, client: Client, tmp_path: Path) -> Iterator[Catalog]:
    catalog = Catalog(tmp_path, client)
    catalog.sync(["GOLD", "EURUSD"], ["MINUTE", "HOUR"], START)
    return catalog


def expected(catalog: Catalog) -> pd.DataFrame:
    frames = []
    for epic in ("EURUSD", "GOLD"):
        for resolution in ("HOUR", "MINUTE"):
            frame = catalog.bars(epic, resolution).reset_index()
            frames.append(frame.assign(epic=epic, resolution=resolution))
    return normalise(pd.concat(frames))


def normalise(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame[COLUMNS].copy()
    frame["time"] = pd.to_datetime(frame["time"], utc=True).astype("datetime64[ns, UTC]")
    frame["volume"] = frame["volume"].astype("Int64")
    frame["epic"] = frame["epic"].astype(str)
    frame["resolution"] = frame["resolution"].astype(str)
    return frame.sort_values(["epic", "resolution", "time"]).reset_index(drop=True)


def test_duckdb_reads_the_hive_layout_to_the_same_bars(catalog: Catalog, tmp_path: Path) -> None:
    files = f"{tmp_path}/prices/**/*.parquet"
    frame = duckdb.execute(
        "SELECT epic, resolution, time, close_bid, close_ask, close_mid, volume "
        "FROM read_parquet(?, hive_partitioning=true)",
        [files],
    ).df()

    pd.testing.assert_frame_equal(normalise(frame), expected(catalog))


def test_polars_scan_parquet_reads_the_same_bars(catalog: Catalog, tmp_path: Path) -> None:
    lazy = pl.scan_parquet(f"{tmp_path}/prices/**/*.parquet", hive_partitioning=True)
    frame = lazy.select(COLUMNS).collect().to_pandas()

    pd.testing.assert_frame_equal(normalise(frame), expected(catalog))


def test_pyarrow_dataset_reads_the_same_bars(catalog: Catalog, tmp_path: Path) -> None:
    table = ds.dataset(tmp_path / "prices", partitioning="hive").to_table()

    pd.testing.assert_frame_equal(normalise(table.to_pandas()), expected(catalog))


def test_dask_read_parquet_reads_the_same_bars(catalog: Catalog, tmp_path: Path) -> None:
    frame = dd.read_parquet(str(tmp_path / "prices"), dataset={"partitioning": "hive"})

    got = frame.compute()
    assert frame.npartitions >= 4
    pd.testing.assert_frame_equal(normalise(got), expected(catalog))


def test_bars_as_polars_and_arrow_hold_the_same_bars_as_pandas(catalog: Catalog) -> None:
    frame = catalog.bars("GOLD", "MINUTE", START + timedelta(days=1), NOW - timedelta(days=1))
    polars = catalog.bars(
        "GOLD", "MINUTE", START + timedelta(days=1), NOW - timedelta(days=1), as_="polars"
    )
    arrow = catalog.bars(
        "GOLD", "MINUTE", START + timedelta(days=1), NOW - timedelta(days=1), as_="arrow"
    )

    assert isinstance(polars, pl.DataFrame)
    assert isinstance(arrow, pa.Table)
    assert frame.index[0] >= START + timedelta(days=1)
    assert frame.index[-1] < NOW - timedelta(days=1)
    assert polars.schema["time"] == pl.Datetime("ms", "UTC")
    pd.testing.assert_frame_equal(
        polars.to_pandas().set_index("time").astype(frame.dtypes.to_dict()),
        frame,
        check_index_type=False,
    )
    assert arrow.num_rows == len(frame)


def test_a_missing_engine_raises_naming_the_extra(
    catalog: Catalog, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "polars", None)  # as if not installed

    with pytest.raises(MissingDependencyError, match=r"capitalcom-sdk\[catalog\]"):
        catalog.bars("GOLD", "MINUTE", as_="polars")


def test_an_fsspec_memory_root_syncs_and_reads_like_a_local_one(
    sim: SimHandle, client: Client, catalog: Catalog
) -> None:
    memory = Catalog("memory://catalog-test", client)
    try:
        memory.sync(["GOLD", "EURUSD"], ["MINUTE", "HOUR"], START)

        for epic in ("GOLD", "EURUSD"):
            pd.testing.assert_frame_equal(memory.bars(epic, "MINUTE"), catalog.bars(epic, "MINUTE"))
        lazy = dd.read_parquet("memory://catalog-test/prices", dataset={"partitioning": "hive"})
        assert len(lazy.compute()) == sum(s.bars for s in memory.series())
    finally:
        memory.store.fs.rm("/catalog-test", recursive=True)
