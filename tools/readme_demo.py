"""The README's sample output of ``make demo``: capture it, and check it is still true.

Usage (from the repository root)::

    python -m tools.readme_demo                    # print what the README block would hold
    python -m tools.readme_demo --write README.md  # replace the block with a fresh run
    python -m tools.readme_demo --check README.md  # exit 1 when the block no longer matches

The block sits between ``<!-- demo-output:start -->`` and ``<!-- demo-output:end -->``. The
comparison ignores only what differs from run to run: the digits (prices, times, counts, the
port), deal ids, the directory the demo ran in, and the layout those widths cause (column
widths, line wrapping, the lengths of table rules). Every word, heading, panel and table
column must match.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
START = "<!-- demo-output:start -->"
END = "<!-- demo-output:end -->"
SHOWN_ROOT = "/path/to/capitalcom-sdk"
"""The repository's directory as the README shows it (``make demo`` runs there)."""

_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_DIGITS = re.compile(r"\d+")
_RULES = re.compile(r"([─━═┄┅])\1+")


def run_demo(columns: int = 100) -> str:
    """What ``make demo`` prints (stdout), run in a scratch directory, its path shown as
    :data:`SHOWN_ROOT`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CAPITAL_")}
    env["COLUMNS"] = str(columns)
    with tempfile.TemporaryDirectory(prefix="readme-demo-") as scratch:
        done = subprocess.run(  # noqa: S603 (our own interpreter and script)
            [sys.executable, str(REPO / "examples" / "demo.py")],
            capture_output=True,
            text=True,
            cwd=scratch,
            env=env,
            timeout=300,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"the demo failed ({done.returncode}):\n{done.stderr[-3000:]}")
        text = done.stdout.replace(str(Path(scratch).resolve()), SHOWN_ROOT)
        text = text.replace(scratch, SHOWN_ROOT)
    return "\n".join(line.rstrip() for line in text.splitlines()) + "\n"


def normalise(text: str) -> list[str]:
    """The words of an output with what varies between runs taken out (see the module doc)."""
    text = _UUID.sub("<id>", text)
    text = _DIGITS.sub("9", text)
    text = _RULES.sub(r"\1", text)
    return text.split()


def block(output: str) -> str:
    """The README text between the markers for ``output``."""
    return f"```text\n{output}```\n"


def current(document: str) -> str:
    """The output shown in ``document``'s block (empty when the block is empty)."""
    _, start, rest = document.partition(START)
    inside, end, _ = rest.partition(END)
    if not start or not end:
        raise ValueError("demo-output markers not found")
    inside = inside.strip("\n")
    if not inside:
        return ""
    if not inside.startswith("```text\n") or not inside.endswith("```"):
        raise ValueError("the demo-output block must be one ```text fence")
    return inside.removeprefix("```text\n").removesuffix("```")


def replace(document: str, output: str) -> str:
    """``document`` with the block replaced by ``output``."""
    head, _, rest = document.partition(START)
    _, _, tail = rest.partition(END)
    return f"{head}{START}\n{block(output)}{END}{tail}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.readme_demo")
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--write", type=Path, metavar="README")
    group.add_argument("--check", type=Path, metavar="README")
    args = parser.parse_args(argv)
    output = run_demo()
    if args.write is not None:
        text = args.write.read_text(encoding="utf-8")
        args.write.write_text(replace(text, output), encoding="utf-8")
        return 0
    if args.check is not None:
        shown = current(args.check.read_text(encoding="utf-8"))
        if normalise(shown) != normalise(output):
            sys.stderr.write(f"{args.check}: the demo output differs; run --write\n")
            return 1
        return 0
    sys.stdout.write(output)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
