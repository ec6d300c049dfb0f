"""Smoke run of every benchmark with tiny sizes: they run end to end and produce figures.

Benchmarks never gate CI, so nothing here checks a performance target; these tests catch a
benchmark that no longer runs (a renamed API, a simulator that does not start, a broken worker).
"""

from __future__ import annotations

import math
from typing import Any

import pytest
from bench.__main__ import BENCHES, render, run_bench
from bench._common import Figure, Section

from bench import backfill, catalog, overhead, rate, startup


def _finite(figures: list[Figure]) -> None:
    assert figures
    for figure in figures:
        assert figure.ours is not None, figure
        assert math.isfinite(figure.ours), figure
        assert figure.ours >= 0, figure


def test_overhead_measures_every_client_over_http_and_tls() -> None:
    section = overhead.run(calls=6, rounds=1, warmup=2, tls=True, baselines=False)

    assert section.error is None
    _finite(section.figures)
    names = [f.name for f in section.figures]
    for scheme in ("plain HTTP", "TLS"):
        assert any(n.startswith(f"{scheme}: capitalcom_sdk.Client") for n in names), names
        assert any(n.startswith(f"{scheme}: capitalcom_sdk.AsyncClient") for n in names), names
        assert any(scheme in n and "EMULATED" in n for n in names), names
    assert not any("failed" in note for note in section.notes), section.notes


def test_rate_saturation_counts_requests_and_429s() -> None:
    section = rate.run(requests=6, concurrency=3)

    _finite(section.figures)
    rate_figure, rejected = section.figures
    assert rate_figure.unit == "req/s"
    assert rate_figure.ours > 0
    assert rejected.unit == "count"


def test_backfill_reports_wall_time_rss_and_to_pandas() -> None:
    section = backfill.run(days=0.2)

    _finite(section.figures)
    wall, rss, to_pandas = section.figures
    assert wall.unit == "s"
    assert "288 bars" in wall.name
    assert rss.unit == "MB"
    assert rss.ours > 10
    assert to_pandas.unit == "ms"


def test_startup_times_import_and_cli() -> None:
    section = startup.run(repeats=1)

    _finite(section.figures)
    assert [f.unit for f in section.figures] == ["ms"] * 5
    client = section.figures[0]
    assert client.name == "python -c 'from capitalcom_sdk import Client'"
    assert client.baseline_name == "import httpx, pydantic"
    assert client.ratio is not None


def test_catalog_reports_sync_resync_keys_and_read_figures() -> None:
    section = catalog.run(days=1.0, key_days=1.0, year_days=2.0, repeats=1, update_cycles=1)

    assert section.error is None
    _finite(section.figures)
    sync, resync, keys, updates, polars, pandas = section.figures
    assert sync.unit == "s"
    assert "2 epics x 1 days" in sync.name
    assert (resync.unit, resync.ours) == ("requests", 0.0)
    assert keys.unit == "req/s"
    assert "4 keys" in keys.name
    assert updates.unit == "req/s"
    assert "32 series" in updates.name
    assert [polars.unit, pandas.unit] == ["ms", "ms"]
    assert polars.baseline is not None
    assert polars.baseline > 0


@pytest.mark.parametrize("name", ["stream_parse", "stream_latency", "sim_throughput"])
def test_other_owners_benchmarks_run_through_the_runner(name: str) -> None:
    bench = next(b for b in BENCHES if b.name == name)

    section = run_bench(bench, quick=True)

    assert section.error is None, section.notes
    _finite(section.figures)


def _sections() -> list[Section]:
    met = Figure("1. A", "fast thing", 1.0, "ms", baseline=2.0, ratio=0.5, target="<= 2", met=True)
    missed = Figure("1. A", "slow thing", 3.0, "ms", target="<= 2 ms", met=False)
    broken = Section("2. B", error="bench.b does not exist yet (X)")
    return [Section("1. A", figures=[met, missed], notes=["details"]), broken]


def test_results_table_flags_missed_targets_and_unmeasured_benchmarks() -> None:
    text = render(_sections(), 12.0, quick=False)

    rows = {line.split(" | ")[0]: line for line in text.splitlines() if line.startswith("| ")}
    assert rows["| 1. fast thing"].endswith("| yes |  |")
    assert "| **NO** |" in rows["| 1. slow thing"]
    assert "not measured" in rows["| 2. B: not measured"]
    assert "## Machine" in text
    assert "details" in text


def test_dict_results_of_other_owners_become_rows() -> None:
    bench = next(b for b in BENCHES if b.name == "stream_parse")
    result: dict[str, Any] = {
        "name": "quotes/s",
        "value": 60000,
        "unit": "quotes/s",
        "target": ">= 50,000 quotes/s",
        "met": True,
    }

    from bench.__main__ import _adapt

    section = _adapt(bench, result)

    assert [(f.name, f.ours, f.met) for f in section.figures] == [("quotes/s", 60000.0, True)]
