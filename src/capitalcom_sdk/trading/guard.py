"""The one hook into the order-write path: checks, policy and journal around ``deal_flow``.

:class:`Safety` is the configuration a client is given (``Client(..., safety=Safety(...))``);
each client builds a :class:`Guard` from it, holding the market cache and the counters. The
resources' ``_deal`` hands every order write to :meth:`Guard.deal_flow`, a flow of declared
calls that both transports drive, so ``Client`` and ``AsyncClient`` behave the same.

The guard only sequences: the dealing-rule checks (``_checks.DealChecks``), the policy
(``_policy_gate.PolicyGate``), the journal's records around the write, dry run's answers
(``_dryrun``) and, after a crash, the recovery of pending entries (``_recovery``).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from capitalcom_sdk import _endpoints as ep
from capitalcom_sdk._clock import Clock, WallClock, utc
from capitalcom_sdk._endpoints import ApiCall
from capitalcom_sdk._flow import Flow
from capitalcom_sdk._intent import OrderIntent
from capitalcom_sdk._settings import DEFAULT_LATE_APPLY_WINDOW, DEFAULT_SKEW
from capitalcom_sdk.errors import (
    CapitalError,
    DealRejectedError,
    InvalidRequestError,
    OrderOutcomeUnknown,
)
from capitalcom_sdk.models.general import DealReference
from capitalcom_sdk.models.trading import Confirm
from capitalcom_sdk.resources._trading import deal_flow
from capitalcom_sdk.trading._calls import (
    body_of,
    confirm_deal_ids,
)
from capitalcom_sdk.trading._checks import DealChecks
from capitalcom_sdk.trading._dryrun import DryRunConfirm, DryRunDealReference, dry_run_result
from capitalcom_sdk.trading._policy_gate import PolicyGate
from capitalcom_sdk.trading._recovery import PendingSettled, settle_pending_flow
from capitalcom_sdk.trading.journal import OrderJournal
from capitalcom_sdk.trading.policy import PLACEMENTS, TradingPolicy
from capitalcom_sdk.trading.rules import MarketRules

__all__ = ["DryRunConfirm", "DryRunDealReference", "Guard", "PendingSettled", "Safety"]

logger = logging.getLogger(__name__)

DEFAULT_MARKET_TTL = 30.0
"""Seconds a market's dealing rules are reused before ``GET /markets/{epic}`` is asked again."""


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


class Guard:
    """Per-client state of the safety layer: the market cache, counters, the live flag."""

    def __init__(self, safety: Safety, *, live: bool, clock: Clock | None = None) -> None:
        self.safety = safety
        self.live = live
        # The client's clock: the market cache's age, the placement counters and the journal's
        # times are simulated in a backtest (a day of trading there is a simulated day).
        self.clock: Clock = clock or WallClock()
        self.checks = DealChecks(safety.market_ttl, clock=self.clock)
        self.policy_gate = PolicyGate(safety.journal, live=live, clock=self.clock)
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
        self.checks.forget(epic)

    def market_flow(self, epic: str) -> Flow[MarketRules]:
        """The dealing rules of ``epic``, from the cache when fresh."""
        return self.checks.market_flow(epic)

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
        body = body_of(call)
        name = call.endpoint.name
        policy = self.safety.policy
        if self._option("checks"):
            call = yield from self.checks.check_flow(
                call, body, round_sizes=self._option("round_size")
            )
            body = body_of(call)
        journal = self.safety.journal
        account = ""
        if journal is not None:
            account = yield from self.account_flow(core)
        if policy is not None:
            yield from self.policy_gate.check_flow(policy, call, body, account)
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
            return dry_run_result(body, confirm, utc(self.clock.time()))
        make = inner or (
            lambda checked: deal_flow(checked, confirm=confirm, timeout=timeout, clock=self.clock)
        )
        flow = make(call)
        epic = body.get("epic")
        answered: list[str] = []  # the deal reference, once the write was answered

        def on_answer(reference: str) -> None:
            answered.append(reference)
            if name in PLACEMENTS and journal is None:
                self.policy_gate.placed(self.clock.time())
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
                deal_ids=confirm_deal_ids(result),
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
        return (
            yield from settle_pending_flow(
                journal,
                account,
                self._unknown,
                registry=getattr(core, "deals", None),
                clock_skew=clock_skew,
                late_apply_window=late_apply_window,
                wait=wait,
                clock=self.clock,
            )
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
