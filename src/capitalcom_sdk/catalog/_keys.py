"""``keys.toml``: several API keys (one per user or account) to spread a sync across.

```toml
[[keys]]
api_key = "..."
identifier = "me@example.com"
password = "..."
```

Secrets stay in the returned :class:`KeyEntry` objects, never in their repr or in errors.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field

from capitalcom_sdk.errors import ConfigurationError


@dataclass(frozen=True)
class KeyEntry:
    """One set of credentials from a keys file."""

    api_key: str = field(repr=False)
    identifier: str
    password: str = field(repr=False)


def load_keys(path: str | os.PathLike[str]) -> list[KeyEntry]:
    """The ``[[keys]]`` of a TOML file, each with ``api_key``, ``identifier``, ``password``."""
    try:
        with open(path, "rb") as handle:
            document = tomllib.load(handle)
    except OSError as exc:
        raise ConfigurationError(f"keys file {os.fspath(path)}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigurationError(f"keys file {os.fspath(path)}: not valid TOML ({exc})") from None
    entries = document.get("keys")
    if not isinstance(entries, list) or not entries:
        raise ConfigurationError(f"keys file {os.fspath(path)}: needs one or more [[keys]] tables")
    keys = []
    for number, entry in enumerate(entries, start=1):
        missing = [
            name
            for name in ("api_key", "identifier", "password")
            if not isinstance(entry.get(name), str) or not entry.get(name)
        ]
        if missing:
            raise ConfigurationError(
                f"keys file {os.fspath(path)}: [[keys]] #{number} lacks {', '.join(missing)}"
            )
        keys.append(KeyEntry(entry["api_key"], entry["identifier"], entry["password"]))
    return keys
