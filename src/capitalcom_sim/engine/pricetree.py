"""The bar tree's shape (levels, durations, alignment) and control-plane override segments."""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass, field

from capitalcom_sim.engine.instruments import (
    _MONDAY_EPOCH_MS,
    MINUTE_MS,
)
from capitalcom_sim.engine.types import RESOLUTIONS

# Levels of the tree, coarsest first; index = level.
LEVEL_NAMES: tuple[str, ...] = tuple(reversed(RESOLUTIONS))  # WEEK .. MINUTE
_DURATIONS_MIN = {
    "WEEK": 7 * 1440,
    "DAY": 1440,
    "HOUR_4": 240,
    "HOUR": 60,
    "MINUTE_30": 30,
    "MINUTE_15": 15,
    "MINUTE_5": 5,
    "MINUTE": 1,
}
DURATION_MS: dict[str, int] = {name: m * MINUTE_MS for name, m in _DURATIONS_MIN.items()}
LEVEL_DUR = [DURATION_MS[name] for name in LEVEL_NAMES]
LEVEL_OF = {name: i for i, name in enumerate(LEVEL_NAMES)}
LEAF = len(LEVEL_NAMES) - 1
M64 = (1 << 64) - 1
# (open, high, low, close, volume) in price units; None = no open tick in the window.
Node = tuple[int, int, int, int, int]


def mix(x: int) -> int:
    """splitmix64 finaliser: a well-spread 64-bit hash of an integer."""
    x = (x + 0x9E3779B97F4A7C15) & M64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & M64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & M64
    return x ^ (x >> 31)


def align(resolution: str, t_ms: int) -> int:
    """Start of the bar of ``resolution`` containing ``t`` (weeks start Monday 00:00 UTC)."""
    duration = DURATION_MS[resolution]
    if resolution == "WEEK":
        return t_ms - (t_ms - _MONDAY_EPOCH_MS) % duration
    return t_ms - t_ms % duration


def combine(parts: Sequence[Node]) -> Node | None:
    if not parts:
        return None
    return (
        parts[0][0],
        max(p[1] for p in parts),
        min(p[2] for p in parts),
        parts[-1][3],
        sum(p[4] for p in parts),
    )


@dataclass
class Segment:
    """An override over [start, end): mid follows straight lines between knots (price units)."""

    start: int
    end: int | None  # None: open-ended (pinned after the last knot)
    knots_t: list[int]
    knots_v: list[int]
    volumes: list[tuple[int, int, int]] = field(default_factory=list)  # (start, end, volume)
    # Replayed bars' own spreads (start, end, spread units): disjoint, in time order; a tick of
    # the segment outside them is quoted with the instrument's spread.
    spreads: list[tuple[int, int, int]] = field(default_factory=list)

    def value(self, t: int) -> int:
        ts = self.knots_t
        if t <= ts[0]:
            return self.knots_v[0]
        if t >= ts[-1]:
            return self.knots_v[-1]
        i = bisect.bisect_right(ts, t) - 1
        t0, t1 = ts[i], ts[i + 1]
        v0, v1 = self.knots_v[i], self.knots_v[i + 1]
        return round(v0 + (v1 - v0) * (t - t0) / (t1 - t0))

    def covers(self, s: int, e: int) -> bool:
        return self.start < e and (self.end is None or s < self.end)
