"""Request overhead: sequential GET /api/v1/markets/{epic}, plain HTTP and TLS, limits off.

Each client runs in its own worker process (bench/_worker.py, pinned to one core) against the
simulator in another process (pinned to the other core). The clients take turns in rounds so
that drift of the machine hits all of them alike; the figure is the median round's time per
call.
"""

from __future__ import annotations

import subprocess
from contextlib import ExitStack
from dataclasses import dataclass, field

from bench._baselines import Baselines, fetch
from bench._common import EPIC, PYTHON, ROOT, Figure, Section, SimProcess, child_env, median
from bench._common import tls_files as make_tls

TARGET_RATIO = 1.15
LABELS = {
    "floor": "raw httpx.Client keep-alive + json.loads (floor)",
    "sync": "capitalcom_sdk.Client (typed model)",
    "async": "capitalcom_sdk.AsyncClient (typed model)",
    "async_httpcore": "capitalcom_sdk.AsyncClient on httpx's own async transport (httpcore)",
    "async_floor": "raw httpx.AsyncClient keep-alive + json.loads",
    "aiohttp_floor": "raw aiohttp.ClientSession keep-alive + json.loads",
    "starting_point": "capitalcom-python 0.2.3 (PyPI, new connection per call)",
    "starting_point_emulated": "EMULATED starting point: requests.get per call, no session",
    "cli_sdk": "capitalcom-cli 0.6.2 SDK (PyPI, async, limiter bypassed)",
}


class Worker:
    """A client process speaking the bench/_worker.py protocol."""

    def __init__(self, variant: str, base_url: str, env: dict[str, str]) -> None:
        self.variant = variant
        self.proc = subprocess.Popen(
            [PYTHON, "-m", "bench._worker", variant, base_url, EPIC],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=ROOT,
            env=env,
        )
        self.times: list[float] = []  # wall seconds per call, one per round
        self.cpu: list[float] = []  # CPU seconds of the client process per call, one per round

    def _line(self) -> str:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().strip()
        if not line:
            assert self.proc.stderr is not None
            self.proc.wait(timeout=10)
            error = self.proc.stderr.read().strip().splitlines()[-1:] or ["no output"]
            raise RuntimeError(f"{self.variant} worker failed: {error[0]}")
        return line

    def ready(self) -> None:
        line = self._line()
        if line != f"ready {EPIC}":
            raise RuntimeError(f"{self.variant} worker answered {line!r}")

    def run(self, calls: int) -> tuple[float, float]:
        """Make ``calls`` calls; (wall, CPU) seconds they took."""
        assert self.proc.stdin is not None
        self.proc.stdin.write(f"run {calls}\n")
        self.proc.stdin.flush()
        wall, cpu = self._line().split()
        return float(wall), float(cpu)

    def close(self) -> None:
        if self.proc.poll() is None and self.proc.stdin is not None:
            try:
                self.proc.stdin.write("quit\n")
                self.proc.stdin.close()
            except OSError:
                pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream is not None:
                stream.close()


@dataclass
class Measured:
    """Per variant, one entry per round: wall and client-CPU seconds per call.

    Round i of every variant ran back to back, so ratios are taken round by round (paired) and
    their median reported: drift and bursts of other load cancel out of each pair.
    """

    wall_rounds: dict[str, list[float]] = field(default_factory=dict)
    cpu_rounds: dict[str, list[float]] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)

    @property
    def variants(self) -> list[str]:
        return list(self.wall_rounds)

    def wall(self, variant: str) -> float:
        return median(self.wall_rounds[variant])

    def cpu(self, variant: str) -> float:
        return median(self.cpu_rounds[variant])

    def ratio(self, variant: str, base: str) -> float:
        pairs = zip(self.wall_rounds[variant], self.wall_rounds[base], strict=True)
        return median([a / b for a, b in pairs])

    def cpu_ratio(self, variant: str, base: str) -> float:
        pairs = zip(self.cpu_rounds[variant], self.cpu_rounds[base], strict=True)
        return median([a / b for a, b in pairs])


