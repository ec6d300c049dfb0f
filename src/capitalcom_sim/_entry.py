"""The ``capitalcom-sim`` console script: checks the ``sim`` extra before starting.

A core-only ``pip install capitalcom-sdk`` installs this script too; without starlette and
uvicorn it says which extra to install instead of failing with a traceback. Importing this
module imports neither (``capitalcom_sim/__init__`` loads its names lazily).
"""

from __future__ import annotations

import importlib.util
import sys

REQUIRED = ("starlette", "uvicorn")
INSTALL = "pip install 'capitalcom-sdk[sim]'"


def missing_modules(names: tuple[str, ...] = REQUIRED) -> list[str]:
    """The modules of ``names`` that are not installed (looked up, not imported)."""
    return [name for name in names if importlib.util.find_spec(name) is None]


def main() -> int:
    """Run the simulator's command line, or explain which extra is missing (exit 2)."""
    missing = missing_modules()
    if missing:
        sys.stderr.write(
            f"capitalcom-sim needs {' and '.join(missing)}, which "
            f"{'is' if len(missing) == 1 else 'are'} not installed: {INSTALL}\n"
        )
        return 2
    from capitalcom_sim.__main__ import main as run

    return run()
