"""Paper(...).run(bot): a bot script trading on a simulator whose quotes come from another one.

The source simulator stands for the demo or live server (its clock frozen; a quote set on it is
streamed after a one-tick clock move); Paper starts its own target simulator on the wall clock.
BTCUSD is used because it trades around the clock, whatever day the tests run on.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import httpx
import pytest

from capitalcom_sdk import Client
from capitalcom_sdk.backtest import BacktestResult, Paper
from capitalcom_sdk.errors import ConfigurationError
from tests.conftest import SimHandle
from tests.sdk.backtest._bars import write_bot

EPIC = "BTCUSD"
FIRST = (76_500.25, 76_530.75)  # bid, offer on the source when the bot starts
SECOND = (76_610.5, 76_640.0)  # then moved to this
SESSION = {"POST /api/v1/session", "DELETE /api/v1/session"}

# Opens at the first quote, says so in a marker file, closes when the second quote arrives.
ROUND_TRIP_BOT = """
    import sys, time
    from pathlib import Path
    from capitalcom_sdk import Client

    marker, epic, second_bid = Path(sys.argv[1]), sys.argv[2], float(sys.argv[3])
    client = Client.from_env()
    print("clock", type(client.clock).__name__)
    deal = client.positions.open(epic, "BUY", 0.1)
    print("opened", deal.level)
    marker.write_text("opened")
    deadline = time.monotonic() + 20
    while client.markets.get(epic).snapshot.bid != second_bid:
        if time.monotonic() > deadline:
            sys.exit("the second quote never came")
        client.sleep(0.05)
    client.positions.close(deal.opened_deal_ids[0])
    print("closed")
"""

# Opens, says so, then waits for ever (the run stops it).
HOLDING_BOT = """
    import sys
    from pathlib import Path
    from capitalcom_sdk import Client

    client = Client.from_env()
    client.positions.open(sys.argv[2], "SELL", 0.1)
    Path(sys.argv[1]).write_text("opened")
    while True:
        client.sleep(0.2)
"""


def quote_on(source: SimHandle, bid: float, offer: float) -> None:
    """Set a quote on the source and move its clock one tick so that it streams it."""
    with httpx.Client(base_url=source.base_url) as http:
        http.post(f"/_sim/prices/{EPIC}", json={"bid": bid, "offer": offer}).raise_for_status()
        http.post("/_sim/clock", json={"advance": 1}).raise_for_status()


def wait_for(path: Path, done: list[object], seconds: float = 30.0) -> None:
    """Wait until the bot wrote ``path`` (fails at once if the run ended first)."""
    deadline = time.monotonic() + seconds
    while not path.exists():
        assert not done, f"the run ended before {path.name}: {done}"
        assert time.monotonic() < deadline, f"{path.name} never appeared"
        time.sleep(0.02)


def trading_requests(source: SimHandle) -> dict[str, int]:
    """The source's requests other than reads, logging in and out and its control plane."""
    requests: dict[str, int] = source.state.stats.snapshot()["requests"]
    return {
        key: n
        for key, n in requests.items()
        if (not key.startswith("GET ") and key not in SESSION and " /_sim/" not in key)
        or any(word in key for word in ("positions", "workingorders", "confirms"))
    }


def run_in_thread(
    paper: Paper, bot: Path, args: list[str]
) -> tuple[threading.Thread, list[object]]:
    done: list[object] = []

    def target() -> None:
        try:
            done.append(paper.run(bot, args))
        except BaseException as exc:
            done.append(exc)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    return thread, done


