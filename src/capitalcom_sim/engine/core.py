"""The Engine: the facade over markets, prices, accounts, deals and history of a simulator.

It owns the lock and the accounts and delegates the rules to the parts it builds (money, stops,
costs, trading, working orders, triggers, snapshots). Thread-safe: every public method takes the
engine's RLock. Business rejections of trading writes are recorded in confirms (never raised);
malformed or out-of-band requests raise :class:`capitalcom_sim.errors.ApiError` with the API's
errorCode.

Over 500 lines because it is the facade the routes call: one short method per operation of the
API and of the control endpoints (each takes the lock and hands over to the part that owns the
rule), about fifty of them. The rules themselves live in the parts.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace

from capitalcom_sim.config import SimConfig
from capitalcom_sim.engine.accounts import CURRENCY_SYMBOLS, AccountState
from capitalcom_sim.engine.bars_csv import parse_bars_csv
from capitalcom_sim.engine.catalog import Catalog
from capitalcom_sim.engine.clock import Clock
from capitalcom_sim.engine.costs import Costs
from capitalcom_sim.engine.instruments import Instrument, InstrumentTable
from capitalcom_sim.engine.ledger import Ledger
from capitalcom_sim.engine.money import Money
from capitalcom_sim.engine.orders import WorkingOrders
from capitalcom_sim.engine.prices import DURATION_MS, PriceEngine
from capitalcom_sim.engine.records import Ids
from capitalcom_sim.engine.snapshots import Snapshots
from capitalcom_sim.engine.stops import StopRules
from capitalcom_sim.engine.trading import Trading
from capitalcom_sim.engine.triggers import Triggers
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
from capitalcom_sim.errors import ApiError

logger = logging.getLogger(__name__)

DEFAULT_TICK_MS = 1000
TOP_UP_MIN = -400_000.0
TOP_UP_MAX = 400_000.0
DEMO_BALANCE_MAX = 100_000.0


class Engine:
    """Markets, prices, accounts, positions, working orders, confirms, history, watchlists.

    Args:
        config: the simulator configuration (seed, users and their accounts, demo flag).
        clock: the simulated clock; ``advance_to`` runs triggers up to its time.
        tick_ms: the quote grid (quotes change only on multiples of it); must divide 60000.
        overnight_fees: charge the instruments' overnight rates daily (at 17:00 New York time
            unless ``config.overnight_fee_clock`` says otherwise; not on 1:1 trades).
        confirm_lag_ms: a confirm answers 404 until this much sim time has passed after the
            write (for testing clients that poll); 0 = available at once.
        stop_out_level: when equity falls below this fraction of the margin, the worst positions
            are closed (source CLOSE_OUT); None turns it off.

    From ``config`` also: ``confirm_ttl_ms`` (confirms answer 404 once that old),
    ``guaranteed_stop_required_epics`` and ``overnight_fee_clock`` (see SimConfig).
    """

    def __init__(
        self,
        config: SimConfig,
        clock: Clock,
        *,
        tick_ms: int = DEFAULT_TICK_MS,
        overnight_fees: bool = True,
        confirm_lag_ms: int = 0,
        stop_out_level: float | None = 0.5,
    ) -> None:
        self.config = config
        self.confirm_lag_ms = confirm_lag_ms
        self.clock = clock
        self.lock = threading.RLock()
        self.instruments = InstrumentTable.default().with_guaranteed_stops(
            config.guaranteed_stop_required_epics
        )
        self.prices = PriceEngine(self.instruments, seed=config.seed, tick_ms=tick_ms)
        self.catalog = Catalog(self.instruments, config.seed)
        self.accounts: dict[str, AccountState] = {}
        for user in config.users:
            for account in user.accounts:
                self.accounts[account.account_id] = AccountState(
                    account.account_id, user.client_id, account.currency, float(account.balance)
                )
        self.money = Money(self.instruments, self.prices)
        self.stops = StopRules(self.money)
        self.confirm_ttl_ms = config.confirm_ttl_ms
        self.costs = Costs(
            self.instruments,
            self.money,
            overnight_fees=overnight_fees,
            overnight_fee_clock=config.overnight_fee_clock,
            weekend_fees=config.weekend_fees,
        )
        self.trading = Trading(
            self.instruments,
            self.money,
            self.stops,
            self.costs,
            tick_ms=tick_ms,
            guaranteed_stop_required=config.guaranteed_stop_required_epics,
        )
        self.trading.ids = Ids(config.seed if config.deterministic_ids else None)
        self.orders = WorkingOrders(self.instruments, self.money, self.stops, self.trading)
        self.ledger = Ledger(config.equity_sample_ms)
        self.trading.ledger = self.costs.ledger = self.ledger
        self.triggers = Triggers(
            self.accounts,
            self.instruments,
            self.prices,
            self.money,
            self.trading,
            self.orders,
            self.costs,
            stop_out_level=stop_out_level,
            start_ms=clock.now_ms(),
        )
        self.snapshots = Snapshots(self.instruments, self.prices)

    @property
    def overnight_fees(self) -> bool:
        """Whether overnight fees are charged."""
        return self.costs.overnight_fees

    @property
    def stop_out_level(self) -> float | None:
        """The equity / margin fraction below which positions are closed (None: never)."""
        return self.triggers.stop_out_level

    @contextmanager
    def _write(self, account_id: str) -> Iterator[tuple[AccountState, int]]:
        """Lock, let triggers catch up with the clock, then hand out the account and the time."""
        with self.lock:
            now = self.clock.now_ms()
            self.triggers.run(now)
            yield self._account(account_id), now

    # ---- time and triggers -------------------------------------------------------------------
    def advance_to(self, now_ms: int | None = None) -> None:
        """Run stops, limits, working orders and expiries for the span since the last call.

        ``now_ms`` defaults to the clock's time. Crossings inside the span are found on the
        price path (bar high/low), not only at its end. Cheap when nothing is open.
        """
        with self.lock:
            now = self.clock.now_ms() if now_ms is None else now_ms
            self.triggers.run(now)

    process = advance_to
    process_until = advance_to

    # ---- price control (the /_sim/ control plane) --------------------------------------------
    def set_price(
        self,
        epic: str,
        *,
        mid: float | None = None,
        bid: float | None = None,
        offer: float | None = None,
    ) -> tuple[float, float]:
        """Pin the price from now on; returns the new (bid, offer).

        ``mid`` or ``bid`` alone keep the instrument's spread; ``bid`` with ``offer`` quote exactly
        that bid and offer (the instrument's spread becomes ``offer - bid`` on the price grid).
        """
        inst = self.instruments.require(epic)
        if (mid is None) == (bid is None) or (offer is not None and bid is None):
            raise ApiError(400, "error.invalid.price")
        if offer is not None and bid is not None:
            bid_units = self._price_units(inst, bid)
            spread_units = self._price_units(inst, offer) - bid_units
            if spread_units < 0:
                raise ApiError(400, "error.invalid.price")
            with self.lock:
                now = self.clock.now_ms()
                self.triggers.run(now)
                self.instruments.set_spread(epic, spread_units / inst.scale)
                self.prices.pin(epic, now, bid_units + spread_units // 2)
                self.snapshots.clear()
                return self.prices.quote(epic, now)
        value = mid if mid is not None else float(bid) + inst.spread / 2  # type: ignore[arg-type]
        units = self._price_units(inst, value)
        with self.lock:
            now = self.clock.now_ms()
            self.triggers.run(now)
            self.prices.pin(epic, now, units)
            self.snapshots.clear()
            return self.prices.quote(epic, now)

    def set_path(self, epic: str, points: Sequence[tuple[int, float]]) -> tuple[float, float]:
        """Follow a piecewise-linear mid path (epoch ms, mid); pinned after its last point."""
        inst = self.instruments.require(epic)
        if not points:
            raise ApiError(400, "error.invalid.path")
        knots = [(int(t), self._price_units(inst, v)) for t, v in points]
        with self.lock:
            now = self.clock.now_ms()
            self.triggers.run(now)
            self.prices.set_path(epic, knots)
            self.snapshots.clear()
            return self.prices.quote(epic, now)

    def replay_bars(self, epic: str, csv_text: str) -> int:
        """Make prices follow CSV bars (``time,open,high,low,close[,volume][,spread]``); returns
        the count.

        ``time`` is epoch ms or ``YYYY-MM-DDTHH:MM:SS`` (UTC); each bar lasts until the next
        one starts (the last one as long as the one before it, one minute when alone). A bar's
        ``spread`` (price units, rounded to the instrument's grid) is quoted while it is in
        force; without one, the instrument's spread.
        """
        inst = self.instruments.require(epic)
        rows = parse_bars_csv(csv_text)
        bars: list[tuple[int, int, int, int, int, int, int | None]] = []
        spreads: list[int | None] = []
        for i, (start, o, h, low, c, volume, spread) in enumerate(rows):
            if i + 1 < len(rows):
                duration = rows[i + 1][0] - start
            elif i > 0:
                duration = start - rows[i - 1][0]
            else:
                duration = 60_000
            if duration <= 0:
                raise ApiError(400, "error.invalid.bars.time")
            uo, uh, ul, uc = (self._price_units(inst, x) for x in (o, h, low, c))
            if not ul <= min(uo, uc) <= max(uo, uc) <= uh:
                raise ApiError(400, "error.invalid.bars.ohlc")
            bars.append((start, duration, uo, uh, ul, uc, volume))
            spreads.append(None if spread is None else round(spread * inst.scale))
        with self.lock:
            self.triggers.run(self.clock.now_ms())
            self.prices.replay_bars(
                epic, bars, spreads if any(x is not None for x in spreads) else None
            )
            self.snapshots.clear()
        return len(bars)

    def release(self, epic: str) -> tuple[float, float]:
        """Back to the seeded process from now on; returns the current (bid, offer)."""
        self.instruments.require(epic)
        with self.lock:
            now = self.clock.now_ms()
            self.triggers.run(now)
            self.prices.release(epic, now)
            self.snapshots.clear()
            return self.prices.quote(epic, now)

    @staticmethod
    def _price_units(inst: Instrument, value: float) -> int:
        if not isinstance(value, int | float) or not math.isfinite(value) or value <= 0:
            raise ApiError(400, "error.invalid.price")
        units = round(value * inst.scale)
        if units < 1 or value > 1e12:
            raise ApiError(400, "error.invalid.price")
        return units

    # ---- markets -----------------------------------------------------------------------------
    def instrument(self, epic: str) -> Instrument:
        """The instrument or ApiError 404 ``error.not-found.epic``."""
        return self.instruments.require(epic)

    def snapshot(self, epic: str, now_ms: int | None = None) -> MarketSnapshot:
        """Bid/offer, day high/low/change and status of a market now (cached per tick)."""
        now = self.clock.now_ms() if now_ms is None else now_ms
        cached = self.snapshots.cached(epic, now)  # no lock: a dict read
        if cached is not None:
            return cached
        with self.lock:
            return self.snapshots.get(epic, now)

    def search(self, term: str) -> list[Instrument]:
        """Instruments whose name, epic or symbol contains ``term`` (case-insensitive)."""
        return self.catalog.search(term)

    def navigation(
        self, node_id: str | None = None, limit: int = 500, client_id: str | None = None
    ) -> tuple[list[NavigationNode], list[Instrument] | None]:
        """Children of a navigation node (root when None): sub-nodes and, for leaves, markets."""
        with self.lock:

            def change(inst: Instrument) -> tuple[float, float]:
                snap = self.snapshot(inst.epic)
                pct = snap.percentage_change or 0.0
                spread = (snap.high - snap.low) / snap.bid if snap.high and snap.low else 0.0
                return pct, spread

            recent = self.trading.recently_traded(client_id or "")
            return self.catalog.navigation(node_id, limit, change, recent)

    def sentiment(self, epic: str) -> Sentiment:
        """Client sentiment of a market (deterministic per seed and hour; sums to 100)."""
        return self.catalog.sentiment(epic, self.clock.now_ms())

    # ---- the backtest's ledger ---------------------------------------------------------------
    def sample_equity(self) -> None:
        """Record every account's balance and equity now (after a clock move), if sampling."""
        if self.ledger.sample_ms is None:
            return
        with self.lock:
            now = self.clock.now_ms()
            for account in self.accounts.values():
                upl = sum(self.money.upl(account, p, now) for p in account.positions.values())
                self.ledger.sample(account.account_id, now, account.deposit, account.deposit + upl)

    def ledger_json(self, account_id: str) -> dict[str, object]:
        """The account's trades (closed and open, with their costs) and equity points."""
        with self.lock:
            account = self._account(account_id)
            return self.ledger.to_json(account_id, account.currency)

    def close_all(self, account_id: str, source: str = "END") -> int:
        """Close every open position of the account at the current closing price (whether the
        market is open or not: the end of a backtest); returns how many were closed."""
        with self._write(account_id) as (account, now):
            positions = list(account.positions.values())
            for position in positions:
                inst = self.instruments.require(position.epic)
                price = self.money.closing_price(inst, position.direction, now)
                self.trading.close(account, inst, position, position.size, price, now, source)
            self.sample_equity()
            return len(positions)

    # ---- accounts ----------------------------------------------------------------------------
    def _account(self, account_id: str) -> AccountState:
        account = self.accounts.get(account_id)
        if account is None:
            raise ApiError(401, "error.null.accountId")
        return account

    def balance(self, account_id: str) -> Balance:
        """The account's balance, deposit, unrealised P&L and available funds (its currency)."""
        with self.lock:
            account = self._account(account_id)
            now = self.clock.now_ms()
            upl = margin = 0.0
            for position in account.positions.values():
                upl += self.money.upl(account, position, now)
                margin += self.money.margin(account, position, now)
            balance = account.deposit + upl
            return Balance(
                balance=round(balance, 2),
                deposit=round(account.deposit, 2),
                profit_loss=round(upl, 2),
                available=round(balance - margin, 2),
            )

    def account_currency(self, account_id: str) -> str:
        return self._account(account_id).currency

    @staticmethod
    def currency_symbol(currency: str) -> str:
        return CURRENCY_SYMBOLS.get(currency, currency)

    def preferences(self, account_id: str) -> Preferences:
        with self.lock:
            prefs = self._account(account_id).preferences
            return Preferences(
                prefs.hedging_mode,
                {group: replace(lev) for group, lev in prefs.leverages.items()},
            )

    def set_preferences(
        self,
        account_id: str,
        leverages: dict[str, int] | None = None,
        hedging_mode: bool | None = None,
    ) -> None:
        """Change leverages / hedging mode; 400 ``error.invalid.leverage.value`` when invalid.

        Hedging mode cannot be switched off while opposite positions of one market are open
        (400 ``error.invalid.hedgingMode``).
        """
        with self.lock:
            self._account(account_id).set_preferences(leverages, hedging_mode)

    def top_up(self, account_id: str, amount: float) -> None:
        """Adjust a demo balance; see docs/simulator-engine-notes.md for the error codes."""
        if not self.config.demo:
            raise ApiError(400, "error.invalid.account.type")
        if not math.isfinite(amount) or not TOP_UP_MIN <= amount <= TOP_UP_MAX or amount == 0:
            raise ApiError(400, "error.invalid.amount")
        with self.lock:
            self._account(account_id).top_up(amount, DEMO_BALANCE_MAX, self.clock.now_ms())

    # ---- read-only trading views -------------------------------------------------------------
    def positions(self, account_id: str) -> list[Position]:
        """Open positions with their current ``upl`` (oldest first)."""
        with self.lock:
            account = self._account(account_id)
            now = self.clock.now_ms()
            return [
                replace(p, upl=round(self.money.upl(account, p, now), 2))
                for p in account.positions.values()
            ]

    def position(self, account_id: str, deal_id: str) -> Position:
        """One open position or ApiError 404 ``error.not-found.dealId``."""
        with self.lock:
            account = self._account(account_id)
            found = account.positions.get(deal_id)
            if found is None:
                raise ApiError(404, "error.not-found.dealId")
            return replace(found, upl=round(self.money.upl(account, found, self.clock.now_ms()), 2))

    def working_orders(self, account_id: str) -> list[WorkingOrder]:
        with self.lock:
            return [replace(o) for o in self._account(account_id).orders.values()]

    def confirm(self, account_id: str, deal_reference: str) -> Confirm:
        """The confirm of a reference or ApiError 404 ``error.not-found.dealReference``.

        404 also before ``confirm_lag_ms`` has passed and, with ``confirm_ttl_ms``, once the
        confirm is that old (the deal itself lives on).
        """
        with self.lock:
            found = self._account(account_id).confirms.get(deal_reference)
            now = self.clock.now_ms()
            if found is None or now < found.date_ms + self.confirm_lag_ms:
                raise ApiError(404, "error.not-found.dealReference")
            if self.confirm_ttl_ms is not None and now >= found.date_ms + self.confirm_ttl_ms:
                raise ApiError(404, "error.not-found.dealReference")
            return found

    def margin_factor(self, account_id: str, inst: Instrument) -> float:
        """Margin in percent of the notional for this account (``marginFactor`` on the wire)."""
        return self.money.margin_factor(self._account(account_id), inst)

    # ---- trading writes (rules in Trading / WorkingOrders) -----------------------------------
    def open_position(self, account_id: str, request: OpenPositionRequest) -> str:
        """Place a market order; returns its ``o_`` deal reference (outcome in the confirm)."""
        self.trading.checked_instrument(request.epic, request.size)
        with self._write(account_id) as (account, now):
            return self.trading.open_position(account, request, now)

    def update_position(self, account_id: str, deal_id: str, stops: StopsRequest) -> str:
        """Amend stops/limits of a position; returns ``p_<dealId>``."""
        with self._write(account_id) as (account, now):
            return self.trading.update_position(account, deal_id, stops, now)

    def close_position(self, account_id: str, deal_id: str) -> str:
        """Close a whole position at market; returns ``p_<dealId>``."""
        with self._write(account_id) as (account, now):
            return self.trading.close_position(account, deal_id, now)

    def create_working_order(self, account_id: str, request: WorkingOrderRequest) -> str:
        """Create a LIMIT/STOP order; returns an ``o_`` reference."""
        self.orders.checked_request(request)
        with self._write(account_id) as (account, now):
            return self.orders.create(account, request, now)

    def update_working_order(self, account_id: str, deal_id: str, amend: WorkingOrderAmend) -> str:
        """Amend level, expiry or stops of an order; returns a new ``o_`` reference."""
        with self._write(account_id) as (account, now):
            return self.orders.update(account, deal_id, amend, now)

    def delete_working_order(self, account_id: str, deal_id: str) -> str:
        """Cancel an order; returns a new ``o_`` reference."""
        with self._write(account_id) as (account, now):
            return self.orders.delete(account, deal_id, now)

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
        """Activities with from <= date <= to (newest first); filters are (field, equals, values).

        Filter fields: ``epic``, ``source``, ``status``, ``type``; all filters must hold.
        """
        with self.lock:
            records = list(self._account(account_id).activities)
        out = []
        for record in reversed(records):
            if not from_ms <= record.date_ms <= to_ms:
                continue
            if deal_id is not None and record.deal_id != deal_id:
                continue
            if all((getattr(record, f) in values) == equals for f, equals, values in filters):
                out.append(record)
        return out

    def transactions(
        self, account_id: str, from_ms: int, to_ms: int, transaction_type: str | None = None
    ) -> list[Transaction]:
        """Transactions with from <= date <= to, optionally of one type; newest first.

        Newest first like activities: the recorded example lists 19:51:05 before 19:51:00, and
        SPEC 7.x says "newest first in the examples".
        """
        with self.lock:
            records = list(self._account(account_id).transactions)
        return [
            r
            for r in reversed(records)
            if from_ms <= r.date_ms <= to_ms
            and (transaction_type is None or r.transaction_type == transaction_type)
        ]

    # ---- watchlists (per client) -------------------------------------------------------------
    def watchlists(self, client_id: str) -> list[Watchlist]:
        with self.lock:
            return self.catalog.watchlists(client_id)

    def watchlist(self, client_id: str, watchlist_id: str) -> Watchlist:
        """404 ``error.invalid.watchlist`` when unknown."""
        with self.lock:
            return self.catalog.watchlist(client_id, watchlist_id)

    def create_watchlist(self, client_id: str, name: str, epics: Sequence[str]) -> tuple[str, bool]:
        """Returns (watchlistId, all epics added)."""
        with self.lock:
            return self.catalog.create_watchlist(client_id, name, epics)

    def add_to_watchlist(self, client_id: str, watchlist_id: str, epic: str) -> None:
        with self.lock:
            self.catalog.add_to_watchlist(client_id, watchlist_id, epic)

    def delete_watchlist(self, client_id: str, watchlist_id: str) -> None:
        with self.lock:
            self.catalog.delete_watchlist(client_id, watchlist_id)

    def remove_from_watchlist(self, client_id: str, watchlist_id: str, epic: str) -> None:
        with self.lock:
            self.catalog.remove_from_watchlist(client_id, watchlist_id, epic)


__all__ = ["DEFAULT_TICK_MS", "DURATION_MS", "Engine"]
