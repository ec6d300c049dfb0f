"""Run a catalog sync in this process, printing a line per request (the kill test's victim).

``python -m tests.sdk.catalog._sync_child BASE_URL ROOT START_ISO``
"""

from __future__ import annotations

import sys
from datetime import datetime

from capitalcom_sdk import Client
from capitalcom_sdk.catalog import Catalog, SyncProgress
from capitalcom_sim.config import DEFAULT_API_KEY, DEFAULT_IDENTIFIER, DEFAULT_PASSWORD


def main() -> int:
    base_url, root, start = sys.argv[1], sys.argv[2], datetime.fromisoformat(sys.argv[3])

    def report(event: SyncProgress) -> None:
        print(f"request {event.done}", flush=True)

    with Client(
        DEFAULT_API_KEY, DEFAULT_IDENTIFIER, DEFAULT_PASSWORD, base_url=base_url, rate_limit=False
    ) as client:
        Catalog(root, client).sync(["GOLD", "BTCUSD"], ["MINUTE", "HOUR"], start, progress=report)
    print("done", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
