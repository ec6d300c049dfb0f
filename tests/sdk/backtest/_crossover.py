"""The agreement harness: one moving-average crossover, three implementations of its fills.

- :func:`reference_trades`: the rules below in plain Python (the expected trade list).
- :func:`backtesting_trades`: the same strategy run by backtesting.py (kernc/backtesting.py,
  an independent, well-known library) with commission 0, spread 0, ``exclusive_orders=True``.
- our backtest: a bot trading on the simulator; :func:`compare` lists how its
  :class:`~capitalcom_sdk.backtest.Trade` list differs from either of the above.

The rules (the same in all three):

- the signal is computed on closes, exactly (prices are on a cent grid: sums of integer cents,
  compared by cross-multiplication, so no float rounding decides a crossing):
  ``sign[i] = sign(SMA_fast[i] - SMA_slow[i])``, defined from bar ``slow - 1`` on;
- after bar ``i`` closes (``i >= slow``), a BUY signal when ``sign[i-1] < 0 < sign[i]``, a SELL
  signal when ``sign[i-1] > 0 > sign[i]`` (backtesting.lib.crossover's strict inequalities);
- on a signal, any open position is closed and one of ``size`` opened in the signal's direction;
- fills: ``next_open`` (default) fills at the next bar's open, at that bar's start time, which is
  what a market order sent right after a bar closes gets in our simulator (at the bar's end the
  replayed price is the next bar's open: capitalcom_sim/engine/overrides.py ``replay_bars``);
  backtesting.py's ``trade_on_close=False``. ``close`` fills at the signal bar's own close (at
  the bar's end); backtesting.py's ``trade_on_close=True`` (which stamps the bar's start time:
  :func:`backtesting_trades` moves it to the bar's end);
- a signal after the last bar is never filled; a position still open at the end stays open
  (backtesting.py's ``finalize_trades=False``); our backtest closes it with reason ``END``, whose
  exit :func:`compare` does not check.
"""

from __future__ import annotations

import math
import random
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from capitalcom_sdk import Client
from capitalcom_sdk.backtest import Trade

Fill = Literal["next_open", "close"]
PRICE_DECIMALS = 2


@dataclass(frozen=True)
class Bar:
    """One OHLC bar of the synthetic series (prices on a cent grid)."""

    start: datetime
    open: float
    high: float
    low: float
    close: float


@dataclass(frozen=True)
class RefTrade:
    """A trade of the reference or of backtesting.py; exit fields are None while it is open."""

    direction: Literal["BUY", "SELL"]
    size: float
    entry_time: datetime
    entry_price: float
    exit_time: datetime | None
    exit_price: float | None
    pnl: float | None


def synthetic_bars(
    count: int = 400,
    *,
    seed: int = 18,
    start: datetime = datetime(2025, 1, 6, 9, tzinfo=UTC),
    seconds: int = 60,
    price: float = 2000.0,
) -> list[Bar]:
    """A deterministic random walk of ``count`` contiguous bars, prices on a cent grid.

    Each bar opens a few cents away from the previous close (a gap), so a fill at the next open
    and a fill at the close give different prices and the two fill rules can be told apart.
    """
    rng = random.Random(seed)
    cents = round(price * 100)
    bars: list[Bar] = []
    for index in range(count):
        open_cents = cents + rng.randint(-30, 30)
        drift = round(rng.gauss(0, 250))
        close_cents = max(100, open_cents + drift)
        high_cents = max(open_cents, close_cents) + rng.randint(0, 120)
        low_cents = max(1, min(open_cents, close_cents) - rng.randint(0, 120))
        bars.append(
            Bar(
                start=start + timedelta(seconds=seconds * index),
                open=open_cents / 100,
                high=high_cents / 100,
                low=low_cents / 100,
                close=close_cents / 100,
            )
        )
        cents = close_cents
    return bars


def signs(closes: Sequence[float], fast: int, slow: int) -> list[int | None]:
    """``sign(SMA_fast - SMA_slow)`` at each bar, exactly (None before bar ``slow - 1``)."""
    if not 0 < fast < slow:
        raise ValueError("need 0 < fast < slow")
    cents = [round(c * 10**PRICE_DECIMALS) for c in closes]
    out: list[int | None] = []
    for i in range(len(cents)):
        if i < slow - 1:
            out.append(None)
            continue
        fast_sum = sum(cents[i - fast + 1 : i + 1])
        slow_sum = sum(cents[i - slow + 1 : i + 1])
        difference = fast_sum * slow - slow_sum * fast
        out.append((difference > 0) - (difference < 0))
    return out


def signal_at(sign: Sequence[int | None], i: int) -> Literal["BUY", "SELL"] | None:
    """The signal after bar ``i`` closes, if any."""
    before, now = sign[i - 1], sign[i]
    if before is None or now is None:
        return None
    if before < 0 < now:
        return "BUY"
    if before > 0 > now:
        return "SELL"
    return None


def _pnl(direction: str, size: float, entry: float, exit_price: float) -> float:
    return (exit_price - entry) * size * (1 if direction == "BUY" else -1)


