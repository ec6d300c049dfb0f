"""The one hook into the order-write path: checks, policy and journal around ``deal_flow``.

:class:`Safety` is the configuration a client is given (``Client(..., safety=Safety(...))``);
each client builds a :class:`Guard` from it, holding the market cache and the counters. The
resources' ``_deal`` hands every order write to :meth:`Guard.deal_flow`, a flow of declared
calls that both transports drive, so ``Client`` and ``AsyncClient`` behave the same.
"""

from __future__ import annotations

import contextlib
import logging
import uuid
from collections import deque
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote

from capitalcom_sdk import _endpoints as ep
from capitalcom_sdk._clock import Clock, WallClock, utc
from capitalcom_sdk._endpoints import ApiCall
from capitalcom_sdk._flow import Flow
from capitalcom_sdk._intent import PLACEMENTS as INTENT_PLACEMENTS
from capitalcom_sdk._intent import OrderIntent
from capitalcom_sdk._pagination import transactions_flow
from capitalcom_sdk._reconcile import (
    DEFAULT_LATE_APPLY_WINDOW,
    DEFAULT_SKEW,
    ReconcileResult,
    reconcile_flow,
)
from capitalcom_sdk.errors import (
    CapitalError,
    DealRejectedError,
    InvalidRequestError,
    OrderOutcomeUnknown,
)
from capitalcom_sdk.models.accounts import Preferences
from capitalcom_sdk.models.general import DealReference
from capitalcom_sdk.models.markets import MarketDetails
from capitalcom_sdk.models.trading import Confirm, PositionWithMarket, WorkingOrders
from capitalcom_sdk.resources._trading import deal_flow
from capitalcom_sdk.trading import policy as rules_of_policy
from capitalcom_sdk.trading.journal import JournalEntry, OrderJournal
from capitalcom_sdk.trading.maths import fx_rate_flow
from capitalcom_sdk.trading.policy import PLACEMENTS, REDUCING, OpenExposure, TradingPolicy
from capitalcom_sdk.trading.rules import MarketRules, check_order_write, round_size

__all__ = ["DryRunConfirm", "DryRunDealReference", "Guard", "PendingSettled", "Safety"]

logger = logging.getLogger(__name__)

DEFAULT_MARKET_TTL = 30.0
"""Seconds a market's dealing rules are reused before ``GET /markets/{epic}`` is asked again."""
HOUR = 3600.0
DAY = 86_400.0


class DryRunConfirm(Confirm):
    """The confirmation of a write that dry-run did not send (``dry_run`` is always True)."""

    dry_run: bool = True


class DryRunDealReference(DealReference):
    """The deal reference of a write that dry-run did not send."""

    dry_run: bool = True


@dataclass(frozen=True)
class Safety:
    """Opt-in safety layer of a client (see docs/trading.md).

    Attributes:
        checks: check every order write against the market's dealing rules before sending.
        round_size: round a size to the market's increment instead of refusing it.
        policy: limits to enforce (:class:`TradingPolicy`); None: none.
        journal: where order writes are recorded (:class:`OrderJournal`); None: not recorded.
        market_ttl: seconds the dealing rules of a market are cached.
    """

    checks: bool = True
    round_size: bool = False
    policy: TradingPolicy | None = None
    journal: OrderJournal | None = None
    market_ttl: float = DEFAULT_MARKET_TTL


@dataclass(frozen=True)
class PendingSettled:
    """What ``reconcile_pending()`` decided for one journal entry."""

    entry: JournalEntry
    status: str  # reconciled, or the entry's pending status when it must be checked again
    verdict: str  # FOUND | NOT_PLACED | AMBIGUOUS (as reconcile() answers)
    result: ReconcileResult | None = None


_OVERRIDES: ContextVar[dict[str, bool] | None] = ContextVar("capitalcom_safety", default=None)


@contextlib.contextmanager
def safety_overrides(
    *, checks: bool | None = None, round_size: bool | None = None
) -> Iterator[None]:
    """Within the block, override ``checks`` / ``round_size`` for the calls made (any client).

    A context variable: it follows the current thread or asyncio task only.
    """
    current = dict(_OVERRIDES.get() or {})
    if checks is not None:
        current["checks"] = checks
    if round_size is not None:
        current["round_size"] = round_size
    token = _OVERRIDES.set(current)
    try:
        yield
    finally:
        _OVERRIDES.reset(token)


def _body_of(call: ApiCall[Any]) -> dict[str, Any]:
    body: Any = call.body
    if body is None:
        return {}
    if hasattr(body, "model_dump"):
        return dict(body.model_dump(by_alias=True, exclude_none=True))
    return dict(body)


