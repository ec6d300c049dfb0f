"""The figures of a backtest report, from a :class:`BacktestResult` (standard library only).

Definitions (docs/backtest.md repeats them):

- net P&L: the sum of the trades' ``pnl - fees + funding``; return: net P&L / initial balance.
- the curve: the total's is the equity curve (balance + open P&L at each simulated step); an
  epic's is its realised curve (initial balance + the net P&L of its trades closed so far), since
  the open P&L of one epic is not recorded apart from the others'.
- max drawdown: the largest fall from a running peak of the curve (the initial balance is the
  first peak), in money and, separately, in percent of that peak (the two may come from
  different falls).
- daily returns: the curve's last value of each UTC calendar day from ``start`` to ``end``
  against the previous day's (the initial balance before the first day). Every calendar day
  counts, weekends too (CFDs on crypto and some indices trade then; a closed market gives a
  zero return), so Sharpe and Sortino are annualised with sqrt(365): mean / sample standard
  deviation x sqrt(365) for Sharpe, mean / downside deviation (root mean square of the negative
  returns over all days, target 0) x sqrt(365) for Sortino; risk-free rate 0. None with fewer
  than two daily returns or a zero deviation.
- win rate: trades with a positive net P&L / trades; profit factor: the sum of the winning
  trades' net P&L / the losses' (None without a losing trade).
- exposure: the share of ``[start, end]`` during which at least one position was open.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any

from capitalcom_sdk.backtest._results import BacktestResult, Trade

ANNUALISATION_DAYS = 365
"""Daily returns are calendar days (weekends included), so a year is 365 of them."""

Curve = Sequence[tuple[datetime, float]]


def _money(value: float) -> float:
    return round(value, 2) + 0.0


def _ratio(value: float | None) -> float | None:
    return None if value is None else round(value, 4) + 0.0


@dataclass(frozen=True, slots=True)
class Stats:
    """The figures of one epic, or of the whole backtest (see the module's definitions).

    Money is in the account's currency (2 decimals); percentages are 0-100 (4 decimals);
    a figure that is undefined (no trade, no losing trade, too few days) is None.
    """

    trades: int
    wins: int
    losses: int
    net_pnl: float
    gross_pnl: float
    fees: float
    funding: float
    return_pct: float
    max_drawdown: float
    max_drawdown_pct: float
    sharpe: float | None
    sortino: float | None
    win_rate_pct: float | None
    profit_factor: float | None
    exposure_pct: float
    average_trade: float | None
    days: int

    def to_dict(self) -> dict[str, Any]:
        """The figures as a JSON-ready mapping."""
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


@dataclass(frozen=True, slots=True)
class Summary:
    """The statistics of a backtest: the total and each epic's (in the result's epic order)."""

    total: Stats
    epics: dict[str, Stats]

    def to_dict(self) -> dict[str, Any]:
        """The JSON form, with the annualisation used for Sharpe and Sortino."""
        return {
            "total": self.total.to_dict(),
            "epics": {epic: s.to_dict() for epic, s in self.epics.items()},
            "annualisation_days": ANNUALISATION_DAYS,
        }


def stats(result: BacktestResult) -> Summary:
    """The report's figures of ``result``: in total and per epic."""
    epics = list(result.epics)
    epics += sorted({t.epic for t in result.trades} - set(epics))
    if result.equity:
        total_curve: Curve = [(p.at, p.equity) for p in result.equity]
    else:
        total_curve = realised_curve(result.trades, result.initial_balance)
    total = _scope_stats(result, list(result.trades), total_curve)
    by_epic: dict[str, Stats] = {}
    for epic in epics:
        trades = [t for t in result.trades if t.epic == epic]
        by_epic[epic] = _scope_stats(result, trades, realised_curve(trades, result.initial_balance))
    return Summary(total=total, epics=by_epic)


def realised_curve(trades: Sequence[Trade], initial_balance: float) -> list[tuple[datetime, float]]:
    """Initial balance plus the net P&L of the trades closed so far, at each closing time."""
    ordered = sorted(trades, key=lambda t: t.closed_at)
    curve: list[tuple[datetime, float]] = []
    running: list[float] = [initial_balance]
    for trade in ordered:
        running.append(trade.net_pnl)
        curve.append((trade.closed_at, math.fsum(running)))
    return curve


