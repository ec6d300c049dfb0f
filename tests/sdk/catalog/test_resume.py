"""A sync SIGKILLed at any moment: the next run loses nothing, duplicates nothing, and no reader
ever sees a half-written file."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pandas as pd
import pyarrow.dataset as ds
import pytest

from capitalcom_sdk import Client
from capitalcom_sdk.catalog import Catalog
from tests.conftest import SimHandle
from tests.sdk.catalog.conftest import NOW

ROOT = Path(__file__).resolve().parents[3]
START = NOW - timedelta(days=8)
SERIES = [(e, r) for e in ("GOLD", "BTCUSD") for r in ("MINUTE", "HOUR")]


def run_child_until(sim: SimHandle, root: Path, kill_after: int) -> bool:
    """Start the child sync, SIGKILL it once it reported ``kill_after`` requests; True if it
    finished before that."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT / "src"), str(ROOT)]))
    child = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.sdk.catalog._sync_child",
            sim.base_url,
            str(root),
            START.isoformat(),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        cwd=ROOT,
        env=env,
    )
    assert child.stdout is not None
    try:
        for line in child.stdout:
            if line.startswith("done"):
                return True
            if line.startswith("request ") and int(line.split()[1]) >= kill_after:
                os.kill(child.pid, signal.SIGKILL)
                return False
        return False
    finally:
        child.wait(timeout=60)
        child.stdout.close()


def visible_files(root: Path) -> list[Path]:
    return [p for p in (root / "prices").rglob("*") if p.is_file()]


@pytest.mark.slow
def test_a_sync_killed_at_any_moment_resumes_to_the_same_bars_as_a_clean_run(
    sim: SimHandle, client: Client, tmp_path: Path
) -> None:
    clean = Catalog(tmp_path / "clean", client)
    clean.sync(["GOLD", "BTCUSD"], ["MINUTE", "HOUR"], START)
    killed_root = tmp_path / "killed"
    # Kill points, counted in requests of each run (a run asks only for what is missing): the
    # first request; just after GOLD MINUTE's 12 windows (its part files being written); in the
    # middle of a segment; again in the middle of one.
    kills = [1, 13, 6, 7]
    finished = False
    for kill_after in kills:
        finished = run_child_until(sim, killed_root, kill_after)
        # whatever a reader sees between runs is whole Parquet files of the layout only
        files = visible_files(killed_root)
        assert all(p.suffix == ".parquet" for p in files), files
        if files:
            ds.dataset(killed_root / "prices", partitioning="hive").to_table()
        if finished:
            break
    assert not finished, "the child finished before the last kill: raise the kill points"

    resumed = Catalog(killed_root, client)
    resumed.sync(["GOLD", "BTCUSD"], ["MINUTE", "HOUR"], START)

    for epic, resolution in SERIES:
        got = resumed.bars(epic, resolution)
        assert got.index.is_unique
        pd.testing.assert_frame_equal(got, clean.bars(epic, resolution))
    assert not list((killed_root / "_staging").glob("*.tmp"))
    table = ds.dataset(killed_root / "prices", partitioning="hive").to_table()
    assert table.num_rows == sum(len(clean.bars(e, r)) for e, r in SERIES)


def test_a_lost_manifest_is_rebuilt_from_the_data_files(
    sim: SimHandle, client: Client, tmp_path: Path
) -> None:
    from tests.sdk.catalog.conftest import price_requests

    catalog = Catalog(tmp_path, client)
    catalog.sync("BTCUSD", ["MINUTE", "HOUR"], START)  # trades around the clock: no empty spans
    expected = {r: catalog.bars("BTCUSD", r) for r in ("MINUTE", "HOUR")}
    (tmp_path / "_manifest.json").unlink()
    before = price_requests(sim)

    summary = catalog.sync("BTCUSD", ["MINUTE", "HOUR"], START)

    assert price_requests(sim) == before
    assert summary.bars_added == 0
    for resolution, frame in expected.items():
        pd.testing.assert_frame_equal(catalog.bars("BTCUSD", resolution), frame)


def test_a_compaction_killed_before_removing_the_old_files_is_finished_next_run(
    sim: SimHandle, client: Client, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from datetime import UTC, datetime

    from capitalcom_sdk.catalog._store import Store

    sim.state.move_clock(set_ms=int(datetime(2025, 12, 31, 20, tzinfo=UTC).timestamp() * 1000))
    catalog = Catalog(tmp_path, client)
    for day in (30, 31):
        catalog.sync("BTCUSD", "HOUR", datetime(2025, 12, day, tzinfo=UTC))
        sim.state.move_clock(advance_seconds=3600)
    sim.state.move_clock(set_ms=int(datetime(2026, 1, 1, 2, tzinfo=UTC).timestamp() * 1000))

    class Killed(BaseException):
        pass

    def die(self: Store, relative: str) -> None:
        raise Killed  # the process "dies" once the merged file and manifest are in place

    monkeypatch.setattr(Store, "remove", die)
    with pytest.raises(Killed):
        catalog.sync("BTCUSD", "HOUR", datetime(2025, 12, 30, tzinfo=UTC))
    monkeypatch.undo()
    year = tmp_path / "prices/epic=BTCUSD/resolution=HOUR/year=2025"
    assert len(list(year.glob("*.parquet"))) > 1  # old and merged files side by side
    assert catalog.bars("BTCUSD", "HOUR").index.is_unique  # the reader skips replaced files

    catalog.sync("BTCUSD", "HOUR", datetime(2025, 12, 30, tzinfo=UTC))

    assert len(list(year.glob("*.parquet"))) == 1
    frame = catalog.bars("BTCUSD", "HOUR")
    assert frame.index.is_unique
    table = ds.dataset(tmp_path / "prices", partitioning="hive").to_table()
    assert table.num_rows == len(frame)
