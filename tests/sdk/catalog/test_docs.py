"""The catalog examples of docs/data.md run against the simulator (all but Spark: no JVM)."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from capitalcom_sdk import Client
from tests.conftest import SimHandle
from tests.sdk.catalog.conftest import NOW, user_kwargs

# dask's own parquet reader calls a pandas API that pandas deprecates (not ours to fix)
pytestmark = pytest.mark.filterwarnings(
    "ignore:The inplace keyword in DataFrame.reset_index:DeprecationWarning"
)

DOC = Path(__file__).resolve().parents[3] / "docs" / "data.md"
SECTION = "## The market-data catalog"


def catalog_examples() -> list[str]:
    text = DOC.read_text(encoding="utf-8")
    section = text[text.index(SECTION) :]
    return re.findall(r"```python\n(.*?)```", section, flags=re.DOTALL)


def test_the_section_has_the_engines_examples() -> None:
    blocks = "\n".join(catalog_examples())
    for needle in ("duckdb", "polars", "pandas", "pyspark", "dask", "async_sync", "load_keys"):
        assert needle in blocks, needle


def test_every_catalog_example_runs(
    sim: SimHandle, client: Client, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in {
        "CAPITAL_API_KEY": sim.api_key,
        "CAPITAL_IDENTIFIER": sim.identifier,
        "CAPITAL_PASSWORD": sim.password,
        "CAPITAL_BASE_URL": sim.base_url,
    }.items():
        monkeypatch.setenv(name, value)
    keys = [user_kwargs(sim, i) for i in (0, 1)]
    (tmp_path / "keys.toml").write_text(
        "".join(
            f'[[keys]]\napi_key = "{k["api_key"]}"\nidentifier = "{k["identifier"]}"\n'
            f'password = "{k["password"]}"\n'
            for k in keys
        )
    )
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, Any] = {
        "BASE_URL": sim.base_url,
        "history": client.prices.history("GOLD", "HOUR", NOW - timedelta(days=2)),
    }
    ran = 0
    for block in catalog_examples():
        if "pyspark" in block:
            continue
        exec(compile(block, f"{DOC}:catalog example {ran + 1}", "exec"), namespace)  # noqa: S102
        ran += 1

    assert ran == 8
    assert namespace["summary"].price_requests >= 0
    assert len(namespace["daily"]) > 0
    assert len(namespace["gold"]) > 0
    assert len(namespace["per_epic"]) == 3  # GOLD, EURUSD, US500
    assert (tmp_path / "data" / "prices" / "epic=US500").is_dir()
