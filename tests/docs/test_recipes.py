"""Every recipe on the site runs as printed, against the simulator over real sockets.

The recipe pages include the files under docs/recipes/ verbatim (``--8<--``), so running the
files runs what readers copy. Each script takes its credentials from ``CAPITAL_*`` as a reader
would; the simulator's clock starts on a Wednesday at noon, when the markets are open.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from capitalcom_sim import SimConfig, single_user
from tests.conftest import SimHandle, handle_for, start_sim

REPO = Path(__file__).resolve().parents[2]
RECIPES = REPO / "docs" / "recipes"
WEDNESDAY_NOON = 1_795_003_200_000  # 2026-11-18 12:00 UTC
INCLUDE = re.compile(r'^--8<-- "([^"]+)"$', re.MULTILINE)

# What each recipe must print (its landmarks): the run did what the page says.
EXPECTED = {
    "session.py": ["logged in: client ", "ping: OK", "accounts: ", "resumed: True"],
    "stream.py": ["first quote", "10 quotes, "],
    "bracket_order.py": ["opened ", "stop ", "profit ", "closed: ACCEPTED"],
    "history.py": ["daily bars since", "request 1/", "hourly bars, columns: open_bid"],
    "handle_errors.py": [
        "login refused: error.invalid.details (HTTP 401)",
        "not sent (size)",
        "not found: error.not-found.epic",
        "refused: error.invalid.stoploss.maxvalue, field stoploss, limit ",
        "done",
    ],
}


@pytest.fixture(scope="module")
def recipe_sim() -> Iterator[SimHandle]:
    # Rate limits on, as on the real servers: the recipes must live with them.
    server = start_sim(
        SimConfig(users=(single_user(),), start_ms=WEDNESDAY_NOON, clock_speed=10.0, seed=7)
    )
    try:
        yield handle_for(server)
    finally:
        server.stop()


def _env(sim: SimHandle) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CAPITAL_")}
    return {
        **env,
        "CAPITAL_BASE_URL": sim.base_url,
        "CAPITAL_API_KEY": sim.api_key,
        "CAPITAL_IDENTIFIER": sim.identifier,
        "CAPITAL_PASSWORD": sim.password,
    }


def _included() -> dict[str, str]:
    """Recipe file -> the page that includes it."""
    found: dict[str, str] = {}
    for page in sorted((REPO / "docs").rglob("*.md")):
        for name in INCLUDE.findall(page.read_text(encoding="utf-8")):
            found[name] = page.relative_to(REPO).as_posix()
    return found


def test_every_recipe_file_is_on_a_page_and_every_include_exists() -> None:
    files = {p.name for p in RECIPES.glob("*.py")}
    included = _included()
    assert set(included) == files
    assert set(EXPECTED) | {"test_my_bot.py"} == files


@pytest.mark.parametrize("recipe", sorted(EXPECTED))
def test_recipe_runs_against_the_simulator(
    recipe: str, recipe_sim: SimHandle, tmp_path: Path
) -> None:
    done = subprocess.run(
        [sys.executable, str(RECIPES / recipe)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=_env(recipe_sim),
        timeout=120,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    missing = [line for line in EXPECTED[recipe] if line not in done.stdout]
    assert missing == [], done.stdout
    if recipe == "history.py":
        lines = (tmp_path / "eurusd_hourly.csv").read_text().splitlines()
        assert len(lines) > 1000  # header + 120 days of hours the market is open


def test_the_bot_testing_recipe_passes_under_pytest(tmp_path: Path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            str(RECIPES / "test_my_bot.py"),
            "-q",
            "-p",
            "no:cacheprovider",
            "--rootdir",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout[-3000:]
    assert "1 passed" in done.stdout
