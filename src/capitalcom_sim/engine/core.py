"""The Engine: one object owning markets, prices, accounts, deals and history of a simulator.

Thread-safe: every public method takes the engine's RLock. Business rejections of trading writes
are recorded in confirms (never raised); malformed or out-of-band requests raise
:class:`capitalcom_sim.errors.ApiError` with the API's errorCode.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

from capitalcom_sim.config import SimConfig
from capitalcom_sim.engine.clock import Clock
from capitalcom_sim.engine.instruments import Instrument, InstrumentTable
from capitalcom_sim.engine.prices import PriceEngine
from capitalcom_sim.engine.types import (
    Activity,
    Balance,
    Confirm,
    MarketSnapshot,
    NavigationNode,
    OpenPositionRequest,
    Position,
    Preferences,
    Sentiment,
    StopsRequest,
    Transaction,
    Watchlist,
    WorkingOrder,
    WorkingOrderAmend,
    WorkingOrderRequest,
)

DEFAULT_TICK_MS = 1000


class Engine:
    """Markets, prices, accounts, positions, working orders, confirms, history, watchlists.

    Args:
        config: the simulator configuration (seed, users and their accounts, demo flag).
        clock: the simulated clock; ``advance_to`` runs triggers up to its time.
        tick_ms: the quote grid (quotes change only on multiples of it); must divide 60000.
    """

    def __init__(self, config: SimConfig, clock: Clock, *, tick_ms: int = DEFAULT_TICK_MS) -> None:
        self.config = config
        self.clock = clock
        self.lock = threading.RLock()
        self.instruments = InstrumentTable.default()
        self.prices = PriceEngine(self.instruments, seed=config.seed, tick_ms=tick_ms)

    # ---- time and triggers -------------------------------------------------------------------
    def advance_to(self, now_ms: int | None = None) -> None:
        """Run stops, limits, working orders and expiries for the span since the last call.

        ``now_ms`` defaults to the clock's time. Crossings inside the span are found on the
        price path (bar high/low), not only at its end. Cheap when nothing is open.
        """
        raise NotImplementedError

    process = advance_to
    process_until = advance_to

    # ---- price control (the /_sim/ control plane) --------------------------------------------
    def set_price(
        self, epic: str, *, mid: float | None = None, bid: float | None = None
    ) -> tuple[float, float]:
        """Pin the price from now on (spread kept); returns the new (bid, offer)."""
        raise NotImplementedError

    def set_path(self, epic: str, points: Sequence[tuple[int, float]]) -> tuple[float, float]:
        """Follow a piecewise-linear mid path (epoch ms, mid); pinned after its last point."""
        raise NotImplementedError

    def replay_bars(self, epic: str, csv_text: str) -> int:
        """Make prices follow CSV bars (``time,open,high,low,close[,volume]``); returns count."""
        raise NotImplementedError

    def release(self, epic: str) -> tuple[float, float]:
        """Back to the seeded process from now on; returns the current (bid, offer)."""
        raise NotImplementedError

    # ---- markets -----------------------------------------------------------------------------
    def instrument(self, epic: str) -> Instrument:
        """The instrument or ApiError 404 ``error.not-found.epic``."""
        return self.instruments.require(epic)

    def snapshot(self, epic: str, now_ms: int | None = None) -> MarketSnapshot:
        """Bid/offer, day high/low/change and status of a market now (cached per tick)."""
        raise NotImplementedError

    def search(self, term: str) -> list[Instrument]:
        """Instruments whose name, epic or symbol contains ``term`` (case-insensitive)."""
        raise NotImplementedError

    def navigation(
        self, node_id: str | None = None, limit: int = 500
    ) -> tuple[list[NavigationNode], list[Instrument] | None]:
        """Children of a navigation node (root when None): sub-nodes and, for leaves, markets."""
        raise NotImplementedError

    def sentiment(self, epic: str) -> Sentiment:
        """Client sentiment of a market (deterministic per seed and hour; sums to 100)."""
        raise NotImplementedError

    # ---- accounts ----------------------------------------------------------------------------
    def balance(self, account_id: str) -> Balance:
        """The account's balance, deposit, unrealised P&L and available funds (its currency)."""
        raise NotImplementedError

    def account_currency(self, account_id: str) -> str:
        raise NotImplementedError

    def preferences(self, account_id: str) -> Preferences:
        raise NotImplementedError

    def set_preferences(
        self,
        account_id: str,
        leverages: dict[str, int] | None = None,
        hedging_mode: bool | None = None,
    ) -> None:
        """Change leverages / hedging mode; 400 ``error.invalid.leverage.value`` when invalid."""
        raise NotImplementedError

    def top_up(self, account_id: str, amount: float) -> None:
        """Adjust a demo balance (see docs/simulator-engine-notes.md for the error codes)."""
        raise NotImplementedError

    # ---- trading -----------------------------------------------------------------------------
    def open_position(self, account_id: str, request: OpenPositionRequest) -> str:
        """Place a market order; returns its ``o_`` deal reference (outcome in the confirm)."""
        raise NotImplementedError

    def update_position(self, account_id: str, deal_id: str, stops: StopsRequest) -> str:
        """Amend stops/limits of a position; returns ``p_<dealId>``."""
        raise NotImplementedError

    def close_position(self, account_id: str, deal_id: str) -> str:
        """Close a whole position at market; returns ``p_<dealId>``."""
        raise NotImplementedError

    def positions(self, account_id: str) -> list[Position]:
        """Open positions with their current ``upl`` (oldest first)."""
        raise NotImplementedError

    def position(self, account_id: str, deal_id: str) -> Position:
        """One open position or ApiError 404 ``error.not-found.dealId``."""
        raise NotImplementedError

    def create_working_order(self, account_id: str, request: WorkingOrderRequest) -> str:
        """Create a LIMIT/STOP order; returns an ``o_`` reference."""
        raise NotImplementedError

    def update_working_order(self, account_id: str, deal_id: str, amend: WorkingOrderAmend) -> str:
        raise NotImplementedError

    def delete_working_order(self, account_id: str, deal_id: str) -> str:
        raise NotImplementedError

    def working_orders(self, account_id: str) -> list[WorkingOrder]:
        raise NotImplementedError

    def confirm(self, account_id: str, deal_reference: str) -> Confirm:
        """The confirm of a reference or ApiError 404 ``error.not-found.dealReference``."""
        raise NotImplementedError

    # ---- history -----------------------------------------------------------------------------
    def activities(
        self,
        account_id: str,
        from_ms: int,
        to_ms: int,
        *,
        deal_id: str | None = None,
        filters: Sequence[tuple[str, bool, frozenset[str]]] = (),
    ) -> list[Activity]:
        """Activities in [from, to] (newest first); filters are (field, equals, values)."""
        raise NotImplementedError

    def transactions(
        self, account_id: str, from_ms: int, to_ms: int, transaction_type: str | None = None
    ) -> list[Transaction]:
        raise NotImplementedError

    # ---- watchlists (per client) -------------------------------------------------------------
    def watchlists(self, client_id: str) -> list[Watchlist]:
        raise NotImplementedError

    def watchlist(self, client_id: str, watchlist_id: str) -> Watchlist:
        """404 ``error.invalid.watchlist`` when unknown."""
        raise NotImplementedError

    def create_watchlist(self, client_id: str, name: str, epics: Sequence[str]) -> tuple[str, bool]:
        """Returns (watchlistId, all epics added)."""
        raise NotImplementedError

    def add_to_watchlist(self, client_id: str, watchlist_id: str, epic: str) -> None:
        raise NotImplementedError

    def delete_watchlist(self, client_id: str, watchlist_id: str) -> None:
        raise NotImplementedError

    def remove_from_watchlist(self, client_id: str, watchlist_id: str, epic: str) -> None:
        raise NotImplementedError