def _deal_id_of_path(path: str) -> str:
    return unquote(path.rstrip("/").rsplit("/", 1)[-1])


def _deal_id_of(call: ApiCall[Any]) -> str:
    return _deal_id_of_path(call.path)


def _with_body(call: ApiCall[Any], body: dict[str, Any]) -> ApiCall[Any]:
    """The placement ``call`` with another body (rebuilt, so its request model matches)."""
    try:
        return call.endpoint.call(body=body)
    except TypeError:  # an endpoint without a body model: keep the call's shape
        return replace(call, body=body)


def _confirm_deal_ids(confirm: Confirm) -> list[str]:
    """The deals a confirmation names: the affected ones (a position's), else its own id (a
    working order's; for a market order it is the order's, not the position's)."""
    ids = [d.deal_id for d in confirm.affected_deals if d.deal_id]
    if not ids and confirm.deal_id:
        ids.append(confirm.deal_id)
    return ids


class Guard:
    """Per-client state of the safety layer: the market cache, counters, the live flag."""

    def __init__(self, safety: Safety, *, live: bool, clock: Clock | None = None) -> None:
        self.safety = safety
        self.live = live
        # The client's clock: the market cache's age, the placement counters and the journal's
        # times are simulated in a backtest (a day of trading there is a simulated day).
        self.clock: Clock = clock or WallClock()
        self._markets: dict[str, tuple[float, MarketRules]] = {}
        self._hedging: bool | None = None
        self._sent: deque[float] = deque()  # placement times (without a journal)
        # Journal entry -> the intent its OrderOutcomeUnknown carried (this process only), so
        # that reconcile_pending() settles the very write the registry knows, not a twin of it.
        self._unknown: dict[tuple[str, int], OrderIntent] = {}

    def __repr__(self) -> str:
        return f"Guard({self.safety!r}, live={self.live})"

    # -- options -----------------------------------------------------------------------------
    def _option(self, name: str) -> bool:
        overrides = _OVERRIDES.get()
        if overrides is not None and name in overrides:
            return overrides[name]
        return bool(getattr(self.safety, name))

    # -- cached reads (flows) ----------------------------------------------------------------
    def forget(self, epic: str | None) -> None:
        """Drop the cached rules of ``epic`` (after a rejection: distances may have widened)."""
        if epic is not None:
            self._markets.pop(epic, None)

    def market_flow(self, epic: str) -> Flow[MarketRules]:
        """The dealing rules of ``epic``, from the cache when fresh."""
        now = self.clock.monotonic()
        cached = self._markets.get(epic)
        if cached is not None and now - cached[0] < self.safety.market_ttl:
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

    @staticmethod
    def account_flow(core: Any) -> Flow[str]:
        """The active account id (asks ``GET /session`` when the client has not logged in)."""
        account = getattr(core, "session_account", None) or getattr(core, "account_id", None)
        if account is None and getattr(core, "login_response", None) is not None:
            account = core.login_response.current_account_id
        if account is None:
            details = yield ep.SESSION_DETAILS.call()
            account = details.account_id
        return str(account)

    # -- the checks --------------------------------------------------------------------------
    def _check_flow(self, call: ApiCall[Any], body: dict[str, Any]) -> Flow[ApiCall[Any]]:
        """Dealing-rule checks (and rounding when asked); returns the call to send."""
        name = call.endpoint.name
        epic = body.get("epic")
        direction: str | None = None
        reference: float | None = None
        if name in PLACEMENTS:
            rules = yield from self.market_flow(str(epic))
            if self._option("round_size") and "size" in body:
                rounded = round_size(rules, float(body["size"]))
                if rounded != body["size"]:
                    body = {**body, "size": rounded}
                    call = _with_body(call, body)
        elif name in ("positions.update", "positions.close"):
            entry: PositionWithMarket = yield ep.POSITION.call({"dealId": _deal_id_of(call)})
            epic = entry.market.epic if entry.market else None
            if epic is None:
                return call
            rules = yield from self.market_flow(epic)
            direction = str(getattr(entry.position.direction, "value", entry.position.direction))
            reference = rules.closing_price(direction)
        elif name == "orders.update":
            orders: WorkingOrders = yield ep.WORKING_ORDERS.call()
            deal_id = _deal_id_of(call)
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
        else:
            return call
        hedging = False
        if body.get("guaranteedStop"):
            hedging = yield from self._hedging_flow()
        check_order_write(
            name,
            rules,
            body,
            direction=direction,
            reference=reference,
            hedging_mode=hedging,
        )
        return call

    def _policy_flow(
        self, policy: TradingPolicy, call: ApiCall[Any], body: dict[str, Any], account: str
    ) -> Flow[None]:
        name = call.endpoint.name
        if not policy.dry_run:
            rules_of_policy.check_live(policy, self.live)
        if name in REDUCING:
            return None
        if name not in PLACEMENTS:
            if policy.allowed_epics is not None and name == "positions.update":
                entry: PositionWithMarket = yield ep.POSITION.call({"dealId": _deal_id_of(call)})
                rules_of_policy.check_epic(policy, entry.market.epic if entry.market else None)
            return None
        epic = str(body.get("epic"))
        size = float(body.get("size", 0.0))
        now = self.clock.time()
        journal = self.safety.journal
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
            exposure, notional = yield from self._exposure_flow(policy, epic, size)
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

    def _exposure_flow(
        self, policy: TradingPolicy, epic: str, size: float
    ) -> Flow[tuple[OpenExposure, float]]:
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
                currency = currency or (yield from _account_currency_flow())
                fx = yield from fx_rate_flow(entry.position.currency or currency, currency)
                total += entry.position.size * entry.position.level * fx
        notional = 0.0
        if policy.max_total_exposure is not None:
            currency = currency or (yield from _account_currency_flow())
            details: MarketDetails = yield ep.MARKET.call({"epic": epic})
            snap = details.snapshot
            price = (snap.offer or snap.bid or 0.0) if snap else 0.0
            fx = yield from fx_rate_flow(details.instrument.currency or currency, currency)
            notional = size * price * fx
        exposure = OpenExposure(len(positions.positions), count, sizes, total)
        return exposure, notional

    # -- the write ---------------------------------------------------------------------------
    def deal_flow(
        self,
        core: Any,
        call: ApiCall[DealReference],
        *,
        confirm: bool,
        timeout: float,
        inner: Callable[[ApiCall[DealReference]], Flow[Confirm | DealReference]] | None = None,
    ) -> Flow[Confirm | DealReference]:
        """Check, record, then run the client's own write flow, recording each step.

        ``inner`` builds the flow that sends the (possibly rounded) call and waits for its
        confirmation (default: ``deal_flow``); the guard only watches it: the answer to the
        write records the deal reference, the flow's end or error the outcome.
        """
        body = _body_of(call)
        name = call.endpoint.name
        policy = self.safety.policy
        if self._option("checks"):
            call = yield from self._check_flow(call, body)
            body = _body_of(call)
        journal = self.safety.journal
        account = ""
        if journal is not None:
            account = yield from self.account_flow(core)
        if policy is not None:
            yield from self._policy_flow(policy, call, body, account)
        dry_run = policy is not None and policy.dry_run
        entry_id = 0
        if journal is not None:
            entry_id = journal.record_intent(
                account,
                name,
                call.endpoint.method,
                call.path,
                body,
                status="dry_run" if dry_run else "intent",
                created_at=self.clock.time(),
            )
        if dry_run:
            return _dry_run_result(body, confirm, utc(self.clock.time()))
        make = inner or (
            lambda checked: deal_flow(checked, confirm=confirm, timeout=timeout, clock=self.clock)
        )
        flow = make(call)
        epic = body.get("epic")
        answered: list[str] = []  # the deal reference, once the write was answered

        def on_answer(reference: str) -> None:
            answered.append(reference)
            if name in PLACEMENTS and journal is None:
                self._sent.append(self.clock.time())
            if journal is not None:
                journal.record_sent(account, entry_id, reference, at=self.clock.time())

        try:
            result: Confirm | DealReference = yield from _watch(flow, call, on_answer)
        except DealRejectedError as exc:
            self.forget(epic)
            if journal is not None:
                journal.record_outcome(
                    account,
                    entry_id,
                    "rejected",
                    verdict="REJECTED",
                    reason=exc.reason,
                    at=self.clock.time(),
                )
            raise
        except CapitalError as exc:
            if isinstance(exc, InvalidRequestError) and not answered:
                self.forget(epic)
            if journal is not None:
                # Refused only when the server said no to the write itself; after its answer
                # (or with the outcome unknown) the write may stand: pending, to be settled.
                pending = answered or isinstance(exc, OrderOutcomeUnknown)
                status = "unknown" if pending else "refused"
                cause = getattr(exc, "cause", None) or str(exc)
                journal.record_outcome(
                    account, entry_id, status, reason=cause, at=self.clock.time()
                )
                if isinstance(exc, OrderOutcomeUnknown):
                    self._unknown[(account, entry_id)] = exc.intent
            raise
        if journal is not None and isinstance(result, Confirm):
            journal.record_outcome(
                account,
                entry_id,
                "confirmed",
                verdict="ACCEPTED",
                deal_ids=_confirm_deal_ids(result),
                at=self.clock.time(),
            )
        return result

    # -- after a crash -----------------------------------------------------------------------
    def reconcile_pending_flow(
        self,
        core: Any,
        *,
        clock_skew: float = DEFAULT_SKEW,
        late_apply_window: float = DEFAULT_LATE_APPLY_WINDOW,
        wait: bool = False,
    ) -> Flow[list[PendingSettled]]:
        """Settle every journal entry left pending (intent, sent, unknown) with reconcile's
        own flow and verdicts. An AMBIGUOUS verdict that only waits for the late-apply window
        (``check_after``) leaves the entry pending; ``wait=True`` waits it out instead."""
        journal = self.safety.journal
        if journal is None:
            raise ValueError(
                "reconcile_pending() needs a journal: Safety(journal=OrderJournal(...))"
            )
        account = yield from self.account_flow(core)
        settled: list[PendingSettled] = []
        for entry in journal.pending(account):
            intent = self._unknown.get((account, entry.id)) or _intent_of(entry)
            unknown = OrderOutcomeUnknown(intent, f"journal entry {entry.id} left {entry.status}")
            result: ReconcileResult = yield from reconcile_flow(
                unknown,
                registry=getattr(core, "deals", None),
                clock_skew=clock_skew,
                late_apply_window=late_apply_window,
                wait=wait,
                clock=self.clock.time,
            )
            verdict = str(result.status)
            if result.check_after is not None:
                settled.append(PendingSettled(entry, entry.status, verdict, result=result))
                continue
            self._unknown.pop((account, entry.id), None)
            deal_ids = [result.deal_id] if result.deal_id else []
            if result.confirm is not None and entry.endpoint in PLACEMENTS:
                deal_ids = _confirm_deal_ids(result.confirm) or deal_ids
            journal.record_outcome(
                account,
                entry.id,
                "reconciled",
                verdict=verdict,
                deal_ids=deal_ids,
                at=self.clock.time(),
            )
            settled.append(PendingSettled(entry, "reconciled", verdict, result=result))
        return settled


