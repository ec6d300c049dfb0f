"""A minimal bot for the crash tests: settle what the journal left pending, then make sure it
holds one BTCUSD position of its own. ``CRASH_AT`` (intent / sent / confirmed) makes it SIGKILL
itself right after the journal recorded that step of the order write."""

from __future__ import annotations

import json
import os
import signal
import sys
from typing import Any

from capitalcom_sdk import Client
from capitalcom_sdk.trading import OrderJournal, Safety

CRASH_AT = os.environ.get("CRASH_AT", "")


def _die(step: str) -> None:
    if step == CRASH_AT:
        os.kill(os.getpid(), signal.SIGKILL)


class CrashingJournal(OrderJournal):
    def record_intent(self, *args: Any, **kwargs: Any) -> int:
        entry = super().record_intent(*args, **kwargs)
        _die("intent")
        return entry

    def record_sent(self, account: str, entry_id: int, deal_reference: str, **kwargs: Any) -> None:
        super().record_sent(account, entry_id, deal_reference, **kwargs)
        _die("sent")

    def record_outcome(self, account: str, entry_id: int, status: str, **kwargs: Any) -> None:
        super().record_outcome(account, entry_id, status, **kwargs)
        _die(status)


def main() -> None:
    base_url, api_key, identifier, password, directory = sys.argv[1:6]
    journal = CrashingJournal(directory)
    client = Client(
        api_key,
        identifier,
        password,
        base_url=base_url,
        rate_limit=False,
        confirm_timeout=5.0,
        safety=Safety(journal=journal),
    )
    window = float(os.environ.get("LATE_APPLY_WINDOW", "30"))
    settled = client.reconcile_pending(late_apply_window=window, wait=True)
    account = client.session.details().account_id
    owned = journal.owned_deal_ids(account)
    mine = [
        p.position.deal_id
        for p in client.positions.list().positions
        if journal.owns(account, p.position.deal_id, p.position.working_order_id)
    ]
    opened = False
    if not mine:
        client.positions.open("BTCUSD", "BUY", 0.01)
        opened = True
    print(
        json.dumps(
            {"settled": [s.verdict for s in settled], "opened": opened, "owned": sorted(owned)}
        )
    )


if __name__ == "__main__":
    main()
