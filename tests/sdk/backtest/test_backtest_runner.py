"""Backtest(...).run(bot): a real simulator child, real bot processes, the simulator's ledger."""

from __future__ import annotations

import json
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest

from capitalcom_sdk import Client
from capitalcom_sdk.backtest import Backtest, BacktestResult, report
from capitalcom_sdk.errors import ConfigurationError
from tests.sdk.backtest._bars import CROSSOVER_BOT, START, write_bot, write_csv

END = START + timedelta(minutes=300)


def backtest(data: Path, **options: object) -> Backtest:
    options.setdefault("rate_limits", False)
    return Backtest("GOLD", "MINUTE", START, END, data=data, **options)  # type: ignore[arg-type]


def net(result: BacktestResult) -> float:
    return round(sum(t.pnl - t.fees + t.funding for t in result.trades), 2)


def test_script_bot_trades_until_the_end_of_the_data(tmp_path: Path) -> None:
    data = write_csv(tmp_path / "GOLD.csv")
    bot = write_bot(tmp_path, "bot.py", CROSSOVER_BOT)

    result = backtest(data).run(bot, ["3", "10"])

    assert result.exit == "ok", result.message
    assert result.message is None
    assert result.bars == 300
    assert result.start == START
    assert result.end == END
    # One equity point at the start, then one per bar (the bot waits one bar at a time).
    assert [p.at for p in result.equity] == [START + timedelta(minutes=i) for i in range(301)]
    assert len(result.trades) >= 2
    assert {t.close_reason for t in result.trades[:-1]} == {"CLOSED"}
    assert result.trades[-1].close_reason == "END"
    assert result.trades[-1].closed_at == END
    for trade in result.trades:
        assert trade.opened_at < trade.closed_at
        assert trade.size == 1.0
        assert 1900 < trade.open_level < 2100
    assert result.equity[-1].balance == result.equity[-1].equity
    assert result.equity[-1].balance == pytest.approx(10_000 + net(result), abs=0.01)
    assert "signal BUY" in result.log or "signal SELL" in result.log
    assert "reached the end of the backtest" in result.log