def reference_trades(
    bars: Sequence[Bar],
    *,
    fast: int = 10,
    slow: int = 30,
    size: float = 1.0,
    fill: Fill = "next_open",
    seconds: int = 60,
    bid_offset: float = 0.0,
    ask_offset: float = 0.0,
) -> list[RefTrade]:
    """The trades the rules (module docstring) make on ``bars``: closed ones, then the open one.

    The bars are mid prices; a buy fills at the ask (mid + ``ask_offset``), a sell at the bid
    (mid - ``bid_offset``): zero for backtesting.py, the instrument's own spread for a simulator
    replaying bars with it.
    """
    sign = signs([b.close for b in bars], fast, slow)

    def fill_price(direction: str, mid: float) -> float:
        shifted = mid + ask_offset if direction == "BUY" else mid - bid_offset
        return round(shifted, PRICE_DECIMALS)

    step = timedelta(seconds=seconds)
    trades: list[RefTrade] = []
    open_trade: tuple[Literal["BUY", "SELL"], datetime, float] | None = None
    for i in range(slow, len(bars)):
        signal = signal_at(sign, i)
        if signal is None:
            continue
        if fill == "next_open":
            if i + 1 >= len(bars):
                break  # never filled: no bar after the last
            at, price = bars[i + 1].start, bars[i + 1].open
        else:
            at, price = bars[i].start + step, bars[i].close
        if open_trade is not None:
            direction, opened, entry = open_trade
            exit_price = fill_price("SELL" if direction == "BUY" else "BUY", price)
            pnl = _pnl(direction, size, entry, exit_price)
            trades.append(RefTrade(direction, size, opened, entry, at, exit_price, pnl))
        open_trade = (signal, at, fill_price(signal, price))
    if open_trade is not None:
        direction, opened, entry = open_trade
        trades.append(RefTrade(direction, size, opened, entry, None, None, None))
    return trades


def last_signal_index(bars: Sequence[Bar], *, fast: int = 10, slow: int = 30) -> int | None:
    """The index of the last bar after which a signal comes (None without any)."""
    sign = signs([b.close for b in bars], fast, slow)
    found = [i for i in range(slow, len(bars)) if signal_at(sign, i) is not None]
    return found[-1] if found else None


