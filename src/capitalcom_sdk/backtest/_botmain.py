"""Run a bot script as ``__main__`` in the backtest's child process:
``python -m capitalcom_sdk.backtest._botmain SCRIPT [ARGS...]``.

The script sees ``sys.argv == [SCRIPT, *ARGS]`` and its own folder first on ``sys.path``, as
``python SCRIPT ARGS`` gives it. A wait refused at the end of the backtest (the simulator's 409
``error.sim.clock.end``, raised as ``SimulatorClockError`` by the bot's wait) ends it with exit
code 0 and one line saying so, not with a traceback. Standard input is the runner's pipe: when
the runner dies, the pipe closes and this process exits at once (no bot is left behind).
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


END_NOTE = "[backtest] the bot's wait reached the end of the backtest: the run ends there\n"


def at_end(base_url: str | None) -> bool:
    """Whether the simulator refused a clock move because the backtest's end was reached."""
    if not base_url:
        return False
    import httpx

    url = base_url.rstrip("/").removesuffix("/api/v1") + "/_sim/ledger"
    try:
        answer = httpx.get(url, timeout=10.0, trust_env=False).json()
    except (httpx.HTTPError, ValueError):
        return False
    return isinstance(answer, dict) and bool(answer.get("clockEndRefused"))


def main() -> None:
    if len(sys.argv) < 2:
        sys.stderr.write("usage: python -m capitalcom_sdk.backtest._botmain SCRIPT [ARGS...]\n")
        raise SystemExit(2)
    script = sys.argv[1]
    threading.Thread(target=_exit_on_eof, name="runner-watch", daemon=True).start()
    sys.argv = [script, *sys.argv[2:]]
    sys.path[0] = str(Path(script).resolve().parent)
    from capitalcom_sdk.errors import SimulatorClockError

    try:
        runpy.run_path(script, run_name="__main__")
    except SimulatorClockError:
        if not at_end(os.environ.get("CAPITAL_BASE_URL")):
            raise
        sys.stdout.flush()
        sys.stderr.write(END_NOTE)
        raise SystemExit(0) from None


if __name__ == "__main__":
    main()
