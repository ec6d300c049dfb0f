"""The simulator's clock: wall time by default, movable and speedable from the control plane."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime


class Clock:
    """Simulated time in milliseconds since the epoch.

    Simulated time runs at ``speed`` times real time from an anchor. ``speed=0`` freezes it, so
    tests move it only through :meth:`advance` / :meth:`set`. Thread-safe.
    """

    def __init__(
        self,
        start_ms: int | None = None,
        *,
        speed: float = 1.0,
        real_time: Callable[[], float] = time.time,
    ) -> None:
        self._real_time = real_time
        self._lock = threading.Lock()
        real_now = real_time()
        self._anchor_real = real_now
        self._anchor_sim_ms = float(start_ms if start_ms is not None else real_now * 1000.0)
        self._speed = float(speed)

    def now_ms(self) -> int:
        """Current simulated time in milliseconds since the epoch."""
        with self._lock:
            return int(self._now_locked())

    def now(self) -> datetime:
        """Current simulated time as an aware UTC datetime."""
        return datetime.fromtimestamp(self.now_ms() / 1000.0, tz=UTC)

    @property
    def speed(self) -> float:
        return self._speed

    def _now_locked(self) -> float:
        return self._anchor_sim_ms + (self._real_time() - self._anchor_real) * 1000.0 * self._speed

    def _reanchor_locked(self, sim_ms: float) -> None:
        self._anchor_real = self._real_time()
        self._anchor_sim_ms = sim_ms

    def advance(self, seconds: float) -> int:
        """Move simulated time forward (never backward) and return the new time in ms."""
        if seconds < 0:
            raise ValueError("seconds must be >= 0")
        with self._lock:
            self._reanchor_locked(self._now_locked() + seconds * 1000.0)
            return int(self._anchor_sim_ms)

    def set(self, epoch_ms: int) -> int:
        """Jump to an absolute simulated time."""
        with self._lock:
            self._reanchor_locked(float(epoch_ms))
            return int(self._anchor_sim_ms)

    def set_speed(self, speed: float) -> None:
        """Run simulated time at ``speed`` x real time from now on (0 freezes it)."""
        if speed < 0:
            raise ValueError("speed must be >= 0")
        with self._lock:
            self._reanchor_locked(self._now_locked())
            self._speed = float(speed)
