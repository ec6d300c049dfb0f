"""What a backtest produced: its trades, its equity curve and how the bot's run ended.

Plain frozen dataclasses (no pydantic: a result is built once by the runner and read by the
report). Times are aware datetimes in UTC; money is a float rounded to the account's 2 decimals.
``to_dict`` / ``from_dict`` give the JSON form used by ``report.json``: times as ISO 8601 with a
``Z``, and never the wall-clock duration of the run, so the same inputs give the same bytes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, cast, get_args

TradeDirection = Literal["BUY", "SELL"]
CloseReason = Literal["CLOSED", "STOP", "LIMIT", "TRAILING", "STOP_OUT", "END"]
"""Why a trade ended: the bot closed it, its stop, limit or trailing stop triggered, the account
was stopped out, or the backtest ended with it open (closed at the last price)."""
RunExit = Literal["ok", "crashed", "hung", "rate-limited", "error"]
"""How the bot's run ended: ``ok`` (returned or ran to the end of the data), ``crashed`` (raised),
``hung`` (the watchdog in simulated time fired), ``rate-limited`` (it exceeded the API's limits in
simulated time) or ``error`` (the runner itself failed)."""

_DIRECTIONS = frozenset(get_args(TradeDirection))
_CLOSE_REASONS = frozenset(get_args(CloseReason))
_EXITS = frozenset(get_args(RunExit))


def _utc(value: datetime, name: str) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be an aware datetime (UTC), got a naive one: {value}")
    return value.astimezone(UTC)


def format_time(value: datetime) -> str:
    """ISO 8601 in UTC with a ``Z`` (``2025-01-02T03:04:05Z``; microseconds only when set)."""
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def parse_time(text: str) -> datetime:
    """The aware UTC datetime of an ISO 8601 text written by :func:`format_time`."""
    return _utc(datetime.fromisoformat(text), "time")


def _money(value: float) -> float:
    # + 0.0 turns a rounded -0.0 into 0.0, which would otherwise print as "-0.0".
    return round(float(value), 2) + 0.0


def _check(value: str, allowed: frozenset[str], name: str) -> None:
    if value not in allowed:
        raise ValueError(f"{name} must be one of {sorted(allowed)}, got {value!r}")


@dataclass(frozen=True, slots=True)
class Trade:
    """One position from its opening to its closing.

    Attributes:
        epic: the market.
        direction: ``BUY`` (long) or ``SELL`` (short).
        size: the deal size (contracts or units, as the API's ``size``).
        deal_id: the simulator's deal id of the position.
        opened_at: when the position was opened (aware, UTC).
        open_level: the price it was opened at (the ask for a buy, the bid for a sell).
        closed_at: when it was closed (aware, UTC).
        close_level: the price it was closed at.
        pnl: the realised profit or loss in the account's currency, before fees and funding.
        fees: costs other than the spread, as a positive number (a guaranteed stop's fee).
        funding: overnight funding, signed as booked to the balance (negative: charged).
        close_reason: why it closed (:data:`CloseReason`).
    """

    epic: str
    direction: TradeDirection
    size: float
    deal_id: str
    opened_at: datetime
    open_level: float
    closed_at: datetime
    close_level: float
    pnl: float
    fees: float = 0.0
    funding: float = 0.0
    close_reason: CloseReason = "CLOSED"

    def __post_init__(self) -> None:
        _check(self.direction, _DIRECTIONS, "direction")
        _check(self.close_reason, _CLOSE_REASONS, "close_reason")
        object.__setattr__(self, "opened_at", _utc(self.opened_at, "opened_at"))
        object.__setattr__(self, "closed_at", _utc(self.closed_at, "closed_at"))
        if self.closed_at < self.opened_at:
            raise ValueError(f"trade {self.deal_id} closes before it opens")
        if self.fees < 0:
            # The simulator books a fee as a negative amount; here it is the cost, positive.
            raise ValueError(f"trade {self.deal_id}: fees are a cost, >= 0 (got {self.fees})")
        for name in ("pnl", "fees", "funding"):
            object.__setattr__(self, name, _money(getattr(self, name)))
        for name in ("size", "open_level", "close_level"):
            object.__setattr__(self, name, float(getattr(self, name)))

    @property
    def net_pnl(self) -> float:
        """The trade's result after costs: ``pnl - fees + funding``, to 2 decimals."""
        return _money(self.pnl - self.fees + self.funding)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (times as ISO 8601 text)."""
        return {
            "epic": self.epic,
            "direction": self.direction,
            "size": self.size,
            "deal_id": self.deal_id,
            "opened_at": format_time(self.opened_at),
            "open_level": self.open_level,
            "closed_at": format_time(self.closed_at),
            "close_level": self.close_level,
            "pnl": self.pnl,
            "fees": self.fees,
            "funding": self.funding,
            "net_pnl": self.net_pnl,
            "close_reason": self.close_reason,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Trade:
        """A trade from its JSON form (``net_pnl`` is derived, so it is ignored)."""
        return cls(
            epic=str(data["epic"]),
            direction=cast(TradeDirection, data["direction"]),
            size=float(data["size"]),
            deal_id=str(data["deal_id"]),
            opened_at=parse_time(data["opened_at"]),
            open_level=float(data["open_level"]),
            closed_at=parse_time(data["closed_at"]),
            close_level=float(data["close_level"]),
            pnl=float(data["pnl"]),
            fees=float(data.get("fees", 0.0)),
            funding=float(data.get("funding", 0.0)),
            close_reason=cast(CloseReason, data.get("close_reason", "CLOSED")),
        )


@dataclass(frozen=True, slots=True)
class EquityPoint:
    """The account at one simulated step: ``equity`` is the balance plus the open P&L."""

    at: datetime
    balance: float
    equity: float

    def __post_init__(self) -> None:
        object.__setattr__(self, "at", _utc(self.at, "at"))
        object.__setattr__(self, "balance", _money(self.balance))
        object.__setattr__(self, "equity", _money(self.equity))

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (the time as ISO 8601 text)."""
        return {"at": format_time(self.at), "balance": self.balance, "equity": self.equity}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> EquityPoint:
        """A point from its JSON form."""
        return cls(
            at=parse_time(data["at"]),
            balance=float(data["balance"]),
            equity=float(data["equity"]),
        )


@dataclass(frozen=True, slots=True)
class BacktestResult:
    """Everything a backtest produced, the input of :mod:`capitalcom_sdk.backtest.report`.

    Attributes:
        epics: the markets the backtest replayed.
        resolution: the bars' resolution (``MINUTE``, ``HOUR``, ...).
        start: the first simulated instant (aware, UTC).
        end: the last simulated instant (aware, UTC).
        initial_balance: the account's balance at ``start``.
        currency: the account's currency.
        seed: the simulator's seed.
        trades: every trade, in the order they were closed (a sequence is stored as a tuple).
        equity: the account at each simulated step, in time order.
        log: what the bot wrote (its output and log records).
        exit: how the bot's run ended (:data:`RunExit`).
        message: what went wrong when ``exit`` is not ``ok`` (None otherwise).
        bars: how many bars were replayed (all epics).
        wall_seconds: how long the run took on the wall clock; never part of the JSON form,
            so that the same inputs give the same bytes.
    """

    epics: tuple[str, ...]
    resolution: str
    start: datetime
    end: datetime
    initial_balance: float
    currency: str
    seed: int
    trades: tuple[Trade, ...] = ()
    equity: tuple[EquityPoint, ...] = ()
    log: str = ""
    exit: RunExit = "ok"
    message: str | None = None
    bars: int = 0
    wall_seconds: float = field(default=0.0, compare=False)

    def __post_init__(self) -> None:
        _check(self.exit, _EXITS, "exit")
        object.__setattr__(self, "start", _utc(self.start, "start"))
        object.__setattr__(self, "end", _utc(self.end, "end"))
        if self.end < self.start:
            raise ValueError("end is before start")
        object.__setattr__(self, "epics", tuple(self.epics))
        object.__setattr__(self, "trades", tuple(self.trades))
        object.__setattr__(self, "equity", tuple(self.equity))
        object.__setattr__(self, "initial_balance", _money(self.initial_balance))

    def to_dict(self) -> dict[str, Any]:
        """The JSON form: every field but ``wall_seconds`` (times as ISO 8601 text)."""
        return {
            "epics": list(self.epics),
            "resolution": self.resolution,
            "start": format_time(self.start),
            "end": format_time(self.end),
            "initial_balance": self.initial_balance,
            "currency": self.currency,
            "seed": self.seed,
            "trades": [t.to_dict() for t in self.trades],
            "equity": [p.to_dict() for p in self.equity],
            "log": self.log,
            "exit": self.exit,
            "message": self.message,
            "bars": self.bars,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, wall_seconds: float = 0.0) -> BacktestResult:
        """A result from its JSON form (the JSON holds no wall time: pass it if known)."""
        trades: Iterable[Mapping[str, Any]] = data.get("trades", ())
        equity: Iterable[Mapping[str, Any]] = data.get("equity", ())
        message = data.get("message")
        return cls(
            epics=tuple(str(e) for e in data["epics"]),
            resolution=str(data["resolution"]),
            start=parse_time(data["start"]),
            end=parse_time(data["end"]),
            initial_balance=float(data["initial_balance"]),
            currency=str(data["currency"]),
            seed=int(data["seed"]),
            trades=tuple(Trade.from_dict(t) for t in trades),
            equity=tuple(EquityPoint.from_dict(p) for p in equity),
            log=str(data.get("log", "")),
            exit=cast(RunExit, data.get("exit", "ok")),
            message=None if message is None else str(message),
            bars=int(data.get("bars", 0)),
            wall_seconds=wall_seconds,
        )
