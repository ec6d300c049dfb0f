"""Half-open ranges of milliseconds ``[start, end)``: union and difference, nothing else."""

from __future__ import annotations

from collections.abc import Iterable

Span = tuple[int, int]


def union(spans: Iterable[Span]) -> list[Span]:
    """Sorted, disjoint spans covering the same instants (touching spans merged)."""
    merged: list[Span] = []
    for start, end in sorted(s for s in spans if s[0] < s[1]):
        if merged and start <= merged[-1][1]:
            if end > merged[-1][1]:
                merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged


def subtract(wanted: Span, covered: Iterable[Span]) -> list[Span]:
    """The parts of ``wanted`` that no span of ``covered`` contains, in order."""
    start, end = wanted
    gaps: list[Span] = []
    cursor = start
    for first, last in union(covered):
        if last <= cursor:
            continue
        if first >= end:
            break
        if first > cursor:
            gaps.append((cursor, first))
        cursor = max(cursor, last)
        if cursor >= end:
            break
    if cursor < end:
        gaps.append((cursor, end))
    return gaps


def clip(spans: Iterable[Span], bounds: Span) -> list[Span]:
    """The spans cut to ``bounds`` (empty pieces dropped)."""
    low, high = bounds
    return [(max(a, low), min(b, high)) for a, b in spans if max(a, low) < min(b, high)]