def measure(
    variants: list[str],
    base_url: str,
    env: dict[str, str],
    calls: int,
    rounds: int,
    warmup: int,
) -> Measured:
    """Warm every worker up, then ``rounds`` turns of ``calls // rounds`` calls each."""
    result = Measured()
    workers: list[Worker] = []
    try:
        for variant in variants:
            worker = Worker(variant, base_url, env)
            try:
                worker.ready()
                worker.run(warmup)
            except (RuntimeError, ValueError) as exc:
                result.failed[variant] = str(exc)
                worker.close()
                continue
            workers.append(worker)
        per_round = max(1, calls // rounds)
        for _ in range(rounds):
            for worker in workers:
                wall, cpu = worker.run(per_round)
                worker.times.append(wall / per_round)
                worker.cpu.append(cpu / per_round)
        for worker in workers:
            result.wall_rounds[worker.variant] = worker.times
            result.cpu_rounds[worker.variant] = worker.cpu
    finally:
        for worker in workers:
            worker.close()
    return result


def _us(seconds: float) -> float:
    return seconds * 1e6


def run(
    calls: int = 1000,
    rounds: int = 20,
    warmup: int = 50,
    tls: bool = True,
    baselines: bool = True,
) -> Section:
    """Time per call of each client, plain HTTP and (``tls``) HTTPS; ratios to the floor."""
    section = Section("1. Request overhead")
    fetched = fetch() if baselines else Baselines(None, "baselines not requested")
    variants = ["floor", "sync", "async", "async_httpcore", "async_floor", "aiohttp_floor"]
    if fetched.path is not None:
        variants += ["starting_point", "cli_sdk"]
    else:
        variants += ["starting_point_emulated"]
        section.notes.append(
            f"PyPI baselines unavailable ({fetched.problem}): the starting-point pattern is "
            "EMULATED (requests.get without a session per call) and capitalcom-cli is not run."
        )
    schemes = ["http", "https"] if tls else ["http"]
    for scheme in schemes:
        with ExitStack() as stack:
            extra: dict[str, str] = {}
            certs = None
            if scheme == "https":
                certs = stack.enter_context(make_tls())
                extra = {"SSL_CERT_FILE": certs.ca_file, "REQUESTS_CA_BUNDLE": certs.ca_file}
            if fetched.path is not None:
                extra["BENCH_BASELINES"] = str(fetched.path)
            sim = stack.enter_context(SimProcess(rate_limits=False, tls=certs))
            measured = measure(variants, sim.base_url, child_env(**extra), calls, rounds, warmup)
        _report(section, scheme, measured, calls, rounds)
    section.notes.append(
        f"{calls} sequential GET /api/v1/markets/{EPIC} per client and scheme (after {warmup} "
        f"warm-up calls), in {rounds} interleaved rounds: times are medians over rounds, ratios "
        "the median of the round-by-round ratios (each round of each client ran back to back). "
        "Every client parses the body (json.loads or the typed model). Wall time includes the "
        "simulator's own time per request; client CPU time (time.process_time of the client "
        "process) is what the client itself spends and is less disturbed by other load."
    )
    return section


def _report(section: Section, scheme: str, measured: Measured, calls: int, rounds: int) -> None:
    label = "plain HTTP" if scheme == "http" else "TLS"
    m = measured
    has_floor = "floor" in m.variants
    rows = [
        "| client | wall µs per call | x floor | client CPU µs per call | CPU x floor |",
        "|---|---:|---:|---:|---:|",
    ]
    for variant in m.variants:
        ratio = f"{m.ratio(variant, 'floor'):.2f}x" if has_floor else "n/a"
        cpu_ratio = f"{m.cpu_ratio(variant, 'floor'):.2f}x" if has_floor else "n/a"
        rows.append(
            f"| {LABELS[variant]} | {_us(m.wall(variant)):.0f} | {ratio} | "
            f"{_us(m.cpu(variant)):.0f} | {cpu_ratio} |"
        )
    for variant, problem in m.failed.items():
        rows.append(f"| {LABELS[variant]} | failed: {problem} | | | |")
    section.notes.append(f"Per-call time over {label} (medians):\n\n" + "\n".join(rows))
    if not has_floor:
        section.notes.append(f"The floor failed over {label}: no ratios.")
        return
    for variant in ("sync", "async"):
        if variant not in m.variants:
            continue
        ratio = m.ratio(variant, "floor")
        section.figures.append(
            Figure(
                section.title,
                f"{label}: {LABELS[variant]} vs floor",
                _us(m.wall(variant)),
                "µs/call",
                baseline=_us(m.wall("floor")),
                baseline_name="raw httpx",
                ratio=ratio,
                target=f"<= {TARGET_RATIO}x floor",
                met=ratio <= TARGET_RATIO,
                note=f"client CPU {_us(m.cpu(variant)):.0f} vs {_us(m.cpu('floor')):.0f} µs per "
                f"call ({m.cpu_ratio(variant, 'floor'):.2f}x)",
            )
        )
    if "async" in m.variants and "async_httpcore" in m.variants:
        section.figures.append(
            Figure(
                section.title,
                f"{label}: {LABELS['async']} vs the same on httpcore",
                _us(m.wall("async")),
                "µs/call",
                baseline=_us(m.wall("async_httpcore")),
                baseline_name="ours on httpcore",
                ratio=m.ratio("async", "async_httpcore"),
                target="(informational)",
                note=f"on httpcore ours = {m.ratio('async_httpcore', 'floor'):.2f}x the floor, "
                + (
                    f"raw httpx.AsyncClient {m.ratio('async_floor', 'floor'):.2f}x"
                    if "async_floor" in m.variants
                    else "raw httpx.AsyncClient not measured"
                ),
            )
        )
    for theirs, ours in (
        ("starting_point", "sync"),
        ("starting_point_emulated", "sync"),
        ("cli_sdk", "async"),
    ):
        if theirs not in m.variants or ours not in m.variants:
            continue
        ratio = m.ratio(ours, theirs)
        section.figures.append(
            Figure(
                section.title,
                f"{label}: {LABELS[ours].split(' (')[0]} vs {LABELS[theirs]}",
                _us(m.wall(ours)),
                "µs/call",
                baseline=_us(m.wall(theirs)),
                baseline_name=theirs,
                ratio=ratio,
                target="(informational)",
                note=f"theirs = {m.ratio(theirs, 'floor'):.2f}x floor; client CPU "
                f"{m.cpu_ratio(ours, theirs):.2f}x theirs",
            )
        )
