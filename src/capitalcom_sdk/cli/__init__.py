"""The ``capitalcom`` command line (typer + rich): a thin shell over the SDK.

Importing this package is cheap: typer, rich and the command modules load only in :func:`main`.
See docs/cli.md for the commands, the configuration and the exit codes.
"""

from __future__ import annotations

from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> None:
    """Run the ``capitalcom`` command line (the console-script entry point)."""
    from capitalcom_sdk.cli._app import run

    run(argv)
