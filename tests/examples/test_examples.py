"""The runnable examples: ``make demo``'s guided tour end to end, and the crossover bot."""

from __future__ import annotations

import csv
import importlib.util
import os
import subprocess
import sys
import time
from pathlib import Path
from types import ModuleType

import pytest
from PIL import Image

from capitalcom_sdk import Client
from tests.conftest import SimHandle

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("CAPITAL_")}


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_demo_runs_end_to_end_and_writes_csv_and_chart(tmp_path: Path) -> None:
    out = tmp_path / "demo-output"
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / "demo.py"), "--out", str(out)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**_clean_env(), "COLUMNS": "120"},
        timeout=180,
    )
    elapsed = time.monotonic() - started
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert elapsed < 180
    text = done.stdout
    for landmark in (
        "RSA-encrypted",
        "Search markets",
        "quotes received",
        "ACCEPTED",
        "Open positions: 1",
        "open positions now: 0",
        "simulator stopped",
    ):
        assert landmark in text, landmark
    csv_path = out / "GOLD_HOUR_30d.csv"
    png_path = out / "GOLD_HOUR_30d.png"
    with csv_path.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert 300 <= len(rows) <= 721
    assert str(csv_path.resolve()) in text.replace("\n", "")
    with Image.open(png_path) as image:
        assert image.format == "PNG"
        assert image.size == (1200, 700)


def test_crossover_signal_rules() -> None:
    bot = _load("ma_crossover")
    flat = [10.0] * 6
    assert bot.crossover([*flat, 11.0], 2, 5) == "BUY"
    assert bot.crossover([*flat, 9.0], 2, 5) == "SELL"
    assert bot.crossover([*flat, 10.0], 2, 5) is None
    assert bot.crossover([10.0, 11.0], 2, 5) is None


def test_bot_trades_the_crossovers_of_a_price_path(sim: SimHandle) -> None:
    bot = _load("ma_crossover")
    state = sim.state
    state.move_clock(speed=0)
    now = state.clock.now_ms()
    bid, offer = state.engine.prices.quote("GOLD", now)
    mid = (bid + offer) / 2
    minute = 60_000
    state.engine.set_path(
        "GOLD",
        [
            (now - 40 * minute, mid),
            (now + 3 * minute, mid),
            (now + 13 * minute, mid * 1.01),
            (now + 33 * minute, mid * 0.98),
        ],
    )
    settings = bot.Settings(epic="GOLD", resolution="MINUTE", fast=3, slow=8, iterations=36)
    with Client(**sim.client_kwargs()) as client:
        trader = bot.Bot(client, settings, sleep=lambda _: state.move_clock(advance_seconds=60))
        report = trader.run(interval=60)
        left = client.positions.list().positions
    assert report.iterations == 36
    assert report.signals[0] == "BUY"
    assert "SELL" in report.signals
    assert len(report.opened) == 2
    assert sorted(report.closed) == sorted(report.opened)
    assert left == []


def test_bot_script_runs_with_an_embedded_simulator(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / "ma_crossover.py"), "--iterations", "3", "--speed", "120"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=_clean_env(),
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "embedded simulator" in done.stderr
    assert "done: 3 iterations" in done.stderr


def test_bot_script_uses_the_given_server_without_speed_up(sim: SimHandle, tmp_path: Path) -> None:
    env = {
        **_clean_env(),
        "CAPITAL_API_KEY": sim.api_key,
        "CAPITAL_IDENTIFIER": sim.identifier,
        "CAPITAL_PASSWORD": sim.password,
        "CAPITAL_BASE_URL": sim.base_url,
    }
    speed_before = sim.state.clock.speed
    done = subprocess.run(
        [
            sys.executable,
            str(EXAMPLES / "ma_crossover.py"),
            "--iterations",
            "2",
            "--interval",
            "0.1",
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert f"trading on {sim.base_url}" in done.stderr
    assert "embedded simulator" not in done.stderr
    assert sim.state.clock.speed == speed_before


def test_bot_refuses_live_without_the_opt_in(tmp_path: Path) -> None:
    env = {
        **_clean_env(),
        "CAPITAL_ENV": "live",
        "CAPITAL_API_KEY": "k",
        "CAPITAL_IDENTIFIER": "i",
        "CAPITAL_PASSWORD": "p",
    }
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / "ma_crossover.py"), "--iterations", "1"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=60,
    )
    assert done.returncode == 2
    assert "--i-understand-live-trading" in done.stderr


def test_crossover_ignores_rounding_noise_of_equal_prices() -> None:
    bot = _load("ma_crossover")
    noisy = next(
        p / 100
        for p in range(100_000, 500_000)
        if bot.sma([p / 100] * 9, 3) != bot.sma([p / 100] * 9, 8)
    )
    flat = [noisy] * 9
    assert bot.crossover(flat, 3, 8) is None
    assert bot.crossover([*flat[:-1], noisy * 1.001], 3, 8) == "BUY"


def test_bot_needs_credentials_for_a_given_server(tmp_path: Path) -> None:
    env = {**_clean_env(), "CAPITAL_BASE_URL": "http://127.0.0.1:9"}
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / "ma_crossover.py"), "--iterations", "1"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=60,
    )
    assert done.returncode == 2
    assert "CAPITAL_API_KEY" in done.stderr
