"""Request statistics of the real-API routes, served by GET /_sim/stats. Thread-safe."""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

from capitalcom_sim.ratelimit import LIMITS


class Stats:
    """Counters per ``"METHOD /path-template"``, per status, and 429 rejections per limit.

    A request that never got an answer counts under ``"dropped"`` when the simulator closed it
    (a ``drop``, ``apply_then_drop`` or expired hold fault) and under ``"client_disconnected"``
    when the client left first (a held, delayed or late-applied request, a body that never
    arrived): neither is a 500.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests: Counter[str] = Counter()
        self._status: Counter[str] = Counter()
        self._rejected: Counter[str] = Counter()

    def request(self, key: str) -> None:
        with self._lock:
            self._requests[key] += 1

    def status(self, status: int | str) -> None:
        with self._lock:
            self._status[str(status)] += 1

    def rejected(self, limit: str) -> None:
        with self._lock:
            self._rejected[limit] += 1

    def snapshot(self) -> dict[str, Any]:
        """The /_sim/stats document."""
        with self._lock:
            rejected = {name: self._rejected.get(name, 0) for name in LIMITS}
            return {
                "requests": dict(self._requests),
                "status": dict(self._status),
                "rejected_429": rejected,
            }

    def clear(self) -> None:
        with self._lock:
            self._requests.clear()
            self._status.clear()
            self._rejected.clear()
