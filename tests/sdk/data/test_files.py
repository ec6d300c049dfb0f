"""CSV and Parquet files round-trip into the same typed DataFrames."""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import pandas as pd
import pytest

from capitalcom_sdk.data import (
    SCHEMAS,
    MissingDependencyError,
    read_csv,
    read_parquet,
    to_pandas,
    write_csv,
    write_parquet,
)
from tests.sdk.data._bars import ACTIVITY, POSITION, TRANSACTION, wire_bars


def test_price_csv_round_trips_into_the_same_frame(tmp_path: Path) -> None:
    bars = wire_bars(50, seed=9)
    del bars[3]["lastTradedVolume"]
    path = tmp_path / "bars.csv"
    assert write_csv({"prices": bars}, path) == 50
    pd.testing.assert_frame_equal(read_csv(path, "prices"), to_pandas({"prices": bars}))


def test_price_csv_is_readable_by_plain_pandas(tmp_path: Path) -> None:
    bars = wire_bars(3)
    path = tmp_path / "bars.csv"
    write_csv(bars, path, kind="prices")
    df = pd.read_csv(path, index_col="time", parse_dates=["time"])
    assert str(df.index.dtype).endswith("UTC]")
    assert df["open_bid"].tolist() == [b["openPrice"]["bid"] for b in bars]
    with path.open(newline="") as handle:
        header = next(csv.reader(handle))
    assert tuple(header) == SCHEMAS["prices"].names


@pytest.mark.parametrize(
    ("kind", "items"),
    [("positions", [POSITION]), ("activities", [ACTIVITY]), ("transactions", [TRANSACTION])],
)
def test_other_kinds_round_trip_through_csv_and_parquet(
    tmp_path: Path, kind: str, items: list[dict[str, object]]
) -> None:
    expected = to_pandas(items, kind=kind)  # type: ignore[arg-type]
    write_csv(items, tmp_path / "x.csv", kind=kind)  # type: ignore[arg-type]
    pd.testing.assert_frame_equal(read_csv(tmp_path / "x.csv", kind), expected)  # type: ignore[arg-type]
    write_parquet(items, tmp_path / "x.parquet", kind=kind)  # type: ignore[arg-type]
    pd.testing.assert_frame_equal(read_parquet(tmp_path / "x.parquet"), expected)


def test_parquet_keeps_the_utc_index(tmp_path: Path) -> None:
    path = tmp_path / "bars.parquet"
    assert write_parquet({"prices": wire_bars(10)}, path) == 10
    df = read_parquet(path)
    assert str(df.index.dtype) == "datetime64[ns, UTC]"
    pd.testing.assert_frame_equal(df, to_pandas({"prices": wire_bars(10)}))


def test_csv_needs_no_pandas(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pandas", None)
    assert write_csv(wire_bars(2), tmp_path / "b.csv", kind="prices") == 2


def test_missing_pyarrow_names_the_extra(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    with pytest.raises(MissingDependencyError, match=r"pyarrow.*capitalcom-sdk\[data\]"):
        write_parquet(wire_bars(2), tmp_path / "b.parquet", kind="prices")