def test_same_inputs_and_seed_give_byte_identical_reports(tmp_path: Path) -> None:
    data = write_csv(tmp_path / "GOLD.csv")
    bot = write_bot(tmp_path, "bot.py", CROSSOVER_BOT)
    outputs = []
    for run in ("a", "b"):
        result = backtest(data, seed=3).run(bot)
        assert result.exit == "ok", result.message
        report.write(result, tmp_path / run, chart=False)
        outputs.append(result)
    for name in ("trades.json", "trades.csv", "equity.csv", "stats.json", "report.json", "bot.log"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    trades = json.loads((tmp_path / "a" / "trades.json").read_bytes())
    assert len(trades) == len(outputs[0].trades) >= 2


def test_callable_bot_runs_in_process_on_the_simulators_clock(tmp_path: Path) -> None:
    data = write_csv(tmp_path / "GOLD.csv", 120)
    seen: list[str] = []

    def bot(client: Client) -> None:
        client.positions.open("GOLD", "BUY", 2.0)
        for _ in range(30):
            seen.append(client.now().isoformat())
            client.sleep(60)

    result = backtest(data).run(bot)

    assert result.exit == "ok", result.message
    assert seen[0] == START.isoformat()
    assert seen[-1] == (START + timedelta(minutes=29)).isoformat()
    assert result.end == START + timedelta(minutes=30)  # the bot returned there
    [trade] = result.trades
    assert (trade.direction, trade.size, trade.close_reason) == ("BUY", 2.0, "END")
    assert trade.closed_at == START + timedelta(minutes=30)


def test_async_callable_bot_gets_an_async_client(tmp_path: Path) -> None:
    data = write_csv(tmp_path / "GOLD.csv", 60)

    async def bot(client: object) -> None:
        for _ in range(5):
            await client.sleep(60)  # type: ignore[attr-defined]

    result = backtest(data).run(bot)

    assert result.exit == "ok", result.message
    assert result.end == START + timedelta(minutes=5)


def test_crashing_bot_ends_the_run_as_crashed_with_its_traceback(tmp_path: Path) -> None:
    data = write_csv(tmp_path / "GOLD.csv", 60)
    bot = write_bot(
        tmp_path,
        "crash.py",
        """
        from capitalcom_sdk import Client
        client = Client.from_env()
        client.sleep(120)
        print("about to fail")
        1 / 0
        """,
    )

    result = backtest(data).run(bot)

    assert result.exit == "crashed"
    assert result.message is not None
    assert "ZeroDivisionError: division by zero" in result.message
    assert "Traceback (most recent call last)" in result.log
    assert "about to fail" in result.log
    assert result.end == START + timedelta(minutes=2)


def test_bot_that_neither_requests_nor_waits_is_stopped_as_hung(tmp_path: Path) -> None:
    data = write_csv(tmp_path / "GOLD.csv", 60)
    bot = write_bot(
        tmp_path,
        "hang.py",
        """
        import time
        from capitalcom_sdk import Client
        Client.from_env().sleep(60)
        time.sleep(600)
        """,
    )
    began = time.monotonic()

    result = backtest(data, timeout=1.0).run(bot)

    assert time.monotonic() - began < 20
    assert result.exit == "hung"
    assert result.message is not None
    assert "no request and no wait for 1 s" in result.message
    assert "2025-01-02 12:01:00 UTC" in result.message


def test_bot_whose_simulated_time_never_moves_is_stopped_as_hung(tmp_path: Path) -> None:
    data = write_csv(tmp_path / "GOLD.csv", 60)
    bot = write_bot(
        tmp_path,
        "spin.py",
        """
        from capitalcom_sdk import Client
        client = Client.from_env(rate_limit=False)
        while True:
            client.general.server_time()
        """,
    )

    result = backtest(data, timeout=1.5).run(bot)

    assert result.exit == "hung"
    assert result.message is not None
    assert "simulated time has not moved for 1.5 s" in result.message


def test_bot_over_the_rate_limit_ends_the_run_as_rate_limited(tmp_path: Path) -> None:
    data = write_csv(tmp_path / "GOLD.csv", 60)
    bot = write_bot(
        tmp_path,
        "burst.py",
        """
        from capitalcom_sdk import Client
        client = Client.from_env(rate_limit=False, max_retries=0)
        client.sleep(60)
        for _ in range(30):  # 30 requests in one simulated instant: over 10 per second
            client.markets.get("GOLD")
        """,
    )

    result = backtest(data, rate_limits=True).run(bot)

    assert result.exit == "rate-limited"
    assert result.message is not None
    assert "general" in result.message
    assert "RateLimitError" in result.message


def test_bot_reading_history_before_start_gets_the_warmup_bars(tmp_path: Path) -> None:
    data = write_csv(tmp_path / "GOLD.csv", 120)
    counts: list[int] = []

    def bot(client: Client) -> None:
        history = client.prices.get("GOLD", "MINUTE", max_bars=50)
        counts.append(len(history.prices))

    result = Backtest(
        "GOLD",
        "MINUTE",
        START + timedelta(minutes=60),
        START + timedelta(minutes=120),
        data=data,
        warmup=30,
        rate_limits=False,
    ).run(bot)

    assert result.exit == "ok", result.message
    assert result.bars == 60
    assert counts
    assert counts[0] >= 30


def test_bad_inputs_are_configuration_errors(tmp_path: Path) -> None:
    data = write_csv(tmp_path / "GOLD.csv", 30)
    with pytest.raises(ConfigurationError, match="resolution"):
        Backtest("GOLD", "FORTNIGHT", START, END, data=data)
    with pytest.raises(ConfigurationError, match="end must be after start"):
        Backtest("GOLD", "MINUTE", END, START, data=data)
    with pytest.raises(ConfigurationError, match="no MINUTE bars"):
        Backtest("GOLD", "MINUTE", END, END + timedelta(hours=1), data=data).run(lambda c: None)
    with pytest.raises(ConfigurationError, match="not a file"):
        backtest(data).run(tmp_path / "missing.py")
    with pytest.raises(ConfigurationError, match="one epic"):
        Backtest(["GOLD", "SILVER"], "MINUTE", START, END, data=data).run(lambda c: None)


def test_hung_callable_bot_ends_the_run_and_the_simulator(tmp_path: Path) -> None:
    data = write_csv(tmp_path / "GOLD.csv", 30)
    release = threading.Event()

    def bot(client: Client) -> None:
        client.sleep(60)
        release.wait(60)  # stuck without a request or a wait

    try:
        result = backtest(data, timeout=1.0).run(bot)
    finally:
        release.set()

    assert result.exit == "hung"
    assert result.message is not None
    assert "no request and no wait" in result.message
    assert result.end == START + timedelta(minutes=1)
