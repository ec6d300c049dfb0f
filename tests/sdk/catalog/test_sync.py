"""Catalog.sync against the simulator: incremental, closed bars only, holes, compaction."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from capitalcom_sdk import Client
from capitalcom_sdk.catalog import SCHEMA_VERSION, Catalog, SyncProgress
from capitalcom_sdk.errors import NotFoundError, RequestValidationError
from tests.conftest import SimHandle
from tests.sdk.catalog.conftest import NOW, all_requests, price_requests

DAYS_10 = NOW - timedelta(days=10)


def history(client: Client, epic: str, resolution: str, start: datetime) -> pd.DataFrame:
    frame = client.prices.history(epic, resolution, start, drop_incomplete=True).to_pandas()
    return frame


def test_sync_stores_the_closed_bars_of_the_range_as_history_returns_them(
    sim: SimHandle, client: Client, tmp_path: Path
) -> None:
    catalog = Catalog(tmp_path, client)

    summary = catalog.sync(["GOLD", "BTCUSD"], ["MINUTE", "HOUR"], DAYS_10)

    for epic in ("GOLD", "BTCUSD"):
        for resolution in ("MINUTE", "HOUR"):
            stored = catalog.bars(epic, resolution)
            expected = history(client, epic, resolution, DAYS_10)
            pd.testing.assert_frame_equal(stored, expected)
    assert summary.bars_added == sum(s.bars_added for s in summary.series) > 20_000
    assert summary.price_requests == sum(s.requests for s in summary.series)
    year_dirs = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.glob("prices/*/*/*"))
    assert "prices/epic=GOLD/resolution=HOUR/year=2025" in year_dirs
    assert "prices/epic=GOLD/resolution=HOUR/year=2026" in year_dirs
    part = next(tmp_path.glob("prices/epic=GOLD/resolution=MINUTE/year=2026/part-*.parquet"))
    info = json.loads(pq.read_metadata(part).metadata[b"capitalcom"])
    assert info["schema_version"] == SCHEMA_VERSION
    assert info["decimal_places"] == 2
    assert pq.read_schema(part).field("time").type.tz == "UTC"
    manifest = json.loads((tmp_path / "_manifest.json").read_text())
    assert manifest["decimals"] == {"BTCUSD": 2, "GOLD": 2}


def test_a_bar_still_forming_is_never_stored_and_arrives_once_closed(
    sim: SimHandle, client: Client, tmp_path: Path
) -> None:
    catalog = Catalog(tmp_path, client)
    catalog.sync("BTCUSD", "MINUTE", NOW - timedelta(hours=2))
    forming = NOW.replace(second=0)
    assert catalog.bars("BTCUSD", "MINUTE").index[-1] == forming - timedelta(minutes=1)

    sim.state.move_clock(advance_seconds=45)  # 12:01:15: the 12:00 bar has closed
    catalog.sync("BTCUSD", "MINUTE", NOW - timedelta(hours=2))

    stored = catalog.bars("BTCUSD", "MINUTE")
    assert stored.index[-1] == forming
    pd.testing.assert_frame_equal(
        stored, history(client, "BTCUSD", "MINUTE", NOW - timedelta(hours=2))
    )


def test_resync_of_an_up_to_date_catalog_sends_no_price_request(
    sim: SimHandle, client: Client, tmp_path: Path
) -> None:
    catalog = Catalog(tmp_path, client)
    catalog.sync(["GOLD", "EURUSD"], ["MINUTE", "HOUR"], DAYS_10)
    before = all_requests(sim)

    summary = catalog.sync(["GOLD", "EURUSD"], ["MINUTE", "HOUR"], DAYS_10)

    after = all_requests(sim)
    sent = {k: after[k] - before.get(k, 0) for k in after if after[k] != before.get(k, 0)}
    assert sent == {"GET /api/v1/time": 1}
    assert (summary.bars_added, summary.price_requests) == (0, 0)


def test_clock_moved_forward_costs_one_request_per_epic_and_resolution(
    sim: SimHandle, client: Client, tmp_path: Path
) -> None:
    catalog = Catalog(tmp_path, client)
    catalog.sync(["GOLD", "BTCUSD"], ["MINUTE", "HOUR"], DAYS_10)
    sim.state.move_clock(advance_seconds=3 * 3600)
    before = price_requests(sim)

    summary = catalog.sync(["GOLD", "BTCUSD"], ["MINUTE", "HOUR"], DAYS_10)

    assert summary.price_requests == 4, summary
    assert price_requests(sim) - before == 4
    assert summary.bars_added == 2 * 180 + 2 * 3  # both trade on a Wednesday afternoon
    for epic in ("GOLD", "BTCUSD"):
        for resolution in ("MINUTE", "HOUR"):
            pd.testing.assert_frame_equal(
                catalog.bars(epic, resolution), history(client, epic, resolution, DAYS_10)
            )


def test_holes_left_by_earlier_runs_are_filled_and_nothing_else_is_asked(
    sim: SimHandle, client: Client, tmp_path: Path
) -> None:
    catalog = Catalog(tmp_path, client)
    start = NOW - timedelta(days=6)
    catalog.sync("BTCUSD", "MINUTE", start, start + timedelta(days=1))
    catalog.sync("BTCUSD", "MINUTE", start + timedelta(days=3), start + timedelta(days=4))
    before = price_requests(sim)

    summary = catalog.sync("BTCUSD", "MINUTE", start, start + timedelta(days=4))

    # the two-day hole is 2880 bars: 3 windows of at most 999
    assert price_requests(sim) - before == 3
    assert summary.bars_added == 2 * 1440
    stored = catalog.bars("BTCUSD", "MINUTE")
    expected = client.prices.history(
        "BTCUSD",
        "MINUTE",
        start.replace(second=0) + timedelta(minutes=1),
        start + timedelta(days=4) - timedelta(seconds=1),
    ).to_pandas()
    pd.testing.assert_frame_equal(stored, expected)
    assert stored.index.is_unique


def test_a_year_partition_is_compacted_into_one_file_once_the_year_is_over(
    sim: SimHandle, client: Client, tmp_path: Path
) -> None:
    sim.state.move_clock(set_ms=int(datetime(2025, 12, 31, 18, tzinfo=UTC).timestamp() * 1000))
    catalog = Catalog(tmp_path, client)
    for day in (29, 30, 31):
        catalog.sync("BTCUSD", "HOUR", datetime(2025, 12, day, tzinfo=UTC))
        sim.state.move_clock(advance_seconds=2 * 3600)
    year_2025 = tmp_path / "prices/epic=BTCUSD/resolution=HOUR/year=2025"
    assert len(list(year_2025.glob("*.parquet"))) == 3
    before = catalog.bars("BTCUSD", "HOUR")

    sim.state.move_clock(set_ms=int(datetime(2026, 1, 1, 3, tzinfo=UTC).timestamp() * 1000))
    summary = catalog.sync("BTCUSD", "HOUR", datetime(2025, 12, 29, tzinfo=UTC))

    files = list(year_2025.glob("*.parquet"))
    assert len(files) == 1
    # the three earlier files and the one this run wrote with the last hours of 2025
    assert summary.series[0].files_compacted == 4
    after = catalog.bars("BTCUSD", "HOUR")
    pd.testing.assert_frame_equal(after.loc[: before.index[-1]], before)
    pd.testing.assert_frame_equal(
        after, history(client, "BTCUSD", "HOUR", datetime(2025, 12, 29, tzinfo=UTC))
    )
    info = json.loads(pq.read_metadata(files[0]).metadata[b"capitalcom"])
    assert len(info["replaces"]) == 4


def test_progress_reports_each_request_per_series_and_overall_with_an_eta(
    sim: SimHandle, client: Client, tmp_path: Path
) -> None:
    events: list[SyncProgress] = []

    summary = Catalog(tmp_path, client).sync(
        ["GOLD", "BTCUSD"], "MINUTE", NOW - timedelta(days=3), progress=events.append
    )

    requests = [e for e in events if e.done > 0]
    assert len(requests) == summary.price_requests
    assert [e.done for e in requests] == list(range(1, summary.price_requests + 1))
    assert requests[-1].done == requests[-1].total
    assert all(e.eta is not None and e.eta >= 0 for e in events)
    last_of = {e.epic: e for e in requests}
    assert all(e.series_done == e.series_total for e in last_of.values())
    assert summary.seconds > 0
    assert summary.requests == summary.price_requests + 1 + 1  # GET /time, one market lookup


def _sent(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    return {k: after[k] - before.get(k, 0) for k in after if after[k] != before.get(k, 0)}


def test_the_decimal_places_of_several_epics_cost_one_lookup(
    sim: SimHandle, client: Client, tmp_path: Path
) -> None:
    epics = ["GOLD", "BTCUSD", "EURUSD", "AAPL"]
    before = all_requests(sim)

    summary = Catalog(tmp_path, client).sync(epics, "HOUR", NOW - timedelta(days=2))

    sent = _sent(before, all_requests(sim))
    assert sent["GET /api/v1/markets"] == 1  # ?epics=GOLD,BTCUSD,EURUSD,AAPL
    assert "GET /api/v1/markets/{epic}" not in sent
    assert summary.requests == summary.price_requests + 2
    manifest = json.loads((tmp_path / "_manifest.json").read_text())
    expected = {e: client.markets.get(e).snapshot.decimal_places_factor for e in epics}
    assert manifest["decimals"] == expected


def test_an_unknown_epic_among_known_ones_fails_before_any_price_request(
    sim: SimHandle, client: Client, tmp_path: Path
) -> None:
    client.session.login()  # not part of what is counted
    before = all_requests(sim)
    with pytest.raises(NotFoundError) as info:
        Catalog(tmp_path, client).sync(["GOLD", "NOSUCH"], "HOUR", NOW - timedelta(days=2))
    assert info.value.error_code == "error.not-found.epic"
    sent = _sent(before, all_requests(sim))
    # the batch's answer leaves the unknown epic out; asked alone, it is a 404
    assert sent == {
        "GET /api/v1/time": 1,
        "GET /api/v1/markets": 1,
        "GET /api/v1/markets/{epic}": 1,
    }


def test_bad_input_is_refused_before_any_request(
    sim: SimHandle, client: Client, tmp_path: Path
) -> None:
    catalog = Catalog(tmp_path, client)
    before = sum(all_requests(sim).values())
    with pytest.raises(RequestValidationError, match="epic"):
        catalog.sync("GO/LD", "MINUTE", DAYS_10)
    with pytest.raises(RequestValidationError, match="resolution"):
        catalog.sync("GOLD", "SECOND", DAYS_10)
    with pytest.raises(RequestValidationError, match="start"):
        catalog.sync("GOLD", "MINUTE", datetime(2026, 1, 1))  # naive
    with pytest.raises(RequestValidationError, match="as_"):
        catalog.bars("GOLD", "MINUTE", as_="excel")  # type: ignore[arg-type]
    assert sum(all_requests(sim).values()) == before
