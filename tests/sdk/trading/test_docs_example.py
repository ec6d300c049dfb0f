"""The complete example of docs/trading.md runs against the simulator."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import pytest

from tests.conftest import SimHandle

DOC = Path(__file__).resolve().parents[3] / "docs" / "trading.md"


def _example() -> str:
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)
    (example,) = [b for b in blocks if b.startswith("# example: trading-safety")]
    return example


def test_the_docs_example_runs(
    sim: SimHandle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CAPITAL_BASE_URL", sim.base_url)
    monkeypatch.setenv("CAPITAL_API_KEY", sim.api_key)
    monkeypatch.setenv("CAPITAL_IDENTIFIER", sim.identifier)
    monkeypatch.setenv("CAPITAL_PASSWORD", sim.password)
    monkeypatch.setenv("JOURNAL_DIR", str(tmp_path))
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(_example(), str(DOC), "exec"), {"__name__": "__example__"})  # noqa: S102  (our own docs)
    text = out.getvalue()
    assert "opened" in text
    assert "refused before sending: minStopOrProfitDistance" in text
    assert "policy: allowed_epics" in text
    assert "journal: ['confirmed', 'confirmed']" in text
    assert sum(len(a.positions) for a in sim.state.engine.accounts.values()) == 0
