"""After a crash: the journal's pending order writes settled with reconcile's own verdicts.

:func:`settle_pending_flow` is what ``client.reconcile_pending()`` runs (through
:meth:`~capitalcom_sdk.trading.Guard.reconcile_pending_flow`): every journal entry left intent,
sent or unknown becomes the typed intent ``reconcile()`` reads, and its verdict is recorded.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from capitalcom_sdk import _endpoints as ep
from capitalcom_sdk._clock import Clock, WallClock
from capitalcom_sdk._flow import Flow
from capitalcom_sdk._intent import PLACEMENTS as INTENT_PLACEMENTS
from capitalcom_sdk._intent import OrderIntent
from capitalcom_sdk._reconcile import ReconcileResult, reconcile_flow
from capitalcom_sdk.errors import OrderOutcomeUnknown
from capitalcom_sdk.trading._calls import confirm_deal_ids, deal_id_of_path
from capitalcom_sdk.trading.journal import JournalEntry, OrderJournal
from capitalcom_sdk.trading.policy import PLACEMENTS

__all__ = ["PendingSettled", "intent_of", "settle_pending_flow"]


@dataclass(frozen=True)
class PendingSettled:
    """What ``reconcile_pending()`` decided for one journal entry."""

    entry: JournalEntry
    status: str  # reconciled, or the entry's pending status when it must be checked again
    verdict: str  # FOUND | NOT_PLACED | AMBIGUOUS (as reconcile() answers)
    result: ReconcileResult | None = None


def settle_pending_flow(
    journal: OrderJournal,
    account: str,
    unknown: dict[tuple[str, int], OrderIntent],
    *,
    registry: Any,
    clock_skew: float,
    late_apply_window: float,
    wait: bool,
    clock: Clock | None = None,
) -> Flow[list[PendingSettled]]:
    """Settle every pending entry of ``account``. ``unknown`` maps journal entries to the
    intents their ``OrderOutcomeUnknown`` carried in this process (used first, and dropped once
    settled); an AMBIGUOUS verdict that only waits for the late-apply window leaves the entry
    pending unless ``wait``. ``clock``: the client's (the window and the journal's times are
    on it; default the wall clock)."""
    clock = clock or WallClock()
    settled: list[PendingSettled] = []
    for entry in journal.pending(account):
        intent = unknown.get((account, entry.id)) or intent_of(entry)
        outcome = OrderOutcomeUnknown(intent, f"journal entry {entry.id} left {entry.status}")
        result: ReconcileResult = yield from reconcile_flow(
            outcome,
            registry=registry,
            clock_skew=clock_skew,
            late_apply_window=late_apply_window,
            wait=wait,
            clock=clock.time,
        )
        verdict = str(result.status)
        if result.check_after is not None:
            settled.append(PendingSettled(entry, entry.status, verdict, result=result))
            continue
        unknown.pop((account, entry.id), None)
        deal_ids = [result.deal_id] if result.deal_id else []
        if result.confirm is not None and entry.endpoint in PLACEMENTS:
            deal_ids = confirm_deal_ids(result.confirm) or deal_ids
        journal.record_outcome(
            account, entry.id, "reconciled", verdict=verdict, deal_ids=deal_ids, at=clock.time()
        )
        settled.append(PendingSettled(entry, "reconciled", verdict, result=result))
    return settled


def intent_of(entry: JournalEntry) -> OrderIntent:
    """The typed intent of a journal entry (what ``reconcile()`` reads)."""
    endpoint = next(e for e in ep.ENDPOINTS if e.name == entry.endpoint)
    deal_id = None
    if endpoint not in INTENT_PLACEMENTS:
        deal_id = deal_id_of_path(entry.path)
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
