"""``make bench``: runs every benchmark in bench/ and writes bench/RESULTS.md.

``python -m bench [--quick] [--only NAME,...] [--output PATH]``. Benchmarks never gate CI: the
exit status is 0 whether targets are met or not (1 only if the runner itself breaks); the
results file says which targets were missed.
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import json
import os
import sys
import time
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench._common import ROOT, Figure, Section, machine_info


@dataclass(frozen=True)
class Bench:
    """One benchmark: where its ``run()`` lives, who owns it, its full and tiny sizes."""

    name: str
    title: str
    module: str
    owner: str
    full: Mapping[str, Any]
    quick: Mapping[str, Any]


BENCHES = [
    Bench(
        "overhead",
        "1. Request overhead",
        "bench.overhead",
        "BENCH",
        {},
        {"calls": 40, "rounds": 2, "warmup": 5, "baselines": False},
    ),
    Bench("rate", "2. Rate saturation", "bench.rate", "BENCH", {}, {"requests": 12}),
    Bench("backfill", "3. History backfill", "bench.backfill", "BENCH", {}, {"days": 0.5}),
    Bench(
        "stream_parse",
        "4a. Streaming: parse and dispatch",
        "bench.stream_parse",
        "STREAMING",
        {},
        {"frames": 5000, "rounds": 1},
    ),
    Bench(
        "stream_latency",
        "4b. Streaming: end-to-end latency",
        "bench.stream_latency",
        "STREAMING",
        {},
        {"seconds": 1.0},
    ),
    Bench(
        "sim_throughput",
        "5. Simulator capacity",
        "bench.sim_throughput",
        "SIM-PLATFORM",
        {},
        {"quick": True},
    ),
    Bench("startup", "6. Start-up", "bench.startup", "BENCH", {}, {"repeats": 2}),
    Bench(
        "catalog",
        "7. Market-data catalog",
        "bench.catalog",
        "CATALOG",
        {},
        {"days": 1.0, "key_days": 1.0, "year_days": 3.0, "repeats": 1, "update_cycles": 1},
    ),
    Bench(
        "trading",
        "8. Safety layer per order write",
        "bench.trading",
        "SAFETY",
        {},
        {"writes": 50, "rounds": 1},
    ),
    Bench(
        "backtest",
        "9. Backtest throughput",
        "bench.backtest",
        "BACKTEST",
        {},
        {"hour_bars": 300, "minute_bars": 300},
    ),
]


def _call_run(run: Callable[..., Any], sizes: Mapping[str, Any]) -> Any:
    """Call ``run`` with the sizes it accepts (other owners' signatures may differ)."""
    params = inspect.signature(run).parameters
    if any(p.kind is p.VAR_KEYWORD for p in params.values()):
        return run(**sizes)
    return run(**{k: v for k, v in sizes.items() if k in params})


def _sim_throughput(title: str, result: Mapping[str, Any]) -> Section:
    rps = float(result["requests_per_second"])
    target = float(result.get("target_rps", 1500.0))
    section = Section(title)
    section.figures.append(
        Figure(
            title,
            f"GET {result['path']}, {result['connections']} keep-alive connections from another "
            "process, one uvicorn worker, limits off",
            rps,
            "req/s",
            target=f">= {target:,.0f} req/s",
            met=bool(result.get("meets_target", rps >= target)),
            note=f"{result['requests_ok']} answers in {result['seconds']} s, "
            f"{result['errors']} errors",
        )
    )
    section.notes.append(
        "Measured by bench/sim_throughput.py (owner SIM-PLATFORM): raw HTTP/1.1 keep-alive "
        "load from a second process so that the load generator is not the bottleneck."
    )
    return section


ADAPTERS: dict[str, Callable[[str, Any], Section]] = {"sim_throughput": _sim_throughput}


def _adapt(bench: Bench, result: Any) -> Section:
    """Turn whatever a ``run()`` returned into a Section (ours return one already)."""
    if isinstance(result, Section):
        return result
    if bench.name in ADAPTERS:
        return ADAPTERS[bench.name](bench.title, result)
    section = Section(bench.title)
    items = result if isinstance(result, list) else [result]
    for item in items:
        if isinstance(item, Figure):
            item.section = bench.title
            section.figures.append(item)
        elif isinstance(item, Mapping) and "name" in item and ("value" in item or "ours" in item):
            section.figures.append(_figure_from_mapping(bench.title, item))
        else:
            shown = json.dumps(item, indent=2, default=str)
            section.notes.append(f"Raw result of {bench.module}.run():\n\n```\n{shown}\n```")
    return section


def _figure_from_mapping(title: str, item: Mapping[str, Any]) -> Figure:
    ours = item.get("ours", item.get("value"))
    return Figure(
        title,
        str(item["name"]),
        None if ours is None else float(ours),
        str(item.get("unit", "")),
        baseline=item.get("baseline"),
        baseline_name=str(item.get("baseline_name", "")),
        ratio=item.get("ratio"),
        target=str(item.get("target", "")),
        met=item.get("met"),
        note=str(item.get("note", "")),
    )


def run_bench(bench: Bench, quick: bool) -> Section:
    started = time.perf_counter()
    try:
        module = importlib.import_module(bench.module)
    except ModuleNotFoundError as exc:
        if exc.name != bench.module:
            raise
        section = Section(bench.title, error=f"{bench.module} does not exist yet ({bench.owner})")
        return section
    try:
        result = _call_run(module.run, bench.quick if quick else bench.full)
        section = _adapt(bench, result)
    except Exception as exc:  # a broken benchmark is reported, the others still run
        section = Section(bench.title, error=f"{type(exc).__name__}: {exc}")
        section.notes.append("```\n" + traceback.format_exc(limit=6) + "```")
    section.seconds = time.perf_counter() - started
    return section


def _fmt(value: float | None) -> str:
    if value is None:
        return ""
    if float(value).is_integer() and abs(value) < 1e6:
        return f"{value:,.0f}"
    magnitude = abs(value)
    if magnitude >= 100:
        return f"{value:,.0f}"
    if magnitude >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def _met(flag: bool | None) -> str:
    return {True: "yes", False: "**NO**", None: "-"}[flag]


def render(
    sections: list[Section], seconds: float, quick: bool, load: tuple[float, float] | None = None
) -> str:
    """The markdown of bench/RESULTS.md."""
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        "# Benchmark results",
        "",
        f"Written by `make bench` (`python -m bench{' --quick' if quick else ''}`) on {now}; "
        f"the whole run took {seconds:.0f} s. What each figure means and how to reproduce it: "
        "[docs/benchmarks.md](../docs/benchmarks.md). Benchmarks never gate CI.",
        "",
    ]
    if quick:
        lines += ["**Quick run (tiny sizes): these figures are not meaningful.**", ""]
    lines += [
        "| figure | ours | baseline | ratio | target | met | note |",
        "|---|---:|---:|---:|---|:-:|---|",
    ]
    for section in sections:
        if section.error:
            lines.append(f"| {section.title}: not measured | | | | | **NO** | {section.error} |")
        for fig in section.figures:
            baseline = _fmt(fig.baseline)
            if baseline and fig.baseline_name:
                baseline = f"{baseline} ({fig.baseline_name})"
            ratio = f"{fig.ratio:.2f}x" if fig.ratio is not None else ""
            lines.append(
                f"| {fig.section.split('. ', 1)[0]}. {fig.name} | {_fmt(fig.ours)} {fig.unit} | "
                f"{baseline} | {ratio} | {fig.target} | {_met(fig.met)} | {fig.note} |"
            )
    lines += ["", "## Machine", ""]
    lines += [f"- {key}: {value}" for key, value in machine_info().items()]
    if load is not None:
        lines.append(
            f"- load average (1 min) at start / end of the run: {load[0]:.2f} / {load[1]:.2f} "
            "(above ~0.5 other processes shared the cores: expect noisier figures)"
        )
    for section in sections:
        lines += ["", f"## {section.title}", "", f"Took {section.seconds:.1f} s."]
        if section.error:
            lines += ["", f"Not measured: {section.error}"]
        for note in section.notes:
            lines += ["", note]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="tiny sizes (a smoke run)")
    names = ", ".join(b.name for b in BENCHES)
    parser.add_argument("--only", default="", help=f"comma-separated names among: {names}")
    parser.add_argument(
        "--output", default=str(ROOT / "bench" / "RESULTS.md"), help="default bench/RESULTS.md"
    )
    args = parser.parse_args(argv)
    wanted = [name for name in args.only.split(",") if name]
    unknown = sorted(set(wanted) - {b.name for b in BENCHES})
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(unknown)}")
    chosen = [b for b in BENCHES if not wanted or b.name in wanted]
    started = time.perf_counter()
    load_before = os.getloadavg()[0]
    sections: list[Section] = []
    for bench in chosen:
        print(f"bench: {bench.name} ...", flush=True)
        section = run_bench(bench, args.quick)
        sections.append(section)
        for fig in section.figures:
            print(
                f"  {fig.name}: {_fmt(fig.ours)} {fig.unit} (target {fig.target or '-'}: "
                f"{_met(fig.met)})",
                flush=True,
            )
        if section.error:
            print(f"  not measured: {section.error}", flush=True)
    load = (load_before, os.getloadavg()[0])
    text = render(sections, time.perf_counter() - started, args.quick, load)
    Path(args.output).write_text(text, encoding="utf-8")
    print(f"bench: wrote {args.output} in {time.perf_counter() - started:.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
