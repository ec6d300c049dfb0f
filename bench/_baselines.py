"""The wrappers people use today, fetched from PyPI into a temp dir at bench time.

They are never project dependencies and their code is never committed: ``pip install --target``
puts them in a directory outside the repository that only the benchmark worker processes put
on ``sys.path``. Without a registry the starting-point pattern is emulated instead (and labelled
so in the results).
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

STARTING_POINT = "capitalcom-python==0.2.3"
CLI_SDK = "capitalcom-cli==0.6.2"
# capitalcom-cli needs pydantic-settings, which this project does not install.
PACKAGES = (STARTING_POINT, CLI_SDK, "pydantic-settings>=2,<3")
TARGET = Path(tempfile.gettempdir()) / "capitalcom-sdk-bench-baselines"


@dataclass(frozen=True)
class Baselines:
    """Where the fetched packages are (``path`` None when they could not be fetched)."""

    path: Path | None
    problem: str = ""


def fetch(timeout: float = 180.0) -> Baselines:
    """Install the baseline packages into ``TARGET`` once (a marker file remembers it)."""
    marker = TARGET / ".complete"
    if marker.exists():
        return Baselines(TARGET)
    cmd = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    cmd += ["--no-deps", "--upgrade", "--target", str(TARGET), *PACKAGES]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return Baselines(None, f"pip install failed: {exc}")
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["?"]
        return Baselines(None, f"pip install failed: {tail[0]}")
    marker.write_text("\n".join(PACKAGES) + "\n")
    return Baselines(TARGET)
