"""Start-up time: ``import capitalcom_sdk`` and ``capitalcom --help`` in fresh interpreters."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

from bench._common import PYTHON, ROOT, Figure, Section, child_env, median

IMPORT_MS = 150.0
HELP_TARGET_MS = 400.0


def _cli() -> list[str]:
    script = Path(PYTHON).parent / "capitalcom"
    if script.exists():
        return [str(script), "--help"]
    return [PYTHON, "-m", "capitalcom_sdk.cli", "--help"]


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


def run(repeats: int = 15) -> Section:
    """Median start-up times against ``python -c pass``."""
    section = Section("6. Start-up")
    bare = median(time_command([PYTHON, "-c", "pass"], repeats))
    commands = [
        (
            "python -c 'import capitalcom_sdk'",
            [PYTHON, "-c", "import capitalcom_sdk"],
            IMPORT_MS,
        ),
        (
            "python -c 'from capitalcom_sdk import Client' (informational)",
            [PYTHON, "-c", "from capitalcom_sdk import Client"],
            None,
        ),
        ("capitalcom --help", _cli(), HELP_TARGET_MS),
    ]
    rows = ["| command | median ms | minus bare python ms |", "|---|---:|---:|"]
    rows.append(f"| python -c pass (bare interpreter) | {bare:.0f} | 0 |")
    for label, cmd, target in commands:
        ms = median(time_command(cmd, repeats))
        rows.append(f"| {label} | {ms:.0f} | {ms - bare:.0f} |")
        section.figures.append(
            Figure(
                section.title,
                label,
                ms,
                "ms",
                baseline=bare,
                baseline_name="python -c pass",
                ratio=ms / bare if bare else None,
                target=f"<= {target:.0f} ms" if target else "",
                met=ms <= target if target else None,
            )
        )
    section.notes.append(
        f"Median of {repeats} runs each (one unmeasured run first), wall clock of the whole "
        "process including interpreter start-up:\n\n" + "\n".join(rows)
    )
    return section
