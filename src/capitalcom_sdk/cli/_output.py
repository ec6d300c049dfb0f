"""Output of the command line: rich tables for people, JSON / NDJSON for programs.

Results go to stdout; notes, progress bars, banners and errors go to stderr, so ``--json``
output can be piped into ``jq`` untouched.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date, datetime
from enum import Enum
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from capitalcom_sdk._logging import registry
from capitalcom_sdk.cli._numbers import number

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table


_SHORT_TEXT = 20
_NUMBER = re.compile(r"^-?[\d,]+(\.\d+)?(e[-+]?\d+)?$")


def jsonable(value: Any) -> Any:
    """Plain JSON data of a result: models by their wire (camelCase) names, times in ISO 8601."""
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        return dump(mode="json", by_alias=True)
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Path):
        return str(value)
    return value


def redact(text: str) -> str:
    """Mask every secret this process knows (API key, password, tokens)."""
    return registry.redact(text)


class Output:
    """Where a command writes: ``json_mode`` chooses JSON documents over rich tables."""

    def __init__(self, json_mode: bool = False) -> None:
        self.json_mode = json_mode

    @cached_property
    def console(self) -> Console:
        from rich.console import Console
        from rich.measure import Measurement
        from rich.table import Table

        class WideningConsole(Console):
            """Prints a table wider than the terminal rather than cutting ids or numbers."""

            def print(self, *objects: Any, **kwargs: Any) -> None:
                for item in objects:
                    if isinstance(item, Table):
                        need = Measurement.get(
                            self, self.options.update_width(10_000), item
                        ).minimum
                        self.width = max(self.width, need)
                super().print(*objects, **kwargs)

        return _unwrapped_when_piped(WideningConsole(file=sys.stdout, highlight=False))

    @cached_property
    def err(self) -> Console:
        from rich.console import Console

        return _unwrapped_when_piped(Console(file=sys.stderr, highlight=False))

    def result(self, data: Any, render: Callable[[Console], None] | None = None) -> None:
        """Emit a command's result: one JSON document, or ``render`` for people."""
        if self.json_mode or render is None:
            sys.stdout.write(json.dumps(jsonable(data), ensure_ascii=False) + "\n")
            sys.stdout.flush()
        else:
            render(self.console)

    def line(self, data: Any) -> None:
        """Emit one NDJSON line (streams)."""
        sys.stdout.write(json.dumps(jsonable(data), ensure_ascii=False) + "\n")
        sys.stdout.flush()

    def note(self, message: str) -> None:
        """A remark for people, on stderr (rich markup allowed); silent in JSON mode."""
        if not self.json_mode:
            self.err.print(message)

    def error(self, payload: Mapping[str, Any], message: str) -> None:
        """Report a failure on stderr: a JSON document in JSON mode, else a red line."""
        if self.json_mode:
            sys.stderr.write(json.dumps({"error": jsonable(payload)}) + "\n")
            sys.stderr.flush()
        else:
            from rich.markup import escape

            self.err.print(f"[bold red]error:[/] {escape(message)}")


def _unwrapped_when_piped(console: Console) -> Console:
    """A terminal gets lines wrapped at its width; a pipe or a file gets whole lines (a deal
    id or a URL split at column 80 cannot be copied or grepped)."""
    console.soft_wrap = not console.is_terminal
    return console


def table(
    title: str | None, columns: Sequence[str], rows: Iterable[Sequence[Any]], **kwargs: Any
) -> Table:
    """A rich table; numbers right-aligned, ``None`` shown as ``-``."""
    from rich import box
    from rich.table import Table

    materialised = [[_cell(v) for v in r] for r in rows]
    kwargs.setdefault("box", box.SIMPLE_HEAD)
    result = Table(title=title, title_justify="left", **kwargs)
    for index, name in enumerate(columns):
        cells = [r[index] for r in materialised]
        numeric = bool(cells) and all(_NUMBER.match(c) or c == "-" for c in cells)
        # ids, numbers, times and codes are never cut; only long free text may wrap
        longest = max((len(c) for c in cells), default=0)
        whole = numeric or name.endswith("id") or longest <= _SHORT_TEXT
        result.add_column(
            name,
            justify="right" if numeric else "left",
            no_wrap=whole,
            min_width=max(longest, len(name)) if whole else _SHORT_TEXT,
        )
    for r in materialised:
        result.add_row(*r)
    return result


def _cell(value: Any) -> str:
    from rich.markup import escape

    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, float):
        return number(round(value, 8))  # every digit the API sent, no float noise
    return escape(str(value))


def key_values(title: str | None, pairs: Iterable[tuple[str, Any]]) -> Table:
    """A two-column table of labelled values."""
    from rich.table import Table

    result = Table(title=title, title_justify="left", show_header=False, box=None)
    result.add_column(style="bold")
    result.add_column()
    for key, value in pairs:
        result.add_row(key, _cell(value))
    return result
