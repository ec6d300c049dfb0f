"""Control-plane overrides of the price path: pinned prices, paths and replayed bars.

Each is a piecewise-linear :class:`Segment` of mid units laid over the seeded process from its
start on; a newer override cuts the older ones off where it starts. Not thread-safe by itself:
:class:`PriceEngine` locks around it.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence

from capitalcom_sim.engine.pricetree import Segment


class Overrides:
    """The override segments of every instrument, on the tick grid ``tick_ms``."""

    def __init__(self, tick_ms: int) -> None:
        self.tick_ms = tick_ms
        self._segments: dict[str, list[Segment]] = {}

    def segments(self, epic: str) -> list[Segment]:
        """Every segment of ``epic`` (oldest first)."""
        return self._segments.get(epic, [])

    def value_at(self, epic: str, tick: int) -> int | None:
        """The overridden mid of a tick, or None when the seeded process applies."""
        for seg in self._segments.get(epic, ()):
            if seg.covers(tick, tick + 1):
                return seg.value(tick)
        return None

    def spread_at(self, epic: str, tick: int) -> int | None:
        """The replayed bar's spread (units) in force at a tick, or None (the instrument's)."""
        for seg in self._segments.get(epic, ()):
            if seg.spreads and seg.covers(tick, tick + 1):
                spreads = seg.spreads
                index = bisect.bisect_right(spreads, tick, key=lambda x: x[0]) - 1
                if index >= 0 and tick < spreads[index][1]:
                    return spreads[index][2]
                return None
        return None

    def has_spreads(self, epic: str) -> bool:
        """Whether a replayed bar of ``epic`` carries its own spread."""
        return any(seg.spreads for seg in self._segments.get(epic, ()))

    def spread_pieces(self, epic: str, s: int, e: int, default: int) -> list[tuple[int, int, int]]:
        """[s, e) cut into (start, end, spread units) pieces of one spread each, in time order.

        ``default`` (the instrument's spread) fills what no replayed bar's spread covers.
        """
        cuts: list[tuple[int, int, int]] = []
        for seg in self._segments.get(epic, ()):
            if not seg.spreads or not seg.covers(s, e):
                continue
            seg_end = e if seg.end is None else min(e, seg.end)
            spreads = seg.spreads
            first = max(0, bisect.bisect_right(spreads, s, key=lambda x: x[0]) - 1)
            for start, end, units in spreads[first:]:
                lo, hi = max(s, seg.start, start), min(seg_end, end)
                if lo >= seg_end:
                    break
                if lo < hi:
                    cuts.append((lo, hi, units))
        cuts.sort()
        pieces: list[tuple[int, int, int]] = []
        cursor = s
        for lo, hi, units in cuts:
            if cursor < lo:
                pieces.append((cursor, lo, default))
            if pieces and pieces[-1][2] == units and pieces[-1][1] == lo:
                pieces[-1] = (pieces[-1][0], hi, units)
            else:
                pieces.append((lo, hi, units))
            cursor = hi
        if cursor < e:
            if pieces and pieces[-1][2] == default and pieces[-1][1] == cursor:
                pieces[-1] = (pieces[-1][0], e, default)
            else:
                pieces.append((cursor, e, default))
        return pieces

    def pin(self, epic: str, t_ms: int, mid: int) -> None:
        """Hold mid at ``mid`` (units) from the tick containing ``t`` on."""
        start = t_ms - t_ms % self.tick_ms
        self._add_segment(epic, Segment(start, None, [start], [mid]))

    def set_path(self, epic: str, points: Sequence[tuple[int, int]]) -> None:
        """Follow (t, mid units) points linearly; pinned after the last one."""
        knots = sorted((t - t % self.tick_ms, v) for t, v in points)
        ts, vs = self._dedupe(knots)
        self._add_segment(epic, Segment(ts[0], None, ts, vs))

    def replay_bars(
        self,
        epic: str,
        bars: Sequence[tuple[int, int, int, int, int, int, int | None]],
        spreads: Sequence[int | None] | None = None,
    ) -> None:
        """Prices follow bars given as (start, duration, open, high, low, close, volume|None).

        Inside each bar the path goes open -> low -> high -> close (open -> high -> low -> close
        for a falling bar) on the tick grid, so the bar aggregates back exactly; the seeded
        process resumes after the last bar. ``spreads`` (one per bar, in the order of ``bars``;
        None: the instrument's) is the spread in units quoted while the bar is in force.
        """
        tick = self.tick_ms
        knots: list[tuple[int, int]] = []
        volumes: list[tuple[int, int, int]] = []
        by_start: list[tuple[int, int, int]] = []
        if spreads is not None:
            for (start, duration, *_), units in zip(bars, spreads, strict=True):
                if units is not None:
                    s0 = start - start % tick
                    by_start.append((s0, s0 + max(tick, duration - duration % tick), units))
            by_start.sort()
        for start, duration, o, h, low, c, volume in sorted(bars):
            last = start + max(tick, duration) - tick
            third = max(tick, (duration // 3) // tick * tick)
            first_extreme, second_extreme = (low, h) if c >= o else (h, low)
            knots.append((start, o))
            if last - start >= 3 * tick:
                knots.append((start + third, first_extreme))
                knots.append((min(last - tick, start + 2 * third), second_extreme))
            knots.append((last, c))
            if volume is not None:
                volumes.append((start, start + duration, volume))
        ts, vs = self._dedupe(knots)
        end = max(s + max(tick, d) for s, d, *_ in bars)
        bar_spreads: list[tuple[int, int, int]] = []
        for s0, e0, units in by_start:
            if bar_spreads and bar_spreads[-1][1] > s0:
                bar_spreads[-1] = (*bar_spreads[-1][:1], s0, bar_spreads[-1][2])
                if bar_spreads[-1][1] <= bar_spreads[-1][0]:
                    bar_spreads.pop()
            bar_spreads.append((s0, e0, units))
        self._add_segment(epic, Segment(ts[0], end, ts, vs, volumes, bar_spreads))

    def release(self, epic: str, t_ms: int) -> None:
        """Back to the seeded process from the tick containing ``t`` on."""
        start = t_ms - t_ms % self.tick_ms
        kept = []
        for seg in self._segments.get(epic, []):
            if seg.start >= start:
                continue
            if seg.end is None or seg.end > start:
                seg.end = start
            kept.append(seg)
        self._segments[epic] = kept

    def overridden(self, epic: str) -> bool:
        """Whether any override is set on ``epic``."""
        return bool(self._segments.get(epic))

    @staticmethod
    def _dedupe(knots: Sequence[tuple[int, int]]) -> tuple[list[int], list[int]]:
        ts: list[int] = []
        vs: list[int] = []
        for t, v in knots:
            if ts and t <= ts[-1]:
                ts[-1], vs[-1] = max(t, ts[-1]), v
                continue
            ts.append(t)
            vs.append(v)
        return ts, vs

    def _add_segment(self, epic: str, segment: Segment) -> None:
        kept = []
        for seg in self._segments.get(epic, []):
            if seg.start >= segment.start:
                continue  # replaced
            if seg.end is None or seg.end > segment.start:
                seg.end = segment.start
            kept.append(seg)
        kept.append(segment)
        self._segments[epic] = kept

    def within(self, epic: str, s: int, e: int) -> list[Segment]:
        """Segments of ``epic`` overlapping [s, e)."""
        segments = self._segments.get(epic)
        if not segments:
            return []
        return [seg for seg in segments if seg.covers(s, e)]