def drawdowns(curve: Curve, initial_balance: float) -> list[tuple[float, float]]:
    """At each point of ``curve``: (fall from the running peak, that fall in % of the peak)."""
    peak = initial_balance
    out: list[tuple[float, float]] = []
    for _, value in curve:
        peak = max(peak, value)
        fall = peak - value
        out.append((fall, fall / peak * 100 if peak > 0 else 0.0))
    return out


def daily_values(
    curve: Curve, start: datetime, end: datetime, initial_balance: float
) -> list[float]:
    """The initial balance, then the curve's last value of each UTC day from start to end."""
    values = [initial_balance]
    current = initial_balance
    index = 0
    day = start.astimezone(UTC).date()
    while True:
        next_midnight = datetime.combine(day + timedelta(days=1), time(), UTC)
        last_day = next_midnight >= end
        while index < len(curve) and (last_day or curve[index][0] < next_midnight):
            current = curve[index][1]
            index += 1
        values.append(current)
        if last_day:
            return values
        day += timedelta(days=1)


def daily_returns(values: Sequence[float]) -> list[float]:
    """Simple returns between consecutive daily values (0 after a value of 0)."""
    return [
        (value - previous) / abs(previous) if previous else 0.0
        for previous, value in itertools.pairwise(values)
    ]


def sharpe_ratio(returns: Sequence[float]) -> float | None:
    """Annualised Sharpe ratio of daily returns (risk-free 0), None if undefined."""
    n = len(returns)
    if n < 2:
        return None
    mean = math.fsum(returns) / n
    variance = math.fsum((r - mean) ** 2 for r in returns) / (n - 1)
    if variance <= 0:
        return None
    return mean / math.sqrt(variance) * math.sqrt(ANNUALISATION_DAYS)


def sortino_ratio(returns: Sequence[float]) -> float | None:
    """Annualised Sortino ratio of daily returns (target 0), None if undefined."""
    n = len(returns)
    if n < 2:
        return None
    downside = math.fsum(min(r, 0.0) ** 2 for r in returns) / n
    if downside <= 0:
        return None
    mean = math.fsum(returns) / n
    return mean / math.sqrt(downside) * math.sqrt(ANNUALISATION_DAYS)


def exposure(trades: Sequence[Trade], start: datetime, end: datetime) -> float:
    """The share (0-1) of [start, end] with at least one of ``trades`` open."""
    span = (end - start).total_seconds()
    if span <= 0:
        return 0.0
    spans = sorted(
        (max(t.opened_at, start), min(t.closed_at, end))
        for t in trades
        if t.closed_at > start and t.opened_at < end
    )
    covered = 0.0
    current_start: datetime | None = None
    current_end: datetime | None = None
    for opened, closed in spans:
        if current_end is None or opened > current_end:
            if current_start is not None and current_end is not None:
                covered += (current_end - current_start).total_seconds()
            current_start, current_end = opened, closed
        else:
            current_end = max(current_end, closed)
    if current_start is not None and current_end is not None:
        covered += (current_end - current_start).total_seconds()
    return covered / span


def _scope_stats(result: BacktestResult, trades: list[Trade], curve: Curve) -> Stats:
    nets = [t.net_pnl for t in trades]
    gains = [n for n in nets if n > 0]
    losses = [n for n in nets if n < 0]
    net = math.fsum(nets)
    falls = drawdowns(curve, result.initial_balance)
    values = daily_values(curve, result.start, result.end, result.initial_balance)
    returns = daily_returns(values)
    initial = result.initial_balance
    return Stats(
        trades=len(trades),
        wins=len(gains),
        losses=len(losses),
        net_pnl=_money(net),
        gross_pnl=_money(math.fsum(t.pnl for t in trades)),
        fees=_money(math.fsum(t.fees for t in trades)),
        funding=_money(math.fsum(t.funding for t in trades)),
        return_pct=round(net / initial * 100, 4) + 0.0 if initial else 0.0,
        max_drawdown=_money(max((f for f, _ in falls), default=0.0)),
        max_drawdown_pct=round(max((p for _, p in falls), default=0.0), 4) + 0.0,
        sharpe=_ratio(sharpe_ratio(returns)),
        sortino=_ratio(sortino_ratio(returns)),
        win_rate_pct=_ratio(len(gains) / len(trades) * 100) if trades else None,
        profit_factor=_ratio(math.fsum(gains) / -math.fsum(losses)) if losses else None,
        exposure_pct=round(exposure(trades, result.start, result.end) * 100, 4) + 0.0,
        average_trade=_money(net / len(trades)) if trades else None,
        days=len(returns),
    )
