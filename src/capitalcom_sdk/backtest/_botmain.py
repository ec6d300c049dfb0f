"""Run a bot script as ``__main__`` in the backtest's child process:
``python -m capitalcom_sdk.backtest._botmain SCRIPT [ARGS...]``.

The script sees ``sys.argv == [SCRIPT, *ARGS]`` and its own folder first on ``sys.path``, as
``python SCRIPT ARGS`` gives it. Standard input is the runner's pipe: when the runner dies, the
pipe closes and this process exits at once (a backtest never leaves a bot behind).
"""

from __future__ import annotations

import os
import runpy
import sys
import threading
from pathlib import Path


def _exit_on_eof() -> None:
    try:
        while os.read(0, 65536):  # the raw descriptor: no buffer lock held at shutdown
            pass
    except (OSError, ValueError):
        pass
    os._exit(70)


def main() -> None:
    if len(sys.argv) < 2:
        sys.stderr.write("usage: python -m capitalcom_sdk.backtest._botmain SCRIPT [ARGS...]\n")
        raise SystemExit(2)
    script = sys.argv[1]
    threading.Thread(target=_exit_on_eof, name="runner-watch", daemon=True).start()
    sys.argv = [script, *sys.argv[2:]]
    sys.path[0] = str(Path(script).resolve().parent)
    runpy.run_path(script, run_name="__main__")


if __name__ == "__main__":
    main()
