"""What a backtest reads back: every position's life (open, close, costs) and an equity series.

The engine tells the :class:`Ledger` when a position opens, when (part of) it closes and when a
fee is booked on it; the simulator's state samples each account's balance and equity after
every clock move (when sampling is on). Plain data, no HTTP; the engine's lock covers every call.
Memory is bounded: at most :data:`MAX_TRADES` closed trades per account (the oldest are dropped
and counted) and :data:`MAX_POINTS` equity points (when full, every other point is dropped and
the sampling interval doubles).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from capitalcom_sim.engine.types import Position

MAX_TRADES = 100_000
MAX_POINTS = 200_000

# The engine's close sources as the close reasons of a trade.
_REASONS = {"USER": "CLOSED", "TP": "LIMIT", "CLOSE_OUT": "STOP_OUT", "END": "END"}


def close_reason(source: str, trailing: bool) -> str:
    """The trade's close reason of an engine close ``source`` (SL of a trailing stop: TRAILING)."""
    if source == "SL":
        return "TRAILING" if trailing else "STOP"
    return _REASONS.get(source, "CLOSED")


@dataclass
class OpenTrade:
    """A position still open, with the costs booked on it so far."""

    deal_id: str
    epic: str
    direction: str
    size: float
    opened_ms: int
    open_level: float
    fees: float = 0.0
    funding: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "dealId": self.deal_id,
            "epic": self.epic,
            "direction": self.direction,
            "size": self.size,
            "openedMs": self.opened_ms,
            "openLevel": self.open_level,
            "fees": round(self.fees, 2),
            "funding": round(self.funding, 2),
        }


@dataclass(frozen=True)
class ClosedTrade:
    """(Part of) a position closed: levels, times, realised P&L and its share of the costs."""

    deal_id: str
    epic: str
    direction: str
    size: float
    opened_ms: int
    open_level: float
    closed_ms: int
    close_level: float
    pnl: float
    fees: float
    funding: float
    reason: str

    def to_json(self) -> dict[str, Any]:
        return {
            "dealId": self.deal_id,
            "epic": self.epic,
            "direction": self.direction,
            "size": self.size,
            "openedMs": self.opened_ms,
            "openLevel": self.open_level,
            "closedMs": self.closed_ms,
            "closeLevel": self.close_level,
            "pnl": self.pnl,
            "fees": self.fees,
            "funding": self.funding,
            "closeReason": self.reason,
        }


@dataclass
class AccountLedger:
    """One account's trades and equity points."""

    open: dict[str, OpenTrade] = field(default_factory=dict)
    closed: list[ClosedTrade] = field(default_factory=list)
    dropped_trades: int = 0
    points: list[tuple[int, float, float]] = field(default_factory=list)  # (ms, balance, equity)
    bucket_ms: int = 0


class Ledger:
    """Trades of every account and, when ``sample_ms`` is set, equity sampled on clock moves.

    ``sample_ms`` > 0 keeps at most one point per interval of that length (the last one of the
    interval: the state after the latest move in it); 0 keeps one point per clock move.
    None turns sampling off (the default of a plain simulator).
    """

    def __init__(self, sample_ms: int | None = None) -> None:
        self.sample_ms = sample_ms
        self.end_refusals = 0  # clock moves refused at the end (config end_ms)
        self._accounts: dict[str, AccountLedger] = {}

    def account(self, account_id: str) -> AccountLedger:
        book = self._accounts.get(account_id)
        if book is None:
            book = self._accounts[account_id] = AccountLedger(bucket_ms=self.sample_ms or 0)
        return book

    # -- what the engine reports -------------------------------------------------------------
    def opened(self, position: Position) -> None:
        self.account(position.account_id).open[position.deal_id] = OpenTrade(
            position.deal_id,
            position.epic,
            position.direction,
            position.size,
            position.created_ms,
            position.level,
        )

    def closed(
        self, position: Position, size: float, level: float, now: int, source: str, pnl: float
    ) -> None:
        """``size`` of ``position`` closed (call before the position's size is reduced)."""
        book = self.account(position.account_id)
        trade = book.open.get(position.deal_id)
        if trade is None:  # opened before the ledger existed (cannot happen in one engine)
            trade = OpenTrade(
                position.deal_id,
                position.epic,
                position.direction,
                position.size,
                position.created_ms,
                position.level,
            )
        share = 1.0 if size >= trade.size - 1e-12 else size / trade.size
        fees, funding = round(trade.fees * share, 2), round(trade.funding * share, 2)
        book.closed.append(
            ClosedTrade(
                trade.deal_id,
                trade.epic,
                trade.direction,
                size,
                trade.opened_ms,
                trade.open_level,
                now,
                level,
                pnl,
                fees,
                funding,
                close_reason(source, position.trailing_stop),
            )
        )
        if len(book.closed) > MAX_TRADES:
            del book.closed[0]
            book.dropped_trades += 1
        if share == 1.0:
            book.open.pop(position.deal_id, None)
        else:
            trade.size = round(trade.size - size, 10)
            trade.fees -= fees
            trade.funding -= funding
            book.open[position.deal_id] = trade

    def fee(self, position: Position, amount: float, kind: str) -> None:
        """A cost booked on an open position: ``SWAP`` (funding) or a fee."""
        book = self.account(position.account_id)
        trade = book.open.get(position.deal_id)
        if trade is None:
            # The guaranteed-stop fee is booked just after the close: the last closed trade.
            for index in range(len(book.closed) - 1, -1, -1):
                done = book.closed[index]
                if done.deal_id == position.deal_id:
                    book.closed[index] = replace(done, fees=round(done.fees + amount, 2))
                    return
            return
        if kind == "SWAP":
            trade.funding += amount
        else:
            trade.fees += amount

    # -- equity ------------------------------------------------------------------------------
    def sample(self, account_id: str, now_ms: int, balance: float, equity: float) -> None:
        """Record the account's balance and equity after a clock move to ``now_ms``."""
        book = self.account(account_id)
        point = (now_ms, round(balance, 2), round(equity, 2))
        points = book.points
        if points and points[-1][0] >= now_ms:
            if points[-1][0] == now_ms:
                points[-1] = point
            return
        bucket = book.bucket_ms
        if bucket and points and points[-1][0] // bucket == now_ms // bucket:
            points[-1] = point
            return
        points.append(point)
        if len(points) > MAX_POINTS:
            span = points[-1][0] - points[0][0]
            del points[1::2]
            book.bucket_ms = max(bucket * 2, 2 * span // MAX_POINTS, 1)

    def to_json(self, account_id: str, currency: str) -> dict[str, Any]:
        """The ``GET /_sim/ledger`` document of one account."""
        book = self.account(account_id)
        return {
            "accountId": account_id,
            "currency": currency,
            "closed": [t.to_json() for t in book.closed],
            "open": [t.to_json() for t in book.open.values()],
            "droppedTrades": book.dropped_trades,
            "equity": [{"t": t, "balance": b, "equity": e} for t, b, e in book.points],
            "sampleMs": book.bucket_ms if self.sample_ms is not None else None,
            "clockEndRefused": self.end_refusals,
        }
