"""DataFrames of API results follow the documented schemas, whatever form the result has."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from typing import Any

import pandas as pd
import pytest
from pydantic import BaseModel, ConfigDict, Field

from capitalcom_sdk.data import (
    PANDAS_DTYPES,
    SCHEMAS,
    MissingDependencyError,
    infer_kind,
    to_pandas,
)
from tests.sdk.data._bars import ACTIVITY, MARKET, POSITION, TRANSACTION, wire_bars


class _Side(BaseModel):
    bid: float
    ask: float


class _Bar(BaseModel):
    """A bar model shaped like an SDK model: snake_case names, wire aliases."""

    model_config = ConfigDict(populate_by_name=True, extra="allow")
    snapshot_time_utc: datetime = Field(alias="snapshotTimeUTC")
    open_price: _Side = Field(alias="openPrice")
    high_price: _Side = Field(alias="highPrice")
    low_price: _Side = Field(alias="lowPrice")
    close_price: _Side = Field(alias="closePrice")
    last_traded_volume: int | None = Field(default=None, alias="lastTradedVolume")


class _History(BaseModel):
    prices: list[_Bar]


def _expected_dtypes(kind: Any) -> dict[str, str]:
    schema = SCHEMAS[kind]
    return {c.name: PANDAS_DTYPES[c.dtype] for c in schema.columns if c.name != schema.index}


def test_price_frame_has_utc_index_and_documented_columns() -> None:
    bars = wire_bars(5)
    df = to_pandas({"prices": bars})
    assert df.index.name == "time"
    assert str(df.index.dtype) == "datetime64[ns, UTC]"
    assert {k: str(v) for k, v in df.dtypes.items()} == _expected_dtypes("prices")
    assert df.index[0] == pd.Timestamp("2026-01-05T00:00:00", tz="UTC")
    assert df["open_bid"].iloc[0] == bars[0]["openPrice"]["bid"]
    assert df["close_ask"].iloc[4] == bars[4]["closePrice"]["ask"]
    assert df["volume"].iloc[2] == bars[2]["lastTradedVolume"]
    mid = (bars[1]["highPrice"]["bid"] + bars[1]["highPrice"]["ask"]) / 2
    assert df["high_mid"].iloc[1] == pytest.approx(mid)


def test_models_and_wire_dicts_give_the_same_frame() -> None:
    bars = wire_bars(4, seed=3)
    history = _History.model_validate({"prices": bars})
    from_model = to_pandas(history)
    from_items = to_pandas(history.prices)
    from_wire = to_pandas({"prices": bars})
    pd.testing.assert_frame_equal(from_model, from_wire)
    pd.testing.assert_frame_equal(from_items, from_wire)


def test_missing_volume_is_na_not_zero() -> None:
    bars = wire_bars(2)
    del bars[1]["lastTradedVolume"]
    df = to_pandas(bars, kind="prices")
    assert df["volume"].iloc[0] > 0
    assert df["volume"].isna().tolist() == [False, True]


def test_empty_results_keep_every_column_and_dtype() -> None:
    for kind, schema in SCHEMAS.items():
        df = to_pandas([], kind=kind)
        assert len(df) == 0
        assert list(df.columns) == [c for c in schema.names if c != schema.index], kind
        assert {k: str(v) for k, v in df.dtypes.items()} == _expected_dtypes(kind), kind


def test_position_frame_flattens_position_and_market() -> None:
    df = to_pandas({"positions": [POSITION]})
    row = df.iloc[0]
    assert row["deal_id"] == POSITION["position"]["dealId"]
    assert row["epic"] == "SILVER"
    assert row["size"] == 10.0
    assert row["stop_level"] == 2.5
    assert pd.isna(row["profit_level"])
    assert row["created"] == pd.Timestamp("2022-04-05T09:46:01.872", tz="UTC")
    assert {k: str(v) for k, v in df.dtypes.items()} == _expected_dtypes("positions")


def test_activity_and_transaction_frames_use_the_utc_dates() -> None:
    activities = to_pandas({"activities": [ACTIVITY]})
    assert activities["date"].iloc[0] == pd.Timestamp("2022-01-03T15:01:48.420", tz="UTC")
    assert activities["direction"].iloc[0] == "SELL"
    transactions = to_pandas({"transactions": [TRANSACTION]})
    assert transactions["date"].iloc[0] == pd.Timestamp("2022-04-04T16:51:05.648", tz="UTC")
    assert transactions["amount"].iloc[0] == -1.05


def test_kind_is_inferred_from_container_or_items() -> None:
    assert infer_kind({"prices": []}) == "prices"
    assert infer_kind(wire_bars(1)) == "prices"
    assert infer_kind([POSITION]) == "positions"
    assert infer_kind([ACTIVITY]) == "activities"
    assert infer_kind([TRANSACTION]) == "transactions"
    assert infer_kind({"markets": [MARKET]}) == "markets"
    assert infer_kind([MARKET]) == "markets"
    with pytest.raises(TypeError, match="kind="):
        infer_kind([])


def test_aware_non_utc_times_are_converted_to_utc() -> None:
    bars = wire_bars(1)
    bars[0]["snapshotTimeUTC"] = "2026-01-05T02:00:00+02:00"
    df = to_pandas(bars, kind="prices")
    assert df.index[0] == pd.Timestamp(datetime(2026, 1, 5, tzinfo=UTC))


def test_missing_pandas_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pandas", None)
    with pytest.raises(MissingDependencyError, match=r"capitalcom-sdk\[data\]") as info:
        to_pandas(wire_bars(1), kind="prices")
    assert isinstance(info.value, ImportError)


def test_importing_the_data_package_imports_no_optional_dependency() -> None:
    code = (
        "import sys, capitalcom_sdk.data;"
        "print(','.join(m for m in ('pandas','pyarrow','matplotlib') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_sdk_list_models_have_table_methods(tmp_path: Any) -> None:
    from capitalcom_sdk.models.history import ActivityHistory, TransactionHistory
    from capitalcom_sdk.models.markets import Markets
    from capitalcom_sdk.models.prices import PriceHistory
    from capitalcom_sdk.models.trading import Positions

    history = PriceHistory.model_validate({"prices": wire_bars(6)})
    pd.testing.assert_frame_equal(history.to_pandas(), to_pandas({"prices": wire_bars(6)}))
    assert history.to_csv(tmp_path / "p.csv") == 6
    assert history.to_parquet(tmp_path / "p.parquet") == 6
    positions = Positions.model_validate({"positions": [POSITION]})
    assert positions.to_pandas()["deal_id"].tolist() == [POSITION["position"]["dealId"]]
    activities = ActivityHistory.model_validate({"activities": [ACTIVITY]})
    assert activities.to_pandas()["source"].tolist() == ["CLOSE_OUT"]
    transactions = TransactionHistory.model_validate({"transactions": [TRANSACTION]})
    assert transactions.to_pandas()["amount"].tolist() == [-1.05]
    markets = Markets.model_validate({"markets": [MARKET]})
    assert markets.to_pandas()["epic"].tolist() == ["SILVER"]


def test_docs_data_md_lists_the_current_schemas() -> None:
    from pathlib import Path

    from capitalcom_sdk.data._docs import BEGIN, END, schema_tables

    text = (Path(__file__).resolve().parents[3] / "docs" / "data.md").read_text(encoding="utf-8")
    generated = text[text.index(BEGIN) : text.index(END) + len(END)]
    assert generated == schema_tables(), "regenerate: python -m capitalcom_sdk.data._docs"


def _tabular_examples() -> list[tuple[str, Any, str]]:
    from capitalcom_sdk.models import TableExport
    from tests.sdk.surface.test_collection_contract import EXAMPLES

    return [
        (name, endpoint.response, body)
        for name, endpoint, status, body in EXAMPLES
        if status < 400 and isinstance(endpoint.response, type)
        if issubclass(endpoint.response, TableExport)
    ]


def test_the_collection_has_rows_of_every_kind() -> None:
    parsed = [m.model_validate_json(b) for _, m, b in _tabular_examples()]
    kinds = {infer_kind(p) for p in parsed if len(to_pandas(p))}
    assert set(SCHEMAS) == kinds, kinds


@pytest.mark.parametrize(("name", "model", "body"), _tabular_examples())
def test_sdk_models_give_the_frame_of_their_wire_json(name: str, model: Any, body: str) -> None:
    """Columns read by attribute from the SDK's models equal those read from the JSON."""
    import json

    parsed = model.model_validate_json(body)
    from_model = to_pandas(parsed)
    pd.testing.assert_frame_equal(from_model, to_pandas(json.loads(body), kind=infer_kind(parsed)))


