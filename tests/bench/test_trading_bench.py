"""Smoke run of the safety-layer benchmark: it runs end to end and reports a finite figure."""

from __future__ import annotations

import math

from bench import trading


def test_safety_layer_bench_reports_the_added_cost_per_write() -> None:
    section = trading.run(writes=20, rounds=1)

    assert section.error is None
    (figure,) = section.figures
    assert figure.unit == "ms"
    assert figure.ours is not None
    assert math.isfinite(figure.ours)
    assert figure.target == "< 2 ms"
