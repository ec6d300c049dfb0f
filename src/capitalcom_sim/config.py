"""Simulator configuration: users, their API keys and accounts, limits and the seed."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DEFAULT_API_KEY = "sim-api-key"
DEFAULT_IDENTIFIER = "trader@example.com"
DEFAULT_PASSWORD = "sim-password"  # noqa: S105 - documented default of the offline simulator


@dataclass(frozen=True)
class AccountConfig:
    """One financial account of a simulated user."""

    account_id: str
    account_name: str
    currency: str = "USD"
    balance: float = 10_000.0
    preferred: bool = False
    account_type: str = "CFD"


@dataclass(frozen=True)
class UserConfig:
    """A simulated client: login, API key (with its custom password) and accounts."""

    client_id: str
    identifier: str
    api_key: str
    password: str
    accounts: tuple[AccountConfig, ...]
    timezone_offset: int = 3
    locale: str = "en"

    def __repr__(self) -> str:  # the password never appears in reprs
        return f"UserConfig(client_id={self.client_id!r}, identifier={self.identifier!r})"


def default_accounts(client_index: int = 0) -> tuple[AccountConfig, ...]:
    """Every user has at least two accounts, as on the real platform (USD preferred, EUR)."""
    base = 12345678901234567 + client_index * 1000
    return (
        AccountConfig(str(base), "USD", "USD", 10_000.0, preferred=True),
        AccountConfig(str(base + 1), "EUR", "EUR", 5_000.0),
    )


def single_user(
    api_key: str = DEFAULT_API_KEY,
    identifier: str = DEFAULT_IDENTIFIER,
    password: str = DEFAULT_PASSWORD,
) -> UserConfig:
    """The one user defined by command-line flags."""
    return UserConfig("12345678", identifier, api_key, password, default_accounts())


@dataclass
class SimConfig:
    """Everything the simulator is started with."""

    users: tuple[UserConfig, ...] = field(default_factory=lambda: (single_user(),))
    seed: int = 42
    rate_limits: bool = True
    session_idle_seconds: float = 600.0
    session_max_seconds: float = 3600.0
    demo: bool = True
    start_ms: int | None = None
    clock_speed: float = 1.0

    @classmethod
    def from_file(cls, path: str | Path, **overrides: Any) -> SimConfig:
        """Load users (and optional settings) from a JSON file; see docs/simulator.md."""
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
        users = []
        for i, u in enumerate(raw.get("users", [])):
            accounts = tuple(
                AccountConfig(
                    account_id=str(a["accountId"]),
                    account_name=str(a.get("accountName", a.get("currency", "USD"))),
                    currency=str(a.get("currency", "USD")),
                    balance=float(a.get("balance", 10_000.0)),
                    preferred=bool(a.get("preferred", j == 0)),
                )
                for j, a in enumerate(u.get("accounts", []))
            ) or default_accounts(i)
            users.append(
                UserConfig(
                    client_id=str(u.get("clientId", 12345678 + i)),
                    identifier=str(u["identifier"]),
                    api_key=str(u["apiKey"]),
                    password=str(u["password"]),
                    accounts=accounts,
                )
            )
        settings = {k: v for k, v in raw.items() if k != "users"}
        settings.update(overrides)
        return cls(users=tuple(users) or (single_user(),), **settings)
