"""The seeded price process: a deterministic bar tree, a function of (seed, epic, time).

A WEEK bar's open/close come from a smooth multi-octave noise P(t); every bar is then split into
its children (WEEK -> DAY -> HOUR_4 -> HOUR -> MINUTE_30 -> MINUTE_15 -> MINUTE_5 -> MINUTE ->
ticks) so that the children aggregate *exactly* to the parent: the first open child opens at the
parent's open, the last one closes at its close, one child reaches the parent's high and one its
low, volumes add up. Closed hours hold no ticks. Nodes are (open, high, low, close, volume) in
integer price units. Not thread-safe by itself: :class:`PriceEngine` locks around it.
"""

from __future__ import annotations

import itertools
import math
import random
import zlib
from collections import OrderedDict
from collections.abc import Callable, Sequence

from capitalcom_sim.engine.instruments import (
    _MONDAY_EPOCH_MS,
    MINUTE_MS,
    WEEK_MS,
    Instrument,
    InstrumentTable,
)
from capitalcom_sim.engine.pricetree import LEAF, LEVEL_DUR, M64, Node, combine, mix

_OCTAVES = 6  # value-noise octaves of the long-range level: periods of 1 to 32 weeks
_AMPLITUDE = [0.6 * math.sqrt(1 << octave) for octave in range(_OCTAVES)]
_BRIDGE_RANGE = 1.25  # expected range of a Brownian bridge, in units of its total deviation
_TWOPI = 2.0 * math.pi  # random.Random.gauss's constant
_sqrt, _log, _cos, _sin = math.sqrt, math.log, math.cos, math.sin
_ALL_OPEN = {n: tuple(range(n)) for n in range(1, 64)}


