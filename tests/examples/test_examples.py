"""The runnable examples: ``make demo``'s guided tour end to end, and the crossover bot."""

from __future__ import annotations

import csv
import importlib.util
import itertools
import json
import math
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
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


def _crossing_path(sim: SimHandle) -> None:
    """GOLD flat, then up 1 % (a BUY crossover near minute 4), then down (a SELL near 14)."""
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


def _move_clock(sim: SimHandle) -> Callable[[float], None]:
    return lambda seconds: sim.state.move_clock(advance_seconds=seconds)


def test_bot_trades_the_crossovers_of_a_price_path(sim: SimHandle) -> None:
    bot = _load("ma_crossover")
    _crossing_path(sim)
    settings = bot.Settings(epic="GOLD", resolution="MINUTE", fast=3, slow=8, iterations=36)
    with Client(**sim.client_kwargs()) as client:
        trader = bot.Bot(client, settings, sleep=_move_clock(sim))
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


# ---- the bot manages only its own positions ------------------------------------------------
def _open_deal_ids(client: Client) -> set[str]:
    return {item.position.deal_id for item in client.positions.list().positions}


@pytest.mark.parametrize("hedging", [False, True], ids=["netting", "hedging"])
def test_a_position_opened_by_hand_survives_the_bot(sim: SimHandle, hedging: bool) -> None:
    bot = _load("ma_crossover")
    _crossing_path(sim)
    with Client(**sim.client_kwargs()) as client:
        client.accounts.update_preferences(hedging_mode=hedging)
        by_hand = client.positions.open("GOLD", "SELL", 1).opened_deal_ids
        assert len(by_hand) == 1
        settings = bot.Settings(epic="GOLD", resolution="MINUTE", fast=3, slow=8, iterations=36)
        report = bot.Bot(client, settings, sleep=_move_clock(sim)).run(interval=60)
        left = _open_deal_ids(client)
    assert report.signals[:2] == ["BUY", "SELL"]
    # with hedging it trades both crossovers beside the hand-opened SELL; without, its BUY
    # would have closed that SELL (netting), so it skipped the BUY and traded only the SELL
    assert len(report.opened) == (2 if hedging else 1)
    assert sorted(report.closed) == sorted(report.opened)
    assert set(by_hand).isdisjoint(report.closed)
    assert left == set(by_hand)


def test_a_restarted_bot_keeps_its_positions_from_the_state_file(
    sim: SimHandle, tmp_path: Path
) -> None:
    bot = _load("ma_crossover")
    _crossing_path(sim)
    state_file = tmp_path / "state.json"
    with Client(**sim.client_kwargs()) as client:
        by_hand = set(client.positions.open("GOLD", "BUY", 1).opened_deal_ids)
        scope = f"{client.base_url} GOLD"
        first = bot.Settings(
            epic="GOLD", fast=3, slow=8, iterations=8, keep_positions=True
        )  # stops after the BUY crossover, holding
        report = bot.Bot(
            client, first, sleep=_move_clock(sim), owned=bot.OwnedDeals(state_file, scope)
        ).run(interval=60)
        assert report.signals == ["BUY"]
        (held,) = report.opened
        assert _open_deal_ids(client) == by_hand | {held}
        saved = json.loads(state_file.read_text())
        assert saved["deals"] == {scope: [held]}
        # a new process: the same state file, a fresh Bot
        second = bot.Settings(epic="GOLD", fast=3, slow=8, iterations=2)
        restarted = bot.Bot(
            client, second, sleep=_move_clock(sim), owned=bot.OwnedDeals(state_file, scope)
        )
        assert restarted.my_positions() == {held: "BUY"}  # the hand-opened BUY is not its own
        report = restarted.run(interval=60)
        assert report.closed == [held]
        assert _open_deal_ids(client) == by_hand
    assert json.loads(state_file.read_text())["deals"] == {}


def test_the_bot_refuses_to_close_a_position_it_did_not_open(sim: SimHandle) -> None:
    bot = _load("ma_crossover")
    with Client(**sim.client_kwargs()) as client:
        (by_hand,) = client.positions.open("GOLD", "BUY", 1).opened_deal_ids
        trader = bot.Bot(client, bot.Settings(epic="GOLD", iterations=1))
        with pytest.raises(RuntimeError, match="not opened by this bot"):
            trader.close(by_hand)
        assert _open_deal_ids(client) == {by_hand}