def test_undeclared_fields_and_missing_parents_are_read_too() -> None:
    """A column from a field no model declares comes from the model's extras; a None on the way
    to a column gives a missing value."""

    class _Market(BaseModel):
        model_config = ConfigDict(extra="allow")
        epic: str

    class _Markets(BaseModel):
        markets: list[_Market]

    df = to_pandas(_Markets.model_validate({"markets": [{**MARKET, "epic": "SILVER"}]}))
    assert df["instrument_name"].iloc[0] == MARKET["instrumentName"]
    activity = {**ACTIVITY, "details": None}
    from capitalcom_sdk.models import ActivityHistory

    frame = to_pandas(ActivityHistory.model_validate({"activities": [activity, ACTIVITY]}))
    assert pd.isna(frame["direction"].iloc[0])
    assert frame["direction"].iloc[1] == "SELL"


def test_decimal_frames_hold_the_exact_wire_numbers() -> None:
    from decimal import Decimal

    from capitalcom_sdk.models.prices import PriceHistory

    bars = wire_bars(3)
    bars[0]["openPrice"] = {"bid": 1.08123, "ask": 1.08129}
    history = PriceHistory.model_validate({"prices": bars})

    df = history.to_pandas(decimal=True)
    floats = history.to_pandas()

    assert df["open_bid"].dtype == object
    assert df["open_bid"].iloc[0] == Decimal("1.08123")
    assert df["open_mid"].iloc[0] == Decimal("1.08126")  # exact, not 1.0812599999...
    assert [float(v) for v in df["close_ask"]] == list(floats["close_ask"])
    assert list(df.columns) == list(floats.columns)
    assert str(df.index.dtype) == "datetime64[ns, UTC]"
