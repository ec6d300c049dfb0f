"""to_arrow() / to_polars() on every tabular result: the to_pandas() columns, no index."""

from __future__ import annotations

import sys
from datetime import timedelta
from typing import Any

import pandas as pd
import polars as pl
import pyarrow as pa
import pytest

from capitalcom_sdk import Client
from capitalcom_sdk.data import SCHEMAS, MissingDependencyError, to_arrow
from tests.conftest import SimHandle


def frames_agree(arrow: pa.Table, pandas_frame: pd.DataFrame) -> None:
    back = arrow.to_pandas(
        types_mapper={
            pa.int64(): pd.Int64Dtype(),
            pa.string(): pd.StringDtype(),
            pa.bool_(): pd.BooleanDtype(),
        }.get
    )
    expected = pandas_frame.reset_index() if pandas_frame.index.name else pandas_frame
    for name in expected.columns:
        if str(expected[name].dtype).startswith("datetime64"):
            back[name] = back[name].astype(expected[name].dtype)
    pd.testing.assert_frame_equal(back, expected, check_index_type=False)


def test_every_list_result_converts_with_its_schema(sim: SimHandle) -> None:
    with Client(**sim.client_kwargs(), rate_limit=False) as client:
        now = client.general.server_time().datetime
        client.positions.open("GOLD", "BUY", 1.0)
        client.orders.create("GOLD", "BUY", 1.0, 1000.0, "LIMIT")
        results: dict[str, Any] = {
            "prices": client.prices.history("GOLD", "MINUTE", now - timedelta(hours=3), now),
            "positions": client.positions.list(),
            "working_orders": client.orders.list(),
            "activities": client.history.activity(start=now - timedelta(hours=1)),
            "transactions": client.history.transactions(start=now - timedelta(days=1)),
            "markets": client.markets.search("gold"),
            "accounts": client.accounts.list(),
        }
        for kind, result in results.items():
            arrow = result.to_arrow()
            polars = result.to_polars()

            assert arrow.schema.names == list(SCHEMAS[kind].names)
            assert isinstance(polars, pl.DataFrame)
            assert polars.columns == list(SCHEMAS[kind].names)
            assert arrow.num_rows == len(result.to_pandas())
            frames_agree(arrow, result.to_pandas())
    assert results["prices"].to_arrow().schema.field("time").type == pa.timestamp("ms", "UTC")


def test_an_empty_result_keeps_every_column() -> None:
    table = to_arrow({"prices": []})

    assert table.num_rows == 0
    assert table.schema.names == list(SCHEMAS["prices"].names)


def test_to_polars_without_polars_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    from capitalcom_sdk.models.prices import PriceHistory

    monkeypatch.setitem(sys.modules, "polars", None)
    empty = PriceHistory(prices=[])

    with pytest.raises(MissingDependencyError, match=r"capitalcom-sdk\[catalog\]"):
        empty.to_polars()
