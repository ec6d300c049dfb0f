"""The ``capitalcom`` command line (typer + rich): a thin shell over the SDK.

Importing this package is cheap: typer, rich and the command modules load only in :func:`main`.
See docs/cli.md for the commands, the configuration and the exit codes.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Sequence

REQUIRED = ("typer", "rich", "dotenv")
INSTALL = "pip install 'capitalcom-sdk[cli]'"


def missing_modules(names: Sequence[str] = REQUIRED) -> list[str]:
    """The modules of ``names`` that are not installed (looked up, not imported)."""
    return [name for name in names if importlib.util.find_spec(name) is None]


def main(argv: Sequence[str] | None = None) -> int | None:
    """Run the ``capitalcom`` command line (the console-script entry point).

    Without the ``cli`` extra it says what to install (exit 2) instead of a traceback.
    """
    missing = missing_modules()
    if missing:
        names = " and ".join("python-dotenv" if m == "dotenv" else m for m in missing)
        verb = "is" if len(missing) == 1 else "are"
        sys.stderr.write(f"capitalcom needs {names}, which {verb} not installed: {INSTALL}\n")
        return 2
    from capitalcom_sdk.cli._app import run

    run(argv)
    return None
