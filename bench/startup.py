"""Start-up: ``from capitalcom_sdk import Client`` and ``capitalcom --help`` against the floor set
by the two libraries the SDK cannot do without (``import httpx, pydantic``), all in one run, and
what the first authenticated request costs a fresh process afterwards."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

from bench._common import (
    API_KEY,
    IDENTIFIER,
    PASSWORD,
    PYTHON,
    ROOT,
    Figure,
    Section,
    SimProcess,
    child_env,
    median,
)

IMPORT_MS = 150.0
CLIENT_RATIO = 1.3
HELP_TARGET_MS = 400.0
FLOOR = "import httpx, pydantic"

# A fresh process imports the client (not timed), then times its first authenticated request:
# the client's construction, the login and GET /accounts, models built on first use included.
_FIRST_REQUEST = """
import json, sys, time
from capitalcom_sdk import Client
started = time.perf_counter()
with Client(sys.argv[1], sys.argv[2], sys.argv[3], base_url=sys.argv[4], rate_limit=False) as c:
    c.accounts.list()
print(json.dumps({"ms": (time.perf_counter() - started) * 1000.0}))
"""


def _cli() -> list[str]:
    script = Path(PYTHON).parent / "capitalcom"
    if script.exists():
        return [str(script), "--help"]
    return [PYTHON, "-c", "from capitalcom_sdk.cli import main; main()", "--help"]


def time_command(cmd: list[str], repeats: int) -> list[float]:
    """Wall-clock milliseconds of ``repeats`` runs (after one unmeasured run warms the caches).

    Bytecode is written and reused, as in an installed package (pip compiles on install); a
    PYTHONDONTWRITEBYTECODE in the caller's environment would make every run compile the
    project's modules from source.
    """
    env = child_env()
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    times: list[float] = []
    for i in range(repeats + 1):
        started = time.perf_counter()
        subprocess.run(
            cmd, cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        if i:
            times.append((time.perf_counter() - started) * 1000.0)
    return times


def interleaved(commands: dict[str, list[str]], repeats: int) -> dict[str, float]:
    """Median ms of each command, the commands taking turns so that a busy moment of the
    machine weighs on all of them alike (the ratios compare runs of the same minutes)."""
    runs: dict[str, list[float]] = {name: [] for name in commands}
    for cmd in commands.values():  # one unmeasured run each: caches warm
        time_command(cmd, 0)
    for _ in range(repeats):
        for name, cmd in commands.items():
            runs[name].append(_once(cmd))
    return {name: median(values) for name, values in runs.items()}


def _once(cmd: list[str]) -> float:
    env = child_env()
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    started = time.perf_counter()
    subprocess.run(
        cmd, cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    return (time.perf_counter() - started) * 1000.0


def first_request_ms(repeats: int) -> float:
    """Median ms of a fresh process's first authenticated request (see ``_FIRST_REQUEST``)."""
    env = child_env()
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    times = []
    with SimProcess() as sim:
        for i in range(repeats + 1):
            out = subprocess.run(
                [PYTHON, "-c", _FIRST_REQUEST, API_KEY, IDENTIFIER, PASSWORD, sim.base_url],
                cwd=ROOT,
                env=env,
                check=True,
                capture_output=True,
                text=True,
            ).stdout
            if i:
                times.append(float(json.loads(out.strip().splitlines()[-1])["ms"]))
    return median(times)


def run(repeats: int = 15) -> Section:
    """Median start-up times, as ratios to ``import httpx, pydantic`` measured alongside."""
    section = Section("6. Start-up")
    commands = {
        "bare": [PYTHON, "-c", "pass"],
        "floor": [PYTHON, "-c", FLOOR],
        "basemodel": [PYTHON, "-c", "import httpx; from pydantic import BaseModel"],
        "package": [PYTHON, "-c", "import capitalcom_sdk"],
        "client": [PYTHON, "-c", "from capitalcom_sdk import Client"],
        "help": _cli(),
    }
    ms = interleaved(commands, repeats)
    floor = ms["floor"]

    def ratio_figure(key: str, label: str, target: float | None) -> Figure:
        ratio = ms[key] / floor
        return Figure(
            section.title,
            label,
            ms[key],
            "ms",
            baseline=floor,
            baseline_name=FLOOR,
            ratio=ratio,
            target=f"<= {target:.1f}x the floor" if target else "",
            met=ratio <= target if target else None,
        )

    cli_help = ratio_figure("help", "capitalcom --help", None)
    cli_help.target, cli_help.met = f"<= {HELP_TARGET_MS:.0f} ms", ms["help"] <= HELP_TARGET_MS
    section.figures += [
        ratio_figure("client", "python -c 'from capitalcom_sdk import Client'", CLIENT_RATIO),
        cli_help,
        Figure(
            section.title,
            "python -c 'import capitalcom_sdk'",
            ms["package"],
            "ms",
            baseline=ms["bare"],
            baseline_name="python -c pass",
            ratio=ms["package"] / ms["bare"],
            target=f"<= {IMPORT_MS:.0f} ms",
            met=ms["package"] <= IMPORT_MS,
        ),
        ratio_figure("basemodel", "python -c 'import httpx; from pydantic import BaseModel'", None),
    ]
    first = first_request_ms(max(1, repeats // 3))
    section.figures.append(
        Figure(
            section.title,
            "first request of a fresh process (Client(), login, GET /accounts; simulator)",
            first,
            "ms",
            note="models build their schemas on first use: this includes building those of "
            "the login and accounts responses",
        )
    )
    rows = ["| command | median ms | vs floor |", "|---|---:|---:|"]
    for key, label in (
        ("bare", "python -c pass"),
        ("floor", f"python -c '{FLOOR}' (the floor)"),
        ("basemodel", "python -c 'import httpx; from pydantic import BaseModel'"),
        ("package", "python -c 'import capitalcom_sdk'"),
        ("client", "python -c 'from capitalcom_sdk import Client'"),
        ("help", "capitalcom --help"),
    ):
        rows.append(f"| {label} | {ms[key]:.0f} | {ms[key] / floor:.2f}x |")
    section.notes.append(
        f"Median of {repeats} runs each, the commands taking turns (one unmeasured run each "
        "first); wall clock of the whole process including interpreter start-up. pydantic 2 "
        "loads lazily, so the floor does not include `pydantic.BaseModel`: importing it alone "
        "is the `BaseModel` row.\n\n" + "\n".join(rows)
    )
    return section