# ---- sign of life, fast runs, help ---------------------------------------------------------
def test_fast_forward_runs_twenty_decisions_in_seconds(tmp_path: Path) -> None:
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / "ma_crossover.py"), "--iterations", "20", "--fast-forward"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=_clean_env(),
        timeout=120,
    )
    elapsed = time.monotonic() - started
    assert done.returncode == 0, done.stderr[-3000:]
    log = done.stderr
    assert "clock moved one bar per decision" in log
    for number in range(1, 21):
        assert f"decision {number}/20 (bar of " in log
    # the bot's own waits (client.sleep on the simulator's clock) moved it one bar each time
    bars = re.findall(r"decision \d+/20 \(bar of (\d{4}-\d\d-\d\d \d\d:\d\d) UTC\)", log)
    minutes = [datetime.strptime(b, "%Y-%m-%d %H:%M") for b in bars]
    assert len(minutes) == 20
    assert all(b - a == timedelta(minutes=1) for a, b in itertools.pairwise(minutes)), bars
    assert "done: 20 iterations, " in log
    assert "HTTP Request:" not in log
    assert "signals" in log or "1 signal," in log
    assert "1 signals" not in log
    assert "1 positions" not in log
    assert not list(tmp_path.iterdir())  # no state file for the embedded simulator
    assert elapsed < 60  # ~3 s here; in real time this run takes 19 minutes


def test_heartbeat_between_decisions_and_httpx_lines_only_with_verbose(
    sim: SimHandle, tmp_path: Path
) -> None:
    env = {
        **_clean_env(),
        "CAPITAL_API_KEY": sim.api_key,
        "CAPITAL_IDENTIFIER": sim.identifier,
        "CAPITAL_PASSWORD": sim.password,
        "CAPITAL_BASE_URL": sim.base_url,
    }
    script = [sys.executable, str(EXAMPLES / "ma_crossover.py"), "--iterations", "2"]
    # a real wait, on purpose: the heartbeat is about wall-clock time passing (0.3 s here)
    quiet = subprocess.run(
        [*script, "--interval", "0.3", "--heartbeat", "0.1", "--state", str(tmp_path / "s")],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=120,
    )
    assert quiet.returncode == 0, quiet.stderr[-3000:]
    assert quiet.stderr.count("alive: next decision in") == 2
    assert "decision 1/2" in quiet.stderr
    assert "HTTP Request:" not in quiet.stderr
    verbose = subprocess.run(
        [*script, "--interval", "0", "-v", "--state", str(tmp_path / "s")],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=120,
    )
    assert verbose.returncode == 0, verbose.stderr[-3000:]
    assert "HTTP Request:" in verbose.stderr


def test_help_is_complete_and_says_how_long_a_run_takes() -> None:
    bot = _load("ma_crossover")
    parser_help = subprocess.run(
        [sys.executable, str(EXAMPLES / "ma_crossover.py"), "--help"],
        capture_output=True,
        text=True,
        env={**_clean_env(), "COLUMNS": "200"},
        timeout=60,
    ).stdout
    assert "about 19 minutes" in parser_help
    assert "--fast-forward" in parser_help
    assert "about 19 minutes" in (bot.__doc__ or "")
    options = [a for a in bot.build_parser()._actions if a.dest != "help"]
    assert len(options) >= 14
    for action in options:  # every option explained in a sentence
        assert action.help, action.dest
        assert action.help[0].isupper(), action.help
        assert action.help.endswith("."), action.help
    description = parser_help.split("options:")[0]
    for paragraph in description.strip().split("\n\n")[1:]:
        if paragraph.startswith("    "):
            continue  # a command to type
        assert paragraph.rstrip().endswith((".", ":")), paragraph


def test_counts_are_pluralised() -> None:
    bot = _load("ma_crossover")
    assert [bot.plural(n, "signal") for n in (0, 1, 2)] == ["0 signals", "1 signal", "2 signals"]


# ---- the same file in a backtest ------------------------------------------------------------
def _wave_bars(path: Path, count: int) -> None:
    """MINUTE bars of a slow wave: crossovers every few dozen bars."""
    start = int(datetime(2026, 1, 5, tzinfo=UTC).timestamp() * 1000)
    rows, price = ["time,open,high,low,close"], 60_000.0
    for i in range(count):
        close = 60_000.0 + 400.0 * math.sin(i / 9.0)
        rows.append(
            f"{start + i * 60_000},{price:.2f},{max(price, close) + 5:.2f},"
            f"{min(price, close) - 5:.2f},{close:.2f}"
        )
        price = close
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")


def test_the_example_bot_runs_unchanged_in_a_backtest(tmp_path: Path) -> None:
    from capitalcom_sdk.backtest import Backtest

    data = tmp_path / "BTCUSD.csv"
    _wave_bars(data, 260)
    result = Backtest(
        "BTCUSD", "MINUTE", "2026-01-05T00:25", "2026-01-06", data=data, warmup=25
    ).run(str(EXAMPLES / "ma_crossover.py"), ["--epic", "BTCUSD", "--iterations", "100000"])
    assert result.exit == "ok", result.message
    assert "on the simulator's clock (a backtest)" in result.log
    assert "the backtest's end is reached after" in result.log
    assert len(result.trades) >= 4  # the wave crosses its averages every ~30 bars
    opened = [t.opened_at for t in result.trades]
    assert opened == sorted(opened)
    assert all(t.opened_at.second == 0 for t in result.trades)  # one decision per bar
    assert not (tmp_path / "ma_crossover.state.json").exists()
