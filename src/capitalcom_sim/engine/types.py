"""Plain data the engine hands out (no HTTP, no JSON): quotes, bars, deals, history records."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Direction = Literal["BUY", "SELL"]
OrderType = Literal["LIMIT", "STOP"]
RESOLUTIONS: tuple[str, ...] = (
    "MINUTE",
    "MINUTE_5",
    "MINUTE_15",
    "MINUTE_30",
    "HOUR",
    "HOUR_4",
    "DAY",
    "WEEK",
)


@dataclass(frozen=True, slots=True)
class OHLC:
    """Open, high, low and close of one price side."""

    open: float
    high: float
    low: float
    close: float


@dataclass(frozen=True, slots=True)
class Bar:
    """One price bar: ``start_ms`` is the bar start (UTC ms); bid and ask sides; volume."""

    start_ms: int
    bid: OHLC
    ask: OHLC
    volume: int


@dataclass(frozen=True, slots=True)
class MarketSnapshot:
    """The market's state at one instant (what market summaries and details show)."""

    epic: str
    bid: float
    offer: float
    high: float | None
    low: float | None
    net_change: float | None
    percentage_change: float | None
    update_ms: int
    market_status: str  # TRADEABLE | CLOSED
    market_modes: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Balance:
    """An account's money in its own currency (``balance = deposit + profit_loss``)."""

    balance: float
    deposit: float
    profit_loss: float
    available: float


@dataclass(slots=True)
class Leverage:
    current: int
    available: tuple[int, ...]


@dataclass(slots=True)
class Preferences:
    hedging_mode: bool
    leverages: dict[str, Leverage]


@dataclass(frozen=True, slots=True)
class StopsRequest:
    """Stop / take-profit fields of POST/PUT /positions and /workingorders (None = not given)."""

    guaranteed_stop: bool | None = None
    trailing_stop: bool | None = None
    stop_level: float | None = None
    stop_distance: float | None = None
    stop_amount: float | None = None
    profit_level: float | None = None
    profit_distance: float | None = None
    profit_amount: float | None = None


@dataclass(frozen=True, slots=True)
class OpenPositionRequest:
    """Body of POST /positions."""

    epic: str
    direction: Direction
    size: float
    stops: StopsRequest = field(default_factory=StopsRequest)


@dataclass(frozen=True, slots=True)
class WorkingOrderRequest:
    """Body of POST /workingorders (``good_till_ms`` None = GOOD_TILL_CANCELLED)."""

    epic: str
    direction: Direction
    size: float
    level: float
    order_type: OrderType
    good_till_ms: int | None = None
    stops: StopsRequest = field(default_factory=StopsRequest)


@dataclass(frozen=True, slots=True)
class WorkingOrderAmend:
    """Body of PUT /workingorders/{dealId}; ``good_till_ms`` = 0 clears the expiry."""

    level: float | None = None
    good_till_ms: int | None = None
    stops: StopsRequest = field(default_factory=StopsRequest)


@dataclass(slots=True)
class Position:
    """An open position of one account."""

    deal_id: str
    working_order_id: str
    account_id: str
    epic: str
    direction: Direction
    size: float
    level: float
    created_ms: int
    leverage: int
    currency: str
    guaranteed_stop: bool = False
    trailing_stop: bool = False
    stop_level: float | None = None
    stop_distance: float | None = None  # the trailing distance when trailing_stop
    profit_level: float | None = None
    upl: float = 0.0  # filled in when handed out
    watch_from_ms: int = 0  # first tick on which its stops may trigger
    next_swap_ms: int | None = None  # next overnight-fee charge (None: fees off)

    @property
    def deal_reference(self) -> str:
        return "p_" + self.deal_id


@dataclass(slots=True)
class WorkingOrder:
    """A pending LIMIT/STOP order of one account; stops kept as signed distances."""

    deal_id: str
    account_id: str
    epic: str
    direction: Direction
    size: float
    level: float
    order_type: OrderType
    created_ms: int
    leverage: int
    currency: str
    good_till_ms: int | None = None
    guaranteed_stop: bool = False
    trailing_stop: bool = False
    stop_distance: float | None = None  # signed: stop level - order level
    profit_distance: float | None = None  # signed: profit level - order level
    watch_from_ms: int = 0  # first tick on which it may fill


@dataclass(frozen=True, slots=True)
class AffectedDeal:
    deal_id: str
    status: str  # OPENED | AMENDED | DELETED | FULLY_CLOSED | PARTIALLY_CLOSED


@dataclass(frozen=True, slots=True)
class Confirm:
    """Outcome of a trading write, as GET /confirms/{dealReference} reports it."""

    deal_reference: str
    date_ms: int
    deal_status: str  # ACCEPTED | REJECTED
    status: str  # OPEN | CLOSED | AMENDED | DELETED | PARTIALLY_CLOSED
    reason: str  # SUCCESS or a rejection reason
    epic: str
    deal_id: str
    affected_deals: tuple[AffectedDeal, ...]
    level: float | None
    size: float | None
    direction: str | None
    guaranteed_stop: bool = False
    trailing_stop: bool = False
    stop_level: float | None = None
    profit_level: float | None = None
    profit: float | None = None
    profit_currency: str | None = None


@dataclass(frozen=True, slots=True)
class Activity:
    """One item of GET /history/activity (``details`` as the wire's detailed view)."""

    date_ms: int
    epic: str
    deal_id: str
    source: str
    type: str
    status: str
    details: dict[str, object]


@dataclass(frozen=True, slots=True)
class Transaction:
    """One item of GET /history/transactions (``amount`` signed, account currency)."""

    date_ms: int
    instrument_name: str | None
    transaction_type: str
    note: str
    reference: str
    amount: float
    currency: str
    status: str = "PROCESSED"


@dataclass(frozen=True, slots=True)
class Sentiment:
    market_id: str
    long_position_percentage: float
    short_position_percentage: float


@dataclass(frozen=True, slots=True)
class NavigationNode:
    id: str
    name: str


@dataclass(slots=True)
class Watchlist:
    id: str
    name: str
    epics: list[str]
    editable: bool = True
    deleteable: bool = True
    default_system_watchlist: bool = False
