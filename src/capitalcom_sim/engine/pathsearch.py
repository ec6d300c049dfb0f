"""Searches along the price path: first threshold crossing and trailing-stop walks.

Used by the engine's triggers (through :class:`PriceEngine`). They walk the bar tree and descend
only into bars whose high/low reach a threshold, so a clock jump of days costs about as much as a
few bars.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

from capitalcom_sim.engine.instruments import (
    WEEK_MS,
    Instrument,
    InstrumentTable,
)
from capitalcom_sim.engine.overrides import Overrides
from capitalcom_sim.engine.pricetree import LEAF, LEVEL_DUR, Segment
from capitalcom_sim.engine.seeded import SeededTree


class PathSearch:
    """First-crossing and trailing-stop searches over the seeded tree and the overrides.

    Not thread-safe by itself: :class:`PriceEngine` locks around it.
    """

    def __init__(
        self, instruments: InstrumentTable, tree: SeededTree, overrides: Overrides
    ) -> None:
        self.instruments = instruments
        self.tree = tree
        self.overrides = overrides
        self.tick_ms = tree.tick_ms

    def first_cross(
        self, epic: str, start_ms: int, end_ms: int, below: int | None, above: int | None
    ) -> tuple[int, int] | None:
        """First open tick t in [start, end) with mid <= below or mid >= above: (t, mid).

        Walks the bar tree and descends only into bars whose high/low reach a threshold, so a
        jump of days costs about as much as a few bars.
        """
        inst = self.instruments.require(epic)
        if below is None and above is None:
            return None
        lo = below if below is not None else -(1 << 62)
        hi = above if above is not None else 1 << 62

        def hit(low: int, high: int) -> bool:
            return low <= lo or high >= hi

        for _, seg, s, e in self._pieces(inst, start_ms, end_ms):
            if seg is None:
                found = self._cross_seeded(inst, s, e, hit)
            else:
                found = self._cross_segment(inst, seg, s, e, lambda v: v <= lo or v >= hi)
            if found is not None:
                return found
        return None

    def trailing_cross(
        self, epic: str, start_ms: int, end_ms: int, stop: int, distance: int, sign: int
    ) -> tuple[tuple[int, int] | None, int]:
        """Trailing stop walk over [start, end) in mid units.

        ``sign`` +1 for a long position (stop below, triggers when mid <= stop, follows
        mid - distance upwards), -1 for a short one (mirror). Returns (trigger (t, mid) or None,
        the stop at the trigger or at the end).
        """
        inst = self.instruments.require(epic)
        state = sign * stop
        for _, seg, s, e in self._pieces(inst, start_ms, end_ms):
            if seg is None:
                found, state = self._trail_seeded(inst, s, e, state, distance, sign)
            else:
                found, state = self._trail_segment(inst, seg, s, e, state, distance, sign)
            if found is not None:
                return found, sign * state
        return None, sign * state

    def _pieces(
        self, inst: Instrument, s: int, e: int
    ) -> list[tuple[str, Segment | None, int, int]]:
        """[s, e) cut into seeded and override pieces, in time order."""
        segments = (
            self.overrides.within(inst.epic, s, e) if self.overrides.overridden(inst.epic) else []
        )
        out: list[tuple[str, Segment | None, int, int]] = []
        cursor = s
        for seg in sorted(segments, key=lambda x: x.start):
            seg_s = max(s, seg.start)
            seg_e = e if seg.end is None else min(e, seg.end)
            if cursor < seg_s:
                out.append(("seeded", None, cursor, seg_s))
            if seg_s < seg_e:
                out.append(("segment", seg, seg_s, seg_e))
            cursor = max(cursor, seg_e)
        if cursor < e:
            out.append(("seeded", None, cursor, e))
        return out

    def _cross_seeded(
        self, inst: Instrument, s: int, e: int, hit: Callable[[int, int], bool]
    ) -> tuple[int, int] | None:
        week = self.tree.align_level(0, s)
        while week < e:
            found = self._cross_node(inst, 0, week, s, e, hit)
            if found is not None:
                return found
            week += WEEK_MS
        return None

    def _cross_node(
        self,
        inst: Instrument,
        level: int,
        start: int,
        s: int,
        e: int,
        hit: Callable[[int, int], bool],
    ) -> tuple[int, int] | None:
        end = start + LEVEL_DUR[level]
        if end <= s or start >= e:
            return None
        node = self.tree.node(inst, level, start)
        if node is None or not hit(node[2], node[1]):
            return None
        if level == LEAF:
            for i, mid in enumerate(self.tree.tick_prices(inst, start)):
                t = start + i * self.tick_ms
                if s <= t < e and hit(mid, mid):
                    return t, mid
            return None
        children = self.tree.children(inst, level, start)
        child_dur = LEVEL_DUR[level + 1]
        for i in range(len(children)):
            found = self._cross_node(inst, level + 1, start + i * child_dur, s, e, hit)
            if found is not None:
                return found
        return None

    def _segment_spans(
        self, inst: Instrument, seg: Segment, s: int, e: int
    ) -> list[tuple[int, int]]:
        """Tick pairs (p0, p1) covering the open ticks of [s, e) on which the path is linear."""
        tick = self.tick_ms
        spans: list[tuple[int, int]] = []
        for open_s, open_e in inst.opening_hours.open_intervals(s, e):
            first = open_s + (-open_s) % tick
            last = ((open_e - 1) // tick) * tick
            if last < first:
                continue
            points = [first] + [t for t in seg.knots_t if first < t < last] + [last]
            spans.extend(itertools.pairwise(points))
        return spans

    def _cross_segment(
        self, inst: Instrument, seg: Segment, s: int, e: int, cond: Callable[[int], bool]
    ) -> tuple[int, int] | None:
        tick = self.tick_ms
        for p0, p1 in self._segment_spans(inst, seg, s, e):
            v0 = seg.value(p0)
            if cond(v0):
                return p0, v0
            if not cond(seg.value(p1)):
                continue
            lo, hi = p0 // tick, p1 // tick  # cond false at lo, true at hi (monotone path)
            while hi - lo > 1:
                mid = (lo + hi) // 2
                if cond(seg.value(mid * tick)):
                    hi = mid
                else:
                    lo = mid
            return hi * tick, seg.value(hi * tick)
        return None

    def _trail_seeded(
        self, inst: Instrument, s: int, e: int, state: int, distance: int, sign: int
    ) -> tuple[tuple[int, int] | None, int]:
        week = self.tree.align_level(0, s)
        while week < e:
            found, state = self._trail_node(inst, 0, week, s, e, state, distance, sign)
            if found is not None:
                return found, state
            week += WEEK_MS
        return None, state

    def _trail_node(
        self,
        inst: Instrument,
        level: int,
        start: int,
        s: int,
        e: int,
        state: int,
        distance: int,
        sign: int,
    ) -> tuple[tuple[int, int] | None, int]:
        end = start + LEVEL_DUR[level]
        if end <= s or start >= e:
            return None, state
        node = self.tree.node(inst, level, start)
        if node is None:
            return None, state
        low, high = (node[2], node[1]) if sign > 0 else (-node[1], -node[2])
        inside = s <= start and end <= e
        if inside and low > max(state, high - distance):
            return None, max(state, high - distance)
        if level == LEAF:
            for i, mid in enumerate(self.tree.tick_prices(inst, start)):
                t = start + i * self.tick_ms
                if not s <= t < e:
                    continue
                value = sign * mid
                if value <= state:
                    return (t, mid), state
                state = max(state, value - distance)
            return None, state
        children = self.tree.children(inst, level, start)
        child_dur = LEVEL_DUR[level + 1]
        for i in range(len(children)):
            found, state = self._trail_node(
                inst, level + 1, start + i * child_dur, s, e, state, distance, sign
            )
            if found is not None:
                return found, state
        return None, state

    def _trail_segment(
        self,
        inst: Instrument,
        seg: Segment,
        s: int,
        e: int,
        state: int,
        distance: int,
        sign: int,
    ) -> tuple[tuple[int, int] | None, int]:
        for p0, p1 in self._segment_spans(inst, seg, s, e):
            v0, v1 = sign * seg.value(p0), sign * seg.value(p1)
            if v0 <= state:
                return (p0, seg.value(p0)), state
            if v1 >= v0:  # moving away from the stop: it follows, nothing triggers
                state = max(state, v1 - distance)
                continue
            state = max(state, v0 - distance)
            found = self._cross_segment(inst, seg, p0, p1 + 1, _at_or_below(state, sign))
            if found is not None:
                return found, state
        return None, state


def _at_or_below(limit: int, sign: int) -> Callable[[int], bool]:
    def cond(value: int) -> bool:
        return sign * value <= limit

    return cond
