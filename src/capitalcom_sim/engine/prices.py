"""Quotes and bars of every instrument: the seeded process with the control plane's overrides.

Mid prices are integers in units of the instrument's price grid (10^-decimals). The seeded
process (:mod:`~capitalcom_sim.engine.seeded`) is a bar tree whose children aggregate exactly to
their parent, so a bar at any resolution is one node found in O(depth), and equals the aggregate
of the ticks it contains without visiting them; closed hours hold no ticks, so weekends and
nights produce no bars. Overrides (:mod:`~capitalcom_sim.engine.overrides`: pinned prices,
paths, replayed bars) are piecewise-linear segments laid over it; bars touching them are
aggregated piecewise. :class:`PriceEngine` owns both, the path searches the triggers use
(:mod:`~capitalcom_sim.engine.pathsearch`) and the one lock around them.
"""

from __future__ import annotations

import bisect
import itertools
import threading
from collections.abc import Sequence

from capitalcom_sim.engine.instruments import MINUTE_MS, Instrument, InstrumentTable
from capitalcom_sim.engine.overrides import Overrides
from capitalcom_sim.engine.pathsearch import PathSearch
from capitalcom_sim.engine.pricetree import (
    DURATION_MS,
    LEVEL_DUR,
    LEVEL_NAMES,
    LEVEL_OF,
    Node,
    Segment,
    align,
    combine,
)
from capitalcom_sim.engine.seeded import SeededTree
from capitalcom_sim.engine.types import OHLC, Bar

__all__ = ["DURATION_MS", "LEVEL_NAMES", "PriceEngine", "align"]

# Price versions (see PriceEngine.version), unique across engines in this process: a cache keyed
# by one never confuses two engines, nor an epic before and after a change of its overrides.
_VERSIONS = itertools.count(1)