class SeededTree:
    """Bars of the seeded process at every level, found from cached ancestors (bounded caches).

    Args:
        instruments: the instrument table.
        seed: the market seed (same seed -> same prices).
        tick_ms: the quote grid (divides a minute into 4 or more ticks).
    """

    def __init__(
        self,
        instruments: InstrumentTable,
        *,
        seed: int,
        tick_ms: int,
        cache_size: int = 20_000,
        tick_cache_size: int = 4_096,
    ) -> None:
        self.instruments = instruments
        self.seed = seed
        self.tick_ms = tick_ms
        self._ticks_per_minute = MINUTE_MS // tick_ms
        self._cache: OrderedDict[tuple[str, int, int], tuple[Node | None, ...]] = OrderedDict()
        self._cache_size = cache_size
        self._ticks: OrderedDict[tuple[str, int], tuple[int, ...]] = OrderedDict()
        self._tick_cache_size = tick_cache_size
        self._rng = random.Random()
        self._epic_keys = {i.epic: zlib.crc32(i.epic.encode()) for i in instruments}
        self._lattice_cache: dict[tuple[int, int], float] = {}
        self._day_ms: dict[str, int] = {}  # a trading day's length per instrument (see _step)
        self._layouts: dict[tuple[str, int, int], tuple[tuple[int, ...], tuple[int, ...]]] = {}
        self._root_cache: dict[str, Callable[[int], float]] = {}

    def node(self, inst: Instrument, level: int, start: int) -> Node | None:
        if level == 0:
            return self._week(inst, start)
        parent_level = level - 1
        parent_start = self.align_level(parent_level, start)
        children = self.children(inst, parent_level, parent_start)
        return children[(start - parent_start) // LEVEL_DUR[level]]

    @staticmethod
    def align_level(level: int, t: int) -> int:
        if level == 0:
            return t - (t - _MONDAY_EPOCH_MS) % WEEK_MS
        return t - t % LEVEL_DUR[level]

    def _key(self, inst: Instrument, level: int, start: int) -> int:
        return mix((self.seed * 1_000_003 + self._epic_keys[inst.epic]) * 31 + level + (start << 8))

    def children(self, inst: Instrument, level: int, start: int) -> tuple[Node | None, ...]:
        """Children of a node above MINUTE, cached."""
        key = (inst.epic, level, start)
        cached = self._cache.get(key)
        if cached is not None:
            self._cache.move_to_end(key)
            return cached
        result = self._split(inst, level, start, self.node(inst, level, start))
        self._cache[key] = result
        if len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return result

    def tick_prices(self, inst: Instrument, start: int) -> tuple[int, ...]:
        """Mid of every tick of the MINUTE bar at ``start`` (empty when closed), cached."""
        key = (inst.epic, start)
        cached = self._ticks.get(key)
        if cached is not None:
            self._ticks.move_to_end(key)
            return cached
        result = self._split_ticks(inst, start, self.node(inst, LEAF, start))
        self._ticks[key] = result
        if len(self._ticks) > self._tick_cache_size:
            self._ticks.popitem(last=False)
        return result

    def tick_volume(self, minute: Node, first: int, stop: int) -> int:
        """Volume of ticks [first, stop) of a minute: spread evenly, remainder to the first."""
        n = self._ticks_per_minute
        base, rest = divmod(minute[4], n)
        return (stop - first) * base + max(0, min(stop, rest) - first)

    def _split(
        self, inst: Instrument, level: int, start: int, parent: Node | None
    ) -> tuple[Node | None, ...]:
        """The children of a node: the walk of :meth:`_path`, then wicks and volumes.

        The hot loop of every cold bar: written out flat (the open children and their spans
        looked up once per week offset, the Gaussian draws inlined as :meth:`random.Random.gauss`
        makes them, from the same generator in the same order), with the same results as
        :meth:`_steps`, :meth:`_path` and :func:`_split_int` called one after the other.
        """
        child_dur = LEVEL_DUR[level + 1]
        count = LEVEL_DUR[level] // child_dur
        if parent is None:
            return (None,) * count
        open_idx, spans = self._layout(inst, level, start, child_dur, count)
        m = len(open_idx)
        if m == 1:
            out: list[Node | None] = [None] * count
            out[open_idx[0]] = parent
            return tuple(out)
        if m == 0:  # a parent with ticks has an open child; kept for completeness
            return (None,) * count
        o, h, low, c, v = parent
        rng = self._rng
        rng.seed(self._key(inst, level, start))
        random_ = rng.random
        # _steps
        twice_mid_part = (h + low) * 0.5 * inst.daily_volatility
        roots = self._roots(inst)
        steps = [twice_mid_part * roots(span) for span in spans]
        total = math.sqrt(sum(step * step for step in steps)) or 1.0
        fit = max(0.5, (h - low) / (_BRIDGE_RANGE * total))
        if fit < 1.0:
            steps = [step * fit for step in steps]
        # _path, with random.Random.gauss inlined (its pending second value in ``pending``)
        pending: float | None = None
        walk = [0.0]
        variance = [0.0]
        w = var = 0.0
        for step in steps:
            if pending is None:
                x2pi = random_() * _TWOPI
                g2rad = _sqrt(-2.0 * _log(1.0 - random_()))
                z = _cos(x2pi) * g2rad
                pending = _sin(x2pi) * g2rad
            else:
                z, pending = pending, None
            w = w + step * (0.0 + z * 1.0)
            var = var + step * step
            walk.append(w)
            variance.append(var)
        points, wick_high, wick_low = _pin_and_fold(rng, o, c, h, low, walk, variance)
        volumes = _split_int(v, [span_ms * (0.5 + random_()) for span_ms in spans])
        out = [None] * count
        for j, i in enumerate(open_idx):
            co, cc = points[j], points[j + 1]
            step = steps[j]
            if pending is None:
                x2pi = random_() * _TWOPI
                g2rad = _sqrt(-2.0 * _log(1.0 - random_()))
                z = _cos(x2pi) * g2rad
                pending = _sin(x2pi) * g2rad
            else:
                z, pending = pending, None
            up = round(step * (0.2 + 0.3 * abs(0.0 + z * 1.0)))
            if pending is None:
                x2pi = random_() * _TWOPI
                g2rad = _sqrt(-2.0 * _log(1.0 - random_()))
                z = _cos(x2pi) * g2rad
                pending = _sin(x2pi) * g2rad
            else:
                z, pending = pending, None
            down = round(step * (0.2 + 0.3 * abs(0.0 + z * 1.0)))
            ch = h if j == wick_high else min(h, (co if co > cc else cc) + up)
            cl = low if j == wick_low else max(low, (cc if co > cc else co) - down)
            out[i] = (co, ch, cl, cc, volumes[j])
        rng.gauss_next = pending  # type: ignore[attr-defined]  # as random.Random.gauss leaves it
        return tuple(out)

    def _layout(
        self, inst: Instrument, level: int, start: int, child_dur: int, count: int
    ) -> tuple[tuple[int, ...], tuple[int, ...]]:
        """The open children of a node (indices) and their open milliseconds, cached per
        opening-hours table and offset in the week (they repeat every week)."""
        hours = inst.opening_hours
        if hours.always:
            return _ALL_OPEN[count], (child_dur,) * count
        key = (inst.hours_key, level, (start - _MONDAY_EPOCH_MS) % WEEK_MS)
        layout = self._layouts.get(key)
        if layout is None:
            open_idx = tuple(
                i
                for i in range(count)
                if hours.any_open(start + i * child_dur, start + (i + 1) * child_dur)
            )
            spans = tuple(
                hours.open_ms(start + i * child_dur, start + (i + 1) * child_dur) for i in open_idx
            )
            if len(self._layouts) >= 200_000:
                self._layouts.clear()
            layout = self._layouts[key] = (open_idx, spans)
        return layout

    def _roots(self, inst: Instrument) -> Callable[[int], float]:
        """span -> math.sqrt(span / trading day) of ``inst`` (the span part of :meth:`_step`)."""
        roots = self._root_cache.get(inst.epic)
        if roots is None:
            self._step(inst, 0, MINUTE_MS)  # fills the trading day
            day_ms = self._day_ms[inst.epic]
            cache: dict[int, float] = {}

            def root(span: int) -> float:
                value = cache.get(span)
                if value is None:
                    value = cache[span] = math.sqrt(span / day_ms)
                return value

            roots = self._root_cache[inst.epic] = root
        return roots

    def _steps(self, inst: Instrument, parent: Node, spans: Sequence[int]) -> list[float]:
        """Per-child steps: the instrument's volatility over each span, but never more than the
        parent's range can hold (a walk wider than [low, high] keeps hitting it: flat tops)."""
        _, h, low, _, _ = parent
        steps = [self._step(inst, h + low, span) for span in spans]
        total = math.sqrt(sum(step * step for step in steps)) or 1.0
        fit = max(0.5, (h - low) / (_BRIDGE_RANGE * total))
        if fit < 1.0:
            steps = [step * fit for step in steps]
        return steps

    def _step(self, inst: Instrument, twice_mid: int, span_ms: int) -> float:
        """The typical move (price units) over ``span_ms`` of trading: daily volatility x sqrt(t).

        A trading day is a fifth of the instrument's open time per week, so shares (6.5 h a day)
        move as much in their session as FX does in 24 h.
        """
        day_ms = self._day_ms.get(inst.epic)
        if day_ms is None:
            hours = inst.opening_hours
            week_open = hours.open_ms(_MONDAY_EPOCH_MS, _MONDAY_EPOCH_MS + WEEK_MS)
            day_ms = self._day_ms[inst.epic] = max(MINUTE_MS, week_open // 5)
        return twice_mid * 0.5 * inst.daily_volatility * math.sqrt(span_ms / day_ms)

    @staticmethod
    def _path(
        rng: random.Random, o: int, c: int, h: int, low: int, steps: Sequence[float]
    ) -> tuple[list[int], int, int]:
        """len(steps)+1 points from o to c inside [low, h], through h and low where possible.

        A random walk with the given per-child steps is drawn once. The parent's high and low
        are pinned where that walk peaks and bottoms (interior points), so the children that
        reach them do so with their open or close: no child has a lone wick to an extreme its
        neighbours never approach. Between the pins the walk is bent into a bridge (o -> high
        -> low -> c, in time order) and folded back into [low, h] where it overshoots
        (reflected, not clipped: clipping makes flat runs at the bounds). Returns the points
        and, when an extreme could not be pinned (too few children), the child that takes it
        as a wick (else -1).
        """
        walk = [0.0]
        variance = [0.0]
        for step in steps:
            walk.append(walk[-1] + step * rng.gauss(0.0, 1.0))
            variance.append(variance[-1] + step * step)
        return _pin_and_fold(rng, o, c, h, low, walk, variance)

    def _split_ticks(self, inst: Instrument, start: int, parent: Node | None) -> tuple[int, ...]:
        n = self._ticks_per_minute
        if parent is None:
            return ()
        o, h, low, c, _ = parent
        rng = self._rng
        rng.seed(self._key(inst, LEAF, start))
        # n ticks are n-1 moves; with 4+ ticks a minute both extremes fit on interior ticks.
        points, _, _ = self._path(
            rng, o, c, h, low, self._steps(inst, parent, [self.tick_ms] * (n - 1))
        )
        return tuple(points)

    def _week(self, inst: Instrument, start: int) -> Node | None:
        key = (inst.epic, -1, start)
        cached = self._cache.get(key)
        if cached is not None:
            return cached[0]
        hours = inst.opening_hours
        end = start + WEEK_MS
        first = hours.next_open_after(start)
        last_end = hours.last_open_before(end - 1)
        node: Node | None = None
        if first is not None and first < end and last_end is not None and last_end > start:
            last = ((last_end - 1) // self.tick_ms) * self.tick_ms
            o = self._level_units(inst, first)
            c = self._level_units(inst, last)
            rng = self._rng
            rng.seed(self._key(inst, 0, start))
            week_range = (o + c) / 2 * inst.daily_volatility * math.sqrt(5)
            h = max(o, c) + int(week_range * (0.15 + 0.5 * abs(rng.gauss(0, 1))))
            low = min(o, c) - int(week_range * (0.15 + 0.5 * abs(rng.gauss(0, 1))))
            low = max(1, low)
            minutes = hours.open_ms(start, end) // MINUTE_MS
            volume = int(inst.base_volume * minutes * (0.7 + 0.6 * rng.random()))
            node = (o, h, low, c, volume)
        self._cache[key] = (node,)
        return node

    def _level_units(self, inst: Instrument, t: int) -> int:
        """The smooth long-range level P(t) in price units (multi-octave value noise)."""
        weekly = inst.daily_volatility * math.sqrt(5)
        x = 0.0
        base_key = (self.seed * 1_000_003 + self._epic_keys[inst.epic]) * 64
        cache = self._lattice_cache
        if len(cache) > 200_000:
            cache.clear()
        since = t - _MONDAY_EPOCH_MS
        for octave in range(_OCTAVES):
            pos = since / (WEEK_MS << octave)
            i0 = math.floor(pos)
            frac = pos - i0
            key = base_key + octave
            g0 = cache.get((key, i0))
            if g0 is None:
                g0 = cache[(key, i0)] = _unit_noise(key, i0)
            g1 = cache.get((key, i0 + 1))
            if g1 is None:
                g1 = cache[(key, i0 + 1)] = _unit_noise(key, i0 + 1)
            x += _AMPLITUDE[octave] * (g0 + (g1 - g0) * frac * frac * (3 - 2 * frac))
        return max(1, round(inst.base_price * math.exp(weekly * x) * inst.scale))

    def aggregate(self, inst: Instrument, s: int, e: int) -> Node | None:
        parts: list[Node] = []
        week = self.align_level(0, s)
        while week < e:
            self._collect(inst, 0, week, s, e, parts)
            week += WEEK_MS
        return combine(parts)

    def _collect(
        self, inst: Instrument, level: int, start: int, s: int, e: int, parts: list[Node]
    ) -> None:
        end = start + LEVEL_DUR[level]
        if end <= s or start >= e:
            return
        if s <= start and end <= e:
            node = self.node(inst, level, start)
            if node is not None:
                parts.append(node)
            return
        if level == LEAF:
            minute = self.node(inst, level, start)
            if minute is None:
                return
            ticks = self.tick_prices(inst, start)
            tick = self.tick_ms
            first = max(0, -((start - s) // tick))
            stop = min(len(ticks), -((start - e) // tick))
            if first < stop:
                run = ticks[first:stop]
                volume = self.tick_volume(minute, first, stop)
                parts.append((run[0], max(run), min(run), run[-1], volume))
            return
        children = self.children(inst, level, start)
        child_dur = LEVEL_DUR[level + 1]
        for i, node in enumerate(children):
            if node is not None:
                self._collect(inst, level + 1, start + i * child_dur, s, e, parts)


def _pin_and_fold(
    rng: random.Random,
    o: int,
    c: int,
    h: int,
    low: int,
    walk: Sequence[float],
    variance: Sequence[float],
) -> tuple[list[int], int, int]:
    """The points of :meth:`SeededTree._path` from its drawn walk (and its running variance):
    the extremes pinned where the walk peaks and bottoms, the walk bent between the pins and
    folded back into [low, h]; the wick children of extremes that could not be pinned."""
    m = len(walk) - 1
    total = variance[m] or 1.0
    bridge = [
        walk[k] - walk[m] * variance[k] / total + (c - o) * variance[k] / total
        for k in range(m + 1)
    ]
    # Interior points from highest to lowest on the walk: the high goes to the first, the
    # low to the last one the high did not take.
    ranked = sorted(range(1, m), key=bridge.__getitem__, reverse=True)
    pins: dict[int, int] = {0: o, m: c}
    wick_high = wick_low = -1
    if h not in (o, c):
        if ranked:
            pins[ranked.pop(0)] = h
        else:
            wick_high = rng.randrange(m)
    if low not in (o, c):
        if ranked:
            pins[ranked.pop()] = low
        else:
            wick_low = rng.randrange(m)
    points = [o] * (m + 1)
    span = h - low
    for (k0, v0), (k1, v1) in itertools.pairwise(sorted(pins.items())):
        points[k1] = v1
        w0, w1 = walk[k0], walk[k1]
        v_span = (variance[k1] - variance[k0]) or 1.0
        for k in range(k0 + 1, k1):
            frac = (variance[k] - variance[k0]) / v_span
            x = round(v0 + (v1 - v0) * frac + (walk[k] - w0) - (w1 - w0) * frac)
            if span > 0 and not low <= x <= h:
                y = (x - low) % (2 * span)
                x = low + (y if y <= span else 2 * span - y)
            points[k] = min(h, max(low, x))
    return points, wick_high, wick_low


def _unit_noise(key: int, index: int) -> float:
    """A deterministic value in [-1, 1) for a lattice point (triangular-ish distribution)."""
    x = mix(mix(key & M64) ^ (index & M64))
    a = (x & 0xFFFFFFFF) / 2**32
    b = (x >> 32) / 2**32
    return a + b - 1.0


def _split_int(total: int, weights: Sequence[float]) -> list[int]:
    """Split an integer total by weights (largest remainder), deterministic."""
    weight_sum = sum(weights)
    if weight_sum <= 0:
        out = [0] * len(weights)
        if out:
            out[0] = total
        return out
    raw = [total * w / weight_sum for w in weights]
    out = [int(r) for r in raw]
    rest = total - sum(out)
    order = sorted(range(len(raw)), key=lambda i: raw[i] - out[i], reverse=True)
    for i in order[:rest]:
        out[i] += 1
    return out
