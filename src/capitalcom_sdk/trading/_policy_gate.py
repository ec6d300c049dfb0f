"""The trading policy's checks of an order write, with what they need to read first.

:class:`PolicyGate` counts the placements of the last hour and day (from the journal, else in
memory), reads today's realised P&L and the open exposure when the policy asks for them, and
hands the figures to the pure rules of :mod:`capitalcom_sdk.trading.policy`.
"""

from __future__ import annotations

from collections import deque
from datetime import UTC, datetime
from typing import Any

from capitalcom_sdk import _endpoints as ep
from capitalcom_sdk._clock import Clock, WallClock
from capitalcom_sdk._endpoints import ApiCall
from capitalcom_sdk._flow import Flow
from capitalcom_sdk._pagination import transactions_flow
from capitalcom_sdk.models.markets import MarketDetails
from capitalcom_sdk.models.trading import PositionWithMarket
from capitalcom_sdk.trading import policy as rules_of_policy
from capitalcom_sdk.trading._calls import deal_id_of
from capitalcom_sdk.trading.journal import OrderJournal
from capitalcom_sdk.trading.maths import account_currency_flow, fx_rate_flow
from capitalcom_sdk.trading.policy import PLACEMENTS, REDUCING, OpenExposure, TradingPolicy

__all__ = ["PolicyGate"]

HOUR = 3600.0
DAY = 86_400.0


class PolicyGate:
    """The policy checks of one client: its journal (or in-memory placement times), live flag."""

    def __init__(
        self, journal: OrderJournal | None, *, live: bool, clock: Clock | None = None
    ) -> None:
        self.journal = journal
        self.live = live
        self.clock: Clock = clock or WallClock()  # the client's: hours and days are on it
        self._sent: deque[float] = deque()  # placement times (without a journal)

    def placed(self, at: float) -> None:
        """Count a placement the server answered at ``at`` (epoch seconds; without a journal)."""
        self._sent.append(at)

    def check_flow(
        self, policy: TradingPolicy, call: ApiCall[Any], body: dict[str, Any], account: str
    ) -> Flow[None]:
        """Refuse a write the policy forbids (PolicyViolation); reads what the rules need."""
        name = call.endpoint.name
        if not policy.dry_run:
            rules_of_policy.check_live(policy, self.live)
        if name in REDUCING:
            return None
        if name not in PLACEMENTS:
            if policy.allowed_epics is not None and name == "positions.update":
                entry: PositionWithMarket = yield ep.POSITION.call({"dealId": deal_id_of(call)})
                rules_of_policy.check_epic(policy, entry.market.epic if entry.market else None)
            return None
        epic = str(body.get("epic"))
        size = float(body.get("size", 0.0))
        now = self.clock.time()
        journal = self.journal
        if journal is not None:
            last_hour = journal.count_placements(account, now - HOUR)
            last_day = journal.count_placements(account, now - DAY)
        else:
            while self._sent and self._sent[0] < now - DAY:
                self._sent.popleft()
            last_day = len(self._sent)
            last_hour = sum(1 for t in self._sent if t >= now - HOUR)
        realised = 0.0
        if policy.max_daily_loss is not None:
            realised = yield from _realised_today_flow()
        exposure = None
        notional = 0.0
        if policy.needs_positions:
            exposure, notional = yield from self.exposure_flow(policy, epic, size)
        rules_of_policy.check_placement(
            policy,
            epic,
            size,
            orders_last_hour=last_hour,
            orders_last_day=last_day,
            realised_today=realised,
            exposure=exposure,
            notional=notional,
        )
        return None

    def exposure_flow(
        self, policy: TradingPolicy, epic: str, size: float
    ) -> Flow[tuple[OpenExposure, float]]:
        """The open positions (counts, sizes, total notional) and the new order's notional."""
        from capitalcom_sdk.models.trading import Positions

        positions: Positions = yield ep.POSITIONS.call()
        count: dict[str, int] = {}
        sizes: dict[str, float] = {}
        total = 0.0
        currency = None
        for entry in positions.positions:
            market_epic = entry.market.epic if entry.market else ""
            count[market_epic] = count.get(market_epic, 0) + 1
            sizes[market_epic] = sizes.get(market_epic, 0.0) + entry.position.size
            if policy.max_total_exposure is not None:
                currency = currency or (yield from account_currency_flow())
                fx = yield from fx_rate_flow(entry.position.currency or currency, currency)
                total += entry.position.size * entry.position.level * fx
        notional = 0.0
        if policy.max_total_exposure is not None:
            currency = currency or (yield from account_currency_flow())
            details: MarketDetails = yield ep.MARKET.call({"epic": epic})
            snap = details.snapshot
            price = (snap.offer or snap.bid or 0.0) if snap else 0.0
            fx = yield from fx_rate_flow(details.instrument.currency or currency, currency)
            notional = size * price * fx
        exposure = OpenExposure(len(positions.positions), count, sizes, total)
        return exposure, notional


def _realised_today_flow() -> Flow[float]:
    """Today's realised P&L (UTC day on the server's clock) from the TRADE transactions."""
    from capitalcom_sdk.models.general import ServerTime

    server: ServerTime = yield ep.SERVER_TIME.call()
    now = datetime.fromtimestamp(server.server_time / 1000.0, tz=UTC)
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    history = yield from transactions_flow(start=midnight, end=now, type="TRADE")
    return float(sum(t.size for t in history.transactions))