class PriceEngine:
    """Quotes and bars of every instrument; thread-safe; bounded caches only.

    Args:
        instruments: the instrument table.
        seed: the market seed (same seed -> same prices).
        tick_ms: the quote grid; must divide 60000 with at least 4 ticks per minute.
    """

    def __init__(
        self,
        instruments: InstrumentTable,
        *,
        seed: int = 42,
        tick_ms: int = 1000,
        cache_size: int = 20_000,
        tick_cache_size: int = 4_096,
    ) -> None:
        if tick_ms <= 0 or MINUTE_MS % tick_ms or MINUTE_MS // tick_ms < 4:
            raise ValueError("tick_ms must divide 60000 and be at most 15000")
        self.instruments = instruments
        self.seed = seed
        self.tick_ms = tick_ms
        self._lock = threading.RLock()
        self._tree = SeededTree(
            instruments,
            seed=seed,
            tick_ms=tick_ms,
            cache_size=cache_size,
            tick_cache_size=tick_cache_size,
        )
        self._overrides = Overrides(tick_ms)
        self._search = PathSearch(instruments, self._tree, self._overrides)
        # Closed bars of overridden epics, aggregated once (a backtest's bot reads the same
        # closed bars at every step): (level, start) -> mid node, per epic; dropped whenever the
        # epic's overrides change. Mid units only, so a change of spread needs no invalidation.
        self._closed: dict[str, dict[tuple[int, int], Node | None]] = {}
        self._closed_limit = 100_000
        self._base_version = next(_VERSIONS)
        self._versions: dict[str, int] = {}

    def quote(self, epic: str, t_ms: int) -> tuple[float, float]:
        """(bid, offer) at time ``t`` (the last open tick's price while the market is closed)."""
        inst = self.instruments.require(epic)
        with self._lock:
            mid = self.mid_units(epic, t_ms)
            spread = self.spread_units(epic, t_ms)
        bid = mid - spread // 2
        return self.to_price(inst, bid), self.to_price(inst, bid + spread)

    def spread_units(self, epic: str, t_ms: int) -> int:
        """The spread (offer - bid, price units) quoted at ``t``: the one owner of that fact.

        The spread of the replayed bar in force at the tick containing ``t`` (or the last open
        one before, as :meth:`mid_units`) when that bar carries one, else the instrument's.
        """
        inst = self.instruments.require(epic)
        with self._lock:
            if not self._overrides.has_spreads(epic):
                return inst.spread_units
            end = inst.opening_hours.last_open_before(t_ms)
            if end is None:
                return inst.spread_units
            tick = ((end - 1) // self.tick_ms) * self.tick_ms
            found = self._overrides.spread_at(epic, tick)
        return inst.spread_units if found is None else found

    def spread_pieces(self, epic: str, start_ms: int, end_ms: int) -> list[tuple[int, int, int]]:
        """[start, end) cut into (start, end, spread units) pieces of one spread each.

        What the triggers search piece by piece (a level on the bid or offer is a different mid
        threshold under each spread); one piece when the spread does not change.
        """
        inst = self.instruments.require(epic)
        with self._lock:
            if not self._overrides.has_spreads(epic):
                return [(start_ms, end_ms, inst.spread_units)]
            return self._overrides.spread_pieces(epic, start_ms, end_ms, inst.spread_units)

    def has_spreads(self, epic: str) -> bool:
        """Whether a replayed bar of ``epic`` carries its own spread (else every quote of it has
        the instrument's)."""
        with self._lock:
            return self._overrides.has_spreads(epic)

    def bar_spread(
        self, epic: str, resolution: str, start_ms: int, now_ms: int | None = None
    ) -> int:
        """The spread (units) of the bar of ``resolution`` starting at ``start``: that of its
        close (the last tick before its end, or ``now_ms`` for the bar in progress)."""
        end = start_ms + LEVEL_DUR[LEVEL_OF[resolution]]
        return self.spread_units(epic, now_ms if now_ms is not None and end > now_ms else end - 1)

    def bar_spreads(
        self,
        epic: str,
        resolution: str,
        starts: Sequence[int],
        now_ms: int | None = None,
    ) -> list[int] | None:
        """:meth:`bar_spread` of each bar starting at ``starts``, or None when the instrument's
        spread applies to every bar of ``epic`` (no replayed bar carries one)."""
        with self._lock:
            if not self._overrides.has_spreads(epic):
                return None
            return [self.bar_spread(epic, resolution, start, now_ms) for start in starts]

    def mid_units(self, epic: str, t_ms: int) -> int:
        """Mid price (price units) of the tick containing ``t`` or the last open one before."""
        inst = self.instruments.require(epic)
        with self._lock:
            end = inst.opening_hours.last_open_before(t_ms)
            if end is None:
                return round(inst.base_price * inst.scale)
            tick = ((end - 1) // self.tick_ms) * self.tick_ms
            return self._tick_value(inst, tick)

    def to_price(self, inst: Instrument, units: int) -> float:
        return round(units / inst.scale, inst.decimals)

    def to_units(self, inst: Instrument, price: float) -> int:
        return round(price * inst.scale)

    def bars(
        self,
        epic: str,
        resolution: str,
        start_ms: int,
        end_ms: int,
        now_ms: int | None = None,
        limit: int | None = None,
    ) -> list[Bar]:
        """Bars whose start lies in [start, end], ascending; closed bars are absent.

        With ``now_ms`` bars starting after it are left out and the bar containing it holds only
        the ticks up to it (the bar in progress). ``limit`` keeps the first n (the newest when
        negative).
        """
        inst = self.instruments.require(epic)
        with self._lock:
            nodes = self.bar_nodes(epic, resolution, start_ms, end_ms, now_ms, limit)
            spreads = self.bar_spreads(epic, resolution, [start for start, _ in nodes], now_ms)
        if spreads is None:
            return [self._to_bar(inst, start, node) for start, node in nodes]
        return [
            self._to_bar(inst, start, node, spread)
            for (start, node), spread in zip(nodes, spreads, strict=True)
        ]

    def bar_nodes(
        self,
        epic: str,
        resolution: str,
        start_ms: int,
        end_ms: int,
        now_ms: int | None = None,
        limit: int | None = None,
    ) -> list[tuple[int, Node]]:
        """What :meth:`bars` returns, as (bar start, mid node in price units) pairs.

        The cheap form for the wire (GET /prices): no per-bar objects. Only the last pair can be
        the bar in progress (the one whose end lies after ``now_ms``).
        """
        inst = self.instruments.require(epic)
        level = LEVEL_OF[resolution]
        duration = LEVEL_DUR[level]
        if now_ms is not None:
            end_ms = min(end_ms, now_ms)
        first = align(resolution, start_ms)
        if first < start_ms:
            first += duration
        last = align(resolution, end_ms)
        if last < first:
            return []
        out: list[tuple[int, Node]] = []
        wanted = abs(limit) if limit is not None else None
        tree = self._tree
        parent_level = level - 1
        parent_dur = LEVEL_DUR[parent_level] if level > 1 else 0
        with self._lock:
            starts: range = range(first, last + duration, duration)
            reverse = limit is not None and limit < 0
            if reverse:
                starts = starts[::-1]
            overridden = self._overrides.overridden(inst.epic)
            siblings: tuple[Node | None, ...] = ()
            siblings_start = None
            for start in starts:
                if overridden or (now_ms is not None and start + duration > now_ms):
                    node = self._bar_node(inst, level, start, now_ms)
                elif level == 0:
                    node = tree.node(inst, 0, start)
                else:
                    # A closed bar of the seeded process: a child of its parent's split, which
                    # the bars next to it share (what SeededTree.node finds, one lookup a parent).
                    parent = (
                        start - start % parent_dur if parent_dur else tree.align_level(0, start)
                    )
                    if parent != siblings_start:
                        siblings = tree.children(inst, parent_level, parent)
                        siblings_start = parent
                    node = siblings[(start - parent) // duration]
                if node is not None:
                    out.append((start, node))
                    if wanted is not None and len(out) >= wanted:
                        break
        if reverse:
            out.reverse()
        return out

    def version(self, epic: str) -> int:
        """A number that changes whenever the closed bars of ``epic`` may have changed.

        Unique in the process (two engines never share one): closed bars are a function of
        (version, instrument spread and decimals), replayed bars' own spreads included (they
        come and go with an override), so a cache of them keyed by it needs no other
        invalidation. Changes with every override of the epic (pin, path, replay, release).
        """
        return self._versions.get(epic, self._base_version)

    def aggregate(self, epic: str, start_ms: int, end_ms: int) -> Bar | None:
        """The aggregate of the ticks in [start, end) (None when the market had none)."""
        inst = self.instruments.require(epic)
        with self._lock:
            node = self._aggregate(inst, start_ms, end_ms)
            spread = self.spread_units(epic, end_ms - 1)
        return None if node is None else self._to_bar(inst, start_ms, node, spread)

    # ---- path searches (the triggers') --------------------------------------------------------
    def first_cross(
        self, epic: str, start_ms: int, end_ms: int, below: int | None, above: int | None
    ) -> tuple[int, int] | None:
        """First open tick t in [start, end) with mid <= below or mid >= above: (t, mid)."""
        with self._lock:
            return self._search.first_cross(epic, start_ms, end_ms, below, above)

    def trailing_cross(
        self, epic: str, start_ms: int, end_ms: int, stop: int, distance: int, sign: int
    ) -> tuple[tuple[int, int] | None, int]:
        """Trailing stop walk over [start, end) in mid units (see :class:`PathSearch`)."""
        with self._lock:
            return self._search.trailing_cross(epic, start_ms, end_ms, stop, distance, sign)

    # ---- overrides ---------------------------------------------------------------------------
    def pin(self, epic: str, t_ms: int, mid: int) -> None:
        """Hold mid at ``mid`` (units) from the tick containing ``t`` on."""
        with self._lock:
            self._closed.pop(epic, None)
            self._versions[epic] = next(_VERSIONS)
            self._overrides.pin(epic, t_ms, mid)

    def set_path(self, epic: str, points: Sequence[tuple[int, int]]) -> None:
        """Follow (t, mid units) points linearly; pinned after the last one."""
        with self._lock:
            self._closed.pop(epic, None)
            self._versions[epic] = next(_VERSIONS)
            self._overrides.set_path(epic, points)

    def replay_bars(
        self,
        epic: str,
        bars: Sequence[tuple[int, int, int, int, int, int, int | None]],
        spreads: Sequence[int | None] | None = None,
    ) -> None:
        """Prices follow bars given as (start, duration, open, high, low, close, volume|None).

        ``spreads``: one per bar (units, None: the instrument's), quoted while the bar is in
        force (see :meth:`spread_units`).
        """
        with self._lock:
            self._closed.pop(epic, None)
            self._versions[epic] = next(_VERSIONS)
            self._overrides.replay_bars(epic, bars, spreads)

    def release(self, epic: str, t_ms: int) -> None:
        """Back to the seeded process from the tick containing ``t`` on."""
        with self._lock:
            self._closed.pop(epic, None)
            self._versions[epic] = next(_VERSIONS)
            self._overrides.release(epic, t_ms)

    def overridden(self, epic: str) -> bool:
        """Whether a control-plane override is set on ``epic``."""
        return self._overrides.overridden(epic)

    # ---- internals ---------------------------------------------------------------------------
    def _bar_node(
        self, inst: Instrument, level: int, start: int, now_ms: int | None
    ) -> Node | None:
        end = start + LEVEL_DUR[level]
        if now_ms is not None and end > now_ms:
            tick_end = now_ms - now_ms % self.tick_ms + self.tick_ms
            return self._aggregate(inst, start, min(end, tick_end))
        if self._overrides.overridden(inst.epic) and self._overrides.within(inst.epic, start, end):
            closed = self._closed.setdefault(inst.epic, {})
            key = (level, start)
            if key in closed:
                return closed[key]
            node = self._aggregate(inst, start, end)
            if len(closed) >= self._closed_limit:
                closed.clear()
            closed[key] = node
            return node
        return self._tree.node(inst, level, start)

    def _tick_value(self, inst: Instrument, tick: int) -> int:
        overridden = self._overrides.value_at(inst.epic, tick)
        if overridden is not None:
            return overridden
        minute = tick - tick % MINUTE_MS
        ticks = self._tree.tick_prices(inst, minute)
        if not ticks:  # closed: should not happen for an open tick
            return round(inst.base_price * inst.scale)
        return ticks[(tick - minute) // self.tick_ms]

    def _aggregate(self, inst: Instrument, s: int, e: int) -> Node | None:
        """Aggregate of the open ticks in [s, e), overrides included."""
        segments = (
            self._overrides.within(inst.epic, s, e) if self._overrides.overridden(inst.epic) else []
        )
        if not segments:
            return self._tree.aggregate(inst, s, e)
        parts: list[Node] = []
        cursor = s
        for seg in sorted(segments, key=lambda x: x.start):
            seg_s = max(s, seg.start)
            seg_e = e if seg.end is None else min(e, seg.end)
            if cursor < seg_s:
                part = self._tree.aggregate(inst, cursor, seg_s)
                if part is not None:
                    parts.append(part)
            part = self._segment_aggregate(inst, seg, seg_s, seg_e)
            if part is not None:
                parts.append(part)
            cursor = max(cursor, seg_e)
        if cursor < e:
            part = self._tree.aggregate(inst, cursor, e)
            if part is not None:
                parts.append(part)
        return combine(parts)

    def _segment_aggregate(self, inst: Instrument, seg: Segment, s: int, e: int) -> Node | None:
        tick = self.tick_ms
        parts: list[Node] = []
        for open_s, open_e in inst.opening_hours.open_intervals(s, e):
            first = open_s + (-open_s) % tick
            last = ((open_e - 1) // tick) * tick
            if last < first:
                continue
            knots = seg.knots_t
            inner = knots[bisect.bisect_right(knots, first) : bisect.bisect_left(knots, last)]
            values = [seg.value(t) for t in (first, last, *inner)]
            volume = self._segment_volume(seg, first, last + tick)
            if volume is None:
                seeded = self._tree.aggregate(inst, first, last + tick)
                volume = seeded[4] if seeded is not None else 0
            parts.append((values[0], max(values), min(values), values[1], volume))
        return combine(parts)

    @staticmethod
    def _segment_volume(seg: Segment, s: int, e: int) -> int | None:
        if not seg.volumes:
            return None
        total = 0.0
        # The volumes are the bars' spans, in time order and disjoint: start at the first that
        # ends after s (a replay of many bars is read a bar at a time).
        volumes = seg.volumes
        for index in range(bisect.bisect_right(volumes, s, key=lambda v: v[1]), len(volumes)):
            vs, ve, vol = volumes[index]
            if vs >= e:
                break
            overlap = min(e, ve) - max(s, vs)
            if overlap > 0:
                total += vol * overlap / (ve - vs)
        return round(total)

    def _to_bar(self, inst: Instrument, start: int, node: Node, spread: int | None = None) -> Bar:
        o, h, low, c, v = node
        if spread is None:
            spread = inst.spread_units
        half = spread // 2
        scale = inst.scale
        d = inst.decimals
        bid = OHLC(
            round((o - half) / scale, d),
            round((h - half) / scale, d),
            round((low - half) / scale, d),
            round((c - half) / scale, d),
        )
        ask = OHLC(
            round((o - half + spread) / scale, d),
            round((h - half + spread) / scale, d),
            round((low - half + spread) / scale, d),
            round((c - half + spread) / scale, d),
        )
        return Bar(start, bid, ask, v)