def backtesting_trades(
    bars: Sequence[Bar],
    *,
    fast: int = 10,
    slow: int = 30,
    size: int = 1,
    fill: Fill = "next_open",
    seconds: int = 60,
) -> list[RefTrade]:
    """The trades backtesting.py makes with the same strategy on ``bars`` (times aware, UTC)."""
    import pandas as pd
    from backtesting import Backtest, Strategy

    frame = pd.DataFrame(
        {
            "Open": [b.open for b in bars],
            "High": [b.high for b in bars],
            "Low": [b.low for b in bars],
            "Close": [b.close for b in bars],
        },
        index=pd.DatetimeIndex([b.start.replace(tzinfo=None) for b in bars]),
    )

    def sign_indicator(closes: Any) -> list[float]:
        return [math.nan if s is None else float(s) for s in signs(list(closes), fast, slow)]

    class Crossover(Strategy):  # type: ignore[misc]
        def init(self) -> None:
            self.sign = self.I(sign_indicator, self.data.Close)

        def next(self) -> None:
            before, now = self.sign[-2], self.sign[-1]
            if before < 0 < now:
                self.buy(size=size)
            elif before > 0 > now:
                self.sell(size=size)

    backtest = Backtest(
        frame,
        Crossover,
        cash=1_000_000_000,
        commission=0.0,
        spread=0.0,
        margin=1.0,
        trade_on_close=fill == "close",
        exclusive_orders=True,
        finalize_trades=False,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "some trades remain open": expected, by the rules
        stats = backtest.run()
    # trade_on_close stamps a fill with its bar's start; in our timeline it is the bar's end.
    shift = timedelta(seconds=seconds) if fill == "close" else timedelta(0)

    def when(stamp: Any) -> datetime:
        moment: datetime = stamp.to_pydatetime().replace(tzinfo=UTC)
        return moment + shift

    trades = [
        RefTrade(
            direction="BUY" if row.Size > 0 else "SELL",
            size=float(abs(row.Size)),
            entry_time=when(row.EntryTime),
            entry_price=float(row.EntryPrice),
            exit_time=when(row.ExitTime),
            exit_price=float(row.ExitPrice),
            pnl=float(row.PnL),
        )
        for row in stats._trades.itertuples()
    ]
    for still_open in stats._strategy.trades:
        trades.append(
            RefTrade(
                direction="BUY" if still_open.size > 0 else "SELL",
                size=float(abs(still_open.size)),
                entry_time=when(still_open.entry_time),
                entry_price=float(still_open.entry_price),
                exit_time=None,
                exit_price=None,
                pnl=None,
            )
        )
    return trades


def as_trades(
    trades: Sequence[RefTrade], epic: str, end: datetime, last_close: float
) -> list[Trade]:
    """Reference trades as our :class:`Trade` (an open one closed with reason END at the end)."""
    out: list[Trade] = []
    for index, t in enumerate(trades):
        closed_at = t.exit_time or end
        close_level = t.exit_price if t.exit_price is not None else last_close
        out.append(
            Trade(
                epic=epic,
                direction=t.direction,
                size=t.size,
                deal_id=f"reference-{index}",
                opened_at=t.entry_time,
                open_level=t.entry_price,
                closed_at=closed_at,
                close_level=close_level,
                pnl=_pnl(t.direction, t.size, t.entry_price, close_level),
                close_reason="CLOSED" if t.exit_time is not None else "END",
            )
        )
    return out


def _same_price(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=0.0, abs_tol=0.5 * 10**-PRICE_DECIMALS - 1e-9)


def compare(
    ours: Sequence[Trade], theirs: Sequence[RefTrade], *, pnl_tolerance: float = 0.005 + 1e-9
) -> list[str]:
    """The differences between our trades and the reference's or backtesting.py's (none: [])."""
    problems: list[str] = []
    if len(ours) != len(theirs):
        problems.append(f"{len(ours)} trades here, {len(theirs)} there")
    for index, (mine, other) in enumerate(zip(ours, theirs, strict=False)):
        where = f"trade {index}"
        if mine.direction != other.direction:
            problems.append(f"{where}: direction {mine.direction} != {other.direction}")
        if not math.isclose(mine.size, other.size):
            problems.append(f"{where}: size {mine.size} != {other.size}")
        if mine.opened_at != other.entry_time:
            problems.append(f"{where}: opened {mine.opened_at} != {other.entry_time}")
        if not _same_price(mine.open_level, other.entry_price):
            problems.append(f"{where}: open level {mine.open_level} != {other.entry_price}")
        if other.exit_time is None:
            if mine.close_reason != "END":
                problems.append(f"{where}: closed ({mine.close_reason}), open there at the end")
            continue
        if mine.close_reason == "END":
            problems.append(f"{where}: open at the end here, closed there at {other.exit_time}")
            continue
        if mine.closed_at != other.exit_time:
            problems.append(f"{where}: closed {mine.closed_at} != {other.exit_time}")
        if other.exit_price is not None and not _same_price(mine.close_level, other.exit_price):
            problems.append(f"{where}: close level {mine.close_level} != {other.exit_price}")
        if other.pnl is not None and abs(mine.pnl - other.pnl) > pnl_tolerance:
            problems.append(f"{where}: P&L {mine.pnl} != {other.pnl:.6f}")
    return problems


def bars_csv(bars: Sequence[Bar]) -> str:
    """The bars as the simulator's replay CSV (``POST /_sim/bars/{epic}``)."""
    lines = ["time,open,high,low,close"]
    lines += [
        f"{b.start.strftime('%Y-%m-%dT%H:%M:%S')},{b.open},{b.high},{b.low},{b.close}" for b in bars
    ]
    return "\n".join(lines) + "\n"


def crossover_bot(
    client: Client,
    epic: str,
    end: datetime,
    *,
    fast: int = 10,
    slow: int = 30,
    size: float = 1.0,
    seconds: int = 60,
    close_at_end: bool = True,
) -> list[Trade]:
    """The crossover as a bot on the SDK: after each bar closes it reads the last closed bars
    through the API and, on a signal, closes its position and opens the new one at market.

    Waits on the client's clock (the simulator's in a backtest); at ``end`` it closes what is
    open (reason ``END``) unless ``close_at_end`` is False (a backtest runner closes it).
    Returns its trades as the simulator confirmed them.
    """
    trades: list[Trade] = []
    position: tuple[str, Literal["BUY", "SELL"], datetime, float] | None = None
    step = timedelta(seconds=seconds)
    previous_sign: int | None = None

    def close(reason: Literal["CLOSED", "END"]) -> None:
        assert position is not None
        deal_id, direction, opened_at, level = position
        done = client.positions.close(deal_id)
        assert done.level is not None, done
        assert done.profit is not None, done
        assert done.date is not None, done
        trades.append(
            Trade(
                epic,
                direction,
                size,
                deal_id,
                opened_at,
                level,
                done.date,
                done.level,
                done.profit,
                close_reason=reason,
            )
        )

    now = client.now()
    while now + step <= end:
        client.wait_until(now - timedelta(seconds=now.timestamp() % seconds) + step)
        now = client.now()
        history = client.prices.get(epic, "MINUTE", max_bars=slow + 1)
        closed = [b for b in history.prices if b.snapshot_time_utc + step <= now]
        if len(closed) < slow:
            continue
        sign = signs([b.close_price.bid for b in closed[-slow:]], fast, slow)[-1]
        signal = signal_at([previous_sign, sign], 1)
        previous_sign = sign
        if signal is None or now + step > end:
            continue  # no signal, or no bar left to trade in
        if position is not None:
            close("CLOSED")
        opened = client.positions.open(epic, signal, size)
        assert opened.level is not None, opened
        assert opened.date is not None, opened
        position = (opened.opened_deal_ids[0], signal, opened.date, opened.level)
    if position is not None and close_at_end:
        close("END")
    return trades