def _intent_of(entry: JournalEntry) -> OrderIntent:
    """The typed intent of a journal entry (what ``reconcile()`` reads)."""
    endpoint = next(e for e in ep.ENDPOINTS if e.name == entry.endpoint)
    deal_id = None
    if endpoint not in INTENT_PLACEMENTS:
        deal_id = _deal_id_of_path(entry.path)
    return OrderIntent(
        endpoint=endpoint,
        path=entry.path,
        body=dict(entry.body),
        account_id=entry.account or None,
        sent_at=entry.created_at,
        deal_id=deal_id,
        deal_reference=entry.deal_reference,
        gave_up_at=entry.updated_at,  # the last moment the writer was known alive
    )


def _watch(flow: Flow[Any], write: ApiCall[Any], on_answer: Callable[[str], None]) -> Flow[Any]:
    """Run ``flow`` unchanged, calling ``on_answer(deal reference)`` when its write is answered.

    The write is the action that is ``write`` itself, or one that wraps it (``.call``).
    """
    value: Any = None
    error: BaseException | None = None
    while True:
        try:
            action = flow.throw(error) if error is not None else flow.send(value)
        except StopIteration as stop:
            return stop.value
        value, error = None, None
        try:
            value = yield action
        except BaseException as exc:  # handed back to the flow, which decides
            error = exc
            continue
        if action is write or getattr(action, "call", None) is write:
            reference = getattr(value, "deal_reference", None)
            if reference is None:
                reference = getattr(getattr(value, "reference", None), "deal_reference", None)
            if reference is not None:
                on_answer(str(reference))


def _dry_run_result(body: dict[str, Any], confirm: bool, now: datetime) -> Confirm | DealReference:
    reference = f"dryrun-{uuid.uuid4().hex[:16]}"
    if not confirm:
        return DryRunDealReference(dealReference=reference)
    return DryRunConfirm.model_validate(
        {
            "dealReference": reference,
            "dealStatus": "ACCEPTED",
            "status": "OPEN",
            "epic": body.get("epic"),
            "size": body.get("size"),
            "direction": body.get("direction"),
            "level": body.get("level"),
            "date": now.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3],
        }
    )


def _realised_today_flow() -> Flow[float]:
    """Today's realised P&L (UTC day on the server's clock) from the TRADE transactions."""
    from capitalcom_sdk.models.general import ServerTime

    server: ServerTime = yield ep.SERVER_TIME.call()
    now = datetime.fromtimestamp(server.server_time / 1000.0, tz=UTC)
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    history = yield from transactions_flow(start=midnight, end=now, type="TRADE")
    return float(sum(t.size for t in history.transactions))


def _account_currency_flow() -> Flow[str]:
    details = yield ep.SESSION_DETAILS.call()
    return str(details.currency)
