"""The decision journal: one JSON line per tool call (tool, arguments, verdict), secrets removed."""

from __future__ import annotations

import json
import os
import re
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from capitalcom_sdk._logging import REDACTED, registry

_SECRET_KEYS = re.compile(r"pass(word)?|secret|api[-_]?key|^cst$|security|auth", re.I)
# A preview token is single use, but it is a capability while it lives: the journal masks it
# (tool results carry it: the assistant needs it for the execute step).
_TOKEN_KEYS = re.compile(r"token", re.I)
_TOKEN_SHAPE = re.compile(r"v1\.[A-Za-z0-9_-]+\.\d+\.[A-Za-z0-9_-]+")


def _secret_key(key: object, tokens: bool) -> bool:
    if not isinstance(key, str):
        return False
    return bool(_SECRET_KEYS.search(key) or (tokens and _TOKEN_KEYS.search(key)))


def scrub(value: Any, *, tokens: bool = True) -> Any:
    """A copy of ``value`` with credentials masked (by key name and by the SDK's registry of
    secret values); ``tokens=True`` (journals) masks preview tokens too."""
    if isinstance(value, dict):
        return {
            k: (REDACTED if _secret_key(k, tokens) else scrub(v, tokens=tokens))
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [scrub(v, tokens=tokens) for v in value]
    if isinstance(value, str):
        text = registry.redact(value)
        return _TOKEN_SHAPE.sub(REDACTED, text) if tokens else text
    return value


class Journal:
    """Appends decisions to a JSON-lines file (or nowhere when ``path`` is None)."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._file: TextIO | None = None
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            # owner-only: it records what was traded (no secrets, but private all the same)
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            self._file = os.fdopen(fd, "a", encoding="utf-8")

    def __repr__(self) -> str:
        return f"Journal({str(self.path)!r})"

    def write(self, tool: str, arguments: dict[str, Any], verdict: str, **detail: Any) -> None:
        """One decision: ``verdict`` is e.g. ok, refused, placed, not_placed, unknown, error."""
        if self._file is None:
            return
        entry = {
            "at": datetime.now(UTC).isoformat(timespec="milliseconds"),
            "tool": tool,
            "arguments": scrub(arguments),
            "verdict": verdict,
            **scrub(detail),
        }
        line = json.dumps(entry, default=str, sort_keys=False)
        with self._lock:
            self._file.write(line + "\n")
            self._file.flush()

    def close(self) -> None:
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None
