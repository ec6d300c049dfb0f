"""Dealing-rule checks of an order write before it is sent, with the market rules they need.

:class:`DealChecks` holds the per-client cache of markets' dealing rules (``market_ttl``
seconds) and the account's hedging mode, and checks a write against them
(:func:`~capitalcom_sdk.trading.rules.check_order_write`), rounding a size when asked.
"""

from __future__ import annotations

from typing import Any

from capitalcom_sdk import _endpoints as ep
from capitalcom_sdk._clock import Clock, WallClock, utc
from capitalcom_sdk._endpoints import ApiCall
from capitalcom_sdk._flow import Flow
from capitalcom_sdk.models.accounts import Preferences
from capitalcom_sdk.models.markets import MarketDetails
from capitalcom_sdk.models.trading import PositionWithMarket, WorkingOrders
from capitalcom_sdk.trading._calls import deal_id_of, with_body
from capitalcom_sdk.trading.maths import account_currency_flow, fx_rate_flow
from capitalcom_sdk.trading.policy import PLACEMENTS
from capitalcom_sdk.trading.rules import Amounts, MarketRules, check_order_write, round_size

__all__ = ["DealChecks"]


class DealChecks:
    """The checks of one client: its market rules cache and hedging mode."""

    def __init__(self, market_ttl: float, *, clock: Clock | None = None) -> None:
        self.market_ttl = market_ttl
        self.clock: Clock = clock or WallClock()  # the client's: the cache ages on it
        self._markets: dict[str, tuple[float, MarketRules]] = {}
        self._hedging: bool | None = None

    def forget(self, epic: str | None) -> None:
        """Drop the cached rules of ``epic`` (after a rejection: distances may have widened)."""
        if epic is not None:
            self._markets.pop(epic, None)

    def market_flow(self, epic: str) -> Flow[MarketRules]:
        """The dealing rules of ``epic``, from the cache when fresh."""
        now = self.clock.monotonic()
        cached = self._markets.get(epic)
        if cached is not None and now - cached[0] < self.market_ttl:
            return cached[1]
        details: MarketDetails = yield ep.MARKET.call({"epic": epic})
        rules = MarketRules.from_details(details)
        self._markets[epic] = (self.clock.monotonic(), rules)
        return rules

    def _hedging_flow(self) -> Flow[bool]:
        if self._hedging is None:
            preferences: Preferences = yield ep.PREFERENCES.call()
            self._hedging = bool(preferences.hedging_mode)
        return self._hedging

    def check_flow(
        self, call: ApiCall[Any], body: dict[str, Any], *, round_sizes: bool
    ) -> Flow[ApiCall[Any]]:
        """Dealing-rule checks (and rounding when ``round_sizes``); returns the call to send."""
        name = call.endpoint.name
        epic = body.get("epic")
        direction: str | None = None
        reference: float | None = None
        entry = size = None  # what a stop or profit amount of an amendment counts from
        if name in PLACEMENTS:
            rules = yield from self.market_flow(str(epic))
            if round_sizes and "size" in body:
                rounded = round_size(rules, float(body["size"]))
                if rounded != body["size"]:
                    body = {**body, "size": rounded}
                    call = with_body(call, body)
        elif name in ("positions.update", "positions.close"):
            held: PositionWithMarket = yield ep.POSITION.call({"dealId": deal_id_of(call)})
            epic = held.market.epic if held.market else None
            if epic is None:
                return call
            rules = yield from self.market_flow(epic)
            direction = str(getattr(held.position.direction, "value", held.position.direction))
            reference = rules.closing_price(direction)
            entry, size = held.position.level, held.position.size
        elif name == "orders.update":
            orders: WorkingOrders = yield ep.WORKING_ORDERS.call()
            deal_id = deal_id_of(call)
            order = next(
                (
                    o.working_order_data
                    for o in orders.working_orders
                    if o.working_order_data.deal_id == deal_id
                ),
                None,
            )
            if order is None:
                return call  # the server answers 404
            rules = yield from self.market_flow(order.epic)
            direction = str(getattr(order.direction, "value", order.direction))
            reference = order.order_level
            entry, size = order.order_level, order.order_size
        else:
            return call
        hedging = False
        if body.get("guaranteedStop"):
            hedging = yield from self._hedging_flow()
        amounts = None
        if body.get("stopAmount") is not None or body.get("profitAmount") is not None:
            rate = yield from self._amount_rate_flow(rules)
            if rate is not None:  # entry and size: a new deal's come from its body and quote
                amounts = Amounts(entry or 0.0, size or 0.0, rate)
        check_order_write(
            name,
            rules,
            body,
            direction=direction,
            reference=reference,
            hedging_mode=hedging,
            # A closed market's next opening counts from the quote's time (the server's clock),
            # else from the client's clock (simulated in a backtest), never this machine's.
            now=rules.updated or utc(self.clock.time()),
            amounts=amounts,
        )
        return call

    def _amount_rate_flow(self, rules: MarketRules) -> Flow[float | None]:
        """Units of the instrument's currency per unit of the account's (amounts are in it);
        None when no market converts them (the server checks the amount then)."""
        currency = yield from account_currency_flow()  # only orders with amounts ask it
        try:
            rate: float = yield from fx_rate_flow(currency, rules.currency or currency)
        except ValueError:
            return None
        return rate if rate > 0 else None