def test_bot_fills_at_the_source_quotes_and_no_order_reaches_the_source(
    source: SimHandle, tmp_path: Path
) -> None:
    quote_on(source, *FIRST)
    bot = write_bot(tmp_path, "bot.py", ROUND_TRIP_BOT)
    marker = tmp_path / "opened"
    out = tmp_path / "report"

    with Client(**source.client_kwargs()) as feed:
        paper = Paper(feed, [EPIC], balance=5_000, out=out, duration=60)
        thread, done = run_in_thread(paper, bot, [str(marker), EPIC, str(SECOND[0])])
        wait_for(marker, done)
        quote_on(source, *SECOND)
        thread.join(timeout=60)
    [result] = done

    assert isinstance(result, BacktestResult), result
    assert result.exit == "ok", result.log
    assert result.message == "the bot exited by itself"
    assert "clock WallClock" in result.log
    [trade] = result.trades
    assert (trade.epic, trade.direction, trade.size) == (EPIC, "BUY", 0.1)
    assert trade.open_level == FIRST[1]  # bought at the source's offer
    assert trade.close_level == SECOND[0]  # sold back at its bid
    assert trade.close_reason == "CLOSED"
    assert trade.pnl == pytest.approx((SECOND[0] - FIRST[1]) * 0.1, abs=0.01)
    assert (result.initial_balance, result.currency) == (5_000, "USD")
    assert result.resolution == "QUOTES"
    assert result.bars >= 2  # quotes bridged: the start-up snapshot and the second quote
    assert result.equity, "no equity point"
    [written] = json.loads((out / "trades.json").read_text())
    assert written["open_level"] == FIRST[1]
    assert "opened" in (out / "bot.log").read_text()
    assert trading_requests(source) == {}


def test_duration_stops_the_bot_and_closes_its_position_as_an_end_trade(
    source: SimHandle, tmp_path: Path
) -> None:
    quote_on(source, *FIRST)
    bot = write_bot(tmp_path, "bot.py", HOLDING_BOT)
    out = tmp_path / "report"

    with Client(**source.client_kwargs()) as feed:
        started = time.monotonic()
        paper = Paper(feed, EPIC, currency="EUR", out=out, duration=4.0)
        result = paper.run(bot, [str(tmp_path / "m"), EPIC])
        took = time.monotonic() - started

    assert result.exit == "ok", result.log
    assert result.message == "stopped after the duration (4 s)"
    [trade] = result.trades
    assert (trade.direction, trade.open_level, trade.close_reason) == ("SELL", FIRST[0], "END")
    assert trade.close_level == FIRST[1]  # bought back at the offer
    assert took < 20
    assert result.currency == "EUR"
    assert (out / "report.html").exists()
    assert trading_requests(source) == {}


def test_stop_from_another_thread_ends_the_run_with_a_report(
    source: SimHandle, tmp_path: Path
) -> None:
    bot = write_bot(tmp_path, "bot.py", HOLDING_BOT)
    marker = tmp_path / "opened"

    with Client(**source.client_kwargs()) as feed:
        paper = Paper(feed, EPIC, out=tmp_path / "report")
        thread, done = run_in_thread(paper, bot, [str(marker), EPIC])
        wait_for(marker, done)
        paper.stop()
        thread.join(timeout=30)
    [result] = done

    assert isinstance(result, BacktestResult), result
    assert result.message == "stopped by Paper.stop()"
    assert [t.close_reason for t in result.trades] == ["END"]
    assert (tmp_path / "report" / "trades.csv").exists()


def test_a_crashing_bot_is_reported_as_crashed(source: SimHandle, tmp_path: Path) -> None:
    bot = write_bot(tmp_path, "bot.py", "raise RuntimeError('no strategy yet')\n")

    with Client(**source.client_kwargs()) as feed:
        result = Paper(feed, EPIC, duration=30).run(bot)

    assert result.exit == "crashed"
    assert result.message is not None
    assert "RuntimeError: no strategy yet" in result.message


def test_an_epic_the_simulator_does_not_have_is_a_configuration_error(
    source: SimHandle, tmp_path: Path
) -> None:
    bot = write_bot(tmp_path, "bot.py", "print('never runs')\n")

    with Client(**source.client_kwargs()) as feed:
        with pytest.raises(ConfigurationError, match="the simulator has no market 'NOPE'"):
            Paper(feed, [EPIC, "NOPE"]).run(bot)
        with pytest.raises(ConfigurationError, match="is not a file"):
            Paper(feed, EPIC).run(tmp_path / "missing.py")
        with pytest.raises(ConfigurationError, match="duration"):
            Paper(feed, EPIC, duration=0)
