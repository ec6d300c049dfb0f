"""Dry run's answers: the confirmation or deal reference of an order write that was not sent.

``TradingPolicy(dry_run=True)`` runs every check, the policy and the journal, then answers with
these instead of sending (docs/trading.md).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from capitalcom_sdk.models.general import DealReference
from capitalcom_sdk.models.trading import Confirm

__all__ = ["DryRunConfirm", "DryRunDealReference", "dry_run_result"]


class DryRunConfirm(Confirm):
    """The confirmation of a write that dry-run did not send (``dry_run`` is always True)."""

    dry_run: bool = True


class DryRunDealReference(DealReference):
    """The deal reference of a write that dry-run did not send."""

    dry_run: bool = True


def dry_run_result(
    body: dict[str, Any], confirm: bool, now: datetime | None = None
) -> Confirm | DealReference:
    """What a dry-run write answers: a made-up reference, ACCEPTED at the body's own values."""
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
            "date": (now or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3],
        }
    )
