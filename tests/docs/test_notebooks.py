"""The notebooks run end to end against the simulator (nbclient + ipykernel).

The test points them at a simulator through CAPITAL_* (as a reader would at a server); each
notebook falls back to an embedded simulator without them, which one test checks too.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbclient import NotebookClient

from capitalcom_sdk import Client
from capitalcom_sim import SimConfig, single_user
from tests.conftest import SimHandle, handle_for, start_sim

REPO = Path(__file__).resolve().parents[2]
NOTEBOOKS = REPO / "notebooks"
WEDNESDAY_NOON = 1_795_003_200_000  # 2026-11-18 12:00 UTC: markets open


@pytest.fixture
def notebook_sim() -> Any:
    server = start_sim(SimConfig(users=(single_user(),), start_ms=WEDNESDAY_NOON, seed=11))
    try:
        yield handle_for(server)
    finally:
        server.stop()


def run(name: str, cwd: Path, env: dict[str, str]) -> Any:
    """Execute the notebook in a fresh kernel; its executed copy (CellExecutionError on failure)."""
    notebook = nbformat.read(NOTEBOOKS / name, as_version=4)
    NotebookClient(
        notebook, timeout=180, kernel_name="python3", resources={"metadata": {"path": str(cwd)}}
    ).execute(env=env)  # the kernel's environment: CAPITAL_* as a reader would set them
    return notebook


def _env(sim: SimHandle | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CAPITAL_")}
    env["MPLBACKEND"] = "Agg"
    if sim is not None:
        env |= {
            "CAPITAL_BASE_URL": sim.base_url,
            "CAPITAL_API_KEY": sim.api_key,
            "CAPITAL_IDENTIFIER": sim.identifier,
            "CAPITAL_PASSWORD": sim.password,
        }
    return env


def outputs(notebook: Any) -> tuple[str, list[str]]:
    """All printed text, and the MIME types of every rich output."""
    text, kinds = [], []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream":
                text.append(output["text"])
            for kind in output.get("data", {}):
                kinds.append(kind)
                if kind == "text/plain":
                    text.append(output["data"][kind])
    return "".join(text), kinds


@pytest.mark.slow
def test_research_notebook_draws_indicators_from_a_year_of_history(
    notebook_sim: SimHandle, tmp_path: Path
) -> None:
    notebook = run("research.ipynb", tmp_path, _env(notebook_sim))
    text, kinds = outputs(notebook)
    assert f"server: {notebook_sim.base_url}" in text
    assert " bars from " in text
    assert "RSI now " in text
    assert "image/png" in kinds  # the indicator chart
    assert "candles: gold_hourly.png True" in text
    assert (tmp_path / "gold_hourly.png").stat().st_size > 10_000


@pytest.mark.slow
def test_trading_notebook_places_reconciles_and_closes_a_bracket_order(
    notebook_sim: SimHandle, tmp_path: Path
) -> None:
    notebook = run("trading.ipynb", tmp_path, _env(notebook_sim))
    text, _ = outputs(notebook)
    assert f"server: {notebook_sim.base_url}" in text
    assert "ACCEPTED at " in text
    assert "closed: ACCEPTED" in text
    # On the server the notebook was given: one position opened and closed, none left open.
    with Client(**notebook_sim.client_kwargs()) as client:
        assert client.positions.list().positions == []
        deals = {a.deal_id for a in client.history.activity(last_period=3600).activities}
    assert len(deals) >= 1


@pytest.mark.slow
def test_trading_notebook_starts_the_embedded_simulator_without_a_server(tmp_path: Path) -> None:
    notebook = run("trading.ipynb", tmp_path, _env(None))
    text, _ = outputs(notebook)
    assert "server: http://127.0.0.1:" in text
    assert "closed: ACCEPTED" in text
