"""Simulator configuration: users, their API keys and accounts, limits and the seed."""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

DEFAULT_API_KEY = "sim-api-key"
DEFAULT_IDENTIFIER = "trader@example.com"
DEFAULT_PASSWORD = "sim-password"  # noqa: S105 - documented default of the offline simulator

# Keys a users file may hold besides "users" (JSON name -> SimConfig field).
_FILE_SETTINGS = {
    "seed": "seed",
    "rateLimits": "rate_limits",
    "sessionIdleSeconds": "session_idle_seconds",
    "sessionMaxSeconds": "session_max_seconds",
    "demo": "demo",
    "startMs": "start_ms",
    "clockSpeed": "clock_speed",
    "encryptionKeyWindowSeconds": "encryption_key_window_seconds",
    "tickMs": "tick_ms",
    "confirmLagMs": "confirm_lag_ms",
    "overnightFees": "overnight_fees",
    "stopOutLevel": "stop_out_level",
    "acceptPreviousSecurityToken": "accept_previous_security_token",
    "rateLimitMode": "rate_limit_mode",
    "pricesNotFound": "prices_not_found",
    "closedBarLagMs": "closed_bar_lag_ms",
    "doubleSlashPaths": "double_slash_paths",
    "closeWithBody": "close_with_body",
    "topUpCapError": "top_up_cap_error",
    "confirmTtlMs": "confirm_ttl_ms",
    "overnightFeeClock": "overnight_fee_clock",
    "weekendFees": "weekend_fees",
    "guaranteedStopRequiredEpics": "guaranteed_stop_required_epics",
    "endMs": "end_ms",
    "deterministicIds": "deterministic_ids",
    "equitySampleMs": "equity_sample_ms",
}

# Values of the choice-valued options (docs/simulator.md "Evidence and choices").
RATE_LIMIT_MODES = ("window", "bucket")
PRICES_NOT_FOUND = ("error-code", "bare")
DOUBLE_SLASH_PATHS = ("not-found", "serve")
CLOSE_WITH_BODY = ("close", "not-found")
TOP_UP_CAP_ERRORS = ("balance-maxvalue", "account-limit")


class ConfigError(ValueError):
    """The simulator's configuration is invalid; the message names the field."""


@dataclass(frozen=True)
class AccountConfig:
    """One financial account of a simulated user."""

    account_id: str
    account_name: str
    currency: str = "USD"
    balance: float = 10_000.0
    preferred: bool = False
    account_type: str = "CFD"
    trailing_stops_enabled: bool = False


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

    def __repr__(self) -> str:  # the password and API key never appear in reprs
        return f"UserConfig(client_id={self.client_id!r}, identifier={self.identifier!r})"

    def account(self, account_id: str) -> AccountConfig | None:
        """The user's account with this id, if any."""
        return next((a for a in self.accounts if a.account_id == account_id), None)

    @property
    def preferred_account(self) -> AccountConfig:
        """The account a fresh session starts on (the preferred one, else the first)."""
        return next((a for a in self.accounts if a.preferred), self.accounts[0])


def default_accounts(client_index: int = 0) -> tuple[AccountConfig, ...]:
    """Two accounts (USD preferred, EUR) with 18-digit ids, the length of a recorded live login.

    Users may have one account (as that recorded login does) or several.
    """
    base = 123456789012345678 + client_index * 1000
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
    """Everything the simulator is started with.

    ``session_idle_seconds`` is the documented sliding token lifetime; ``session_max_seconds`` the
    observed hard cap after login. ``encryption_key_window_seconds`` is how long a ``timeStamp``
    issued by ``GET /session/encryptionKey`` is accepted in an encrypted login (sim clock).

    Market and trading: ``tick_ms`` is the quote grid (quotes change only on multiples of it; it
    must divide a minute into 4 or more ticks); ``confirm_lag_ms`` makes a deal confirmation
    answer 404 until that much simulated time has passed after the write (to test clients that
    poll); ``overnight_fees`` charges the instruments' overnight rates daily (when: see
    ``overnight_fee_clock``); ``stop_out_level`` closes the worst positions when equity falls
    below that fraction of the margin (None: never).

    Fidelity choices where the real servers' behaviour is only weakly known (each is documented
    with its evidence in docs/simulator.md "Evidence and choices"):

    * ``accept_previous_security_token``: after ``PUT /session`` the security tokens issued
      before the switch keep working (for the now active account); False: only the new one.
    * ``rate_limit_mode``: ``"window"`` (exact sliding windows, the default: a bot that passes
      them is safe) or ``"bucket"`` (token buckets of the same capacity refilled at the same
      average rate, e.g. 10 and 10/s: up to ~20 requests in the first second).
    * ``prices_not_found``: a ``GET /prices`` window without bars is ``404
      error.prices.not-found`` (``"error-code"``) or a 404 with an empty body (``"bare"``).
    * ``closed_bar_lag_ms``: ``GET /prices`` serves bars as of this long ago (a bar that closed
      less than this ago still looks unfinished; the next one is not there yet).
    * ``double_slash_paths``: ``//api/v1/...`` answered 404 ``error.not-found.route``
      (``"not-found"``) or served as ``/api/v1/...`` (``"serve"``).
    * ``close_with_body``: ``DELETE /positions/{dealId}`` with a JSON body holding ``size``
      closes the whole position (``"close"``) or is ``404 error.not-found.dealId``.
    * ``top_up_cap_error``: a top-up past the demo balance cap is ``400
      error.invalid.balance.maxvalue: 100000.0`` (``"balance-maxvalue"``) or ``400
      account.limit.reached`` (``"account-limit"``).

    Engine fidelity options (evidence in docs/simulator-engine-notes.md): ``confirm_ttl_ms``
    makes a confirmation answer 404 once it is that old (simulated ms; None: kept, the default);
    ``overnight_fee_clock`` is when the overnight fee falls due: ``"new_york"`` (17:00 New York,
    21:00 or 22:00 UTC with US daylight saving; default), ``"london"`` (22:00 London) or
    ``"utc"`` (a fixed 22:00 UTC); ``weekend_fees`` is ``"triple"`` (no fee on Saturdays and
    Sundays but for crypto, a triple one on Wednesday for currencies and most commodities, on
    Friday for shares, indices, oil and natural gas; default) or ``"daily"`` (every day alike);
    ``guaranteed_stop_required_epics`` lists markets on which a
    deal without a guaranteed stop is refused with 400
    ``error.vallidation.guaranteed-stop-loss.required`` (some demo accounts, crypto; default none).
    """

    users: tuple[UserConfig, ...] = field(default_factory=lambda: (single_user(),))
    seed: int = 42
    rate_limits: bool = True
    session_idle_seconds: float = 600.0
    session_max_seconds: float = 3600.0
    demo: bool = True
    start_ms: int | None = None
    clock_speed: float = 1.0
    encryption_key_window_seconds: float = 300.0
    tick_ms: int = 1000
    confirm_lag_ms: int = 0
    overnight_fees: bool = True
    stop_out_level: float | None = 0.5
    accept_previous_security_token: bool = True
    rate_limit_mode: str = "window"
    prices_not_found: str = "error-code"
    closed_bar_lag_ms: int = 0
    double_slash_paths: str = "not-found"
    close_with_body: str = "close"
    top_up_cap_error: str = "balance-maxvalue"
    confirm_ttl_ms: int | None = None
    overnight_fee_clock: str = "new_york"
    weekend_fees: str = "triple"
    guaranteed_stop_required_epics: tuple[str, ...] = ()
    end_ms: int | None = None
    deterministic_ids: bool = False
    equity_sample_ms: int | None = None

    def __post_init__(self) -> None:
        validate_users(self.users)
        self._check_backtest_options()
        if self.session_idle_seconds <= 0 or self.session_max_seconds <= 0:
            raise ConfigError("session lifetimes must be > 0")
        if self.clock_speed < 0:
            raise ConfigError("clock_speed must be >= 0")
        if (
            not isinstance(self.tick_ms, int)
            or self.tick_ms <= 0
            or 60_000 % self.tick_ms
            or 60_000 // self.tick_ms < 4
        ):
            raise ConfigError(
                f"tick_ms must divide 60000 into 4 or more ticks (e.g. 250, 1000, 15000), "
                f"got {self.tick_ms!r}"
            )
        if not isinstance(self.confirm_lag_ms, int) or self.confirm_lag_ms < 0:
            raise ConfigError(
                f"confirm_lag_ms must be an integer >= 0, got {self.confirm_lag_ms!r}"
            )
        if self.stop_out_level is not None and not 0 < self.stop_out_level <= 1:
            raise ConfigError(
                f"stop_out_level must be in (0, 1] or null, got {self.stop_out_level!r}"
            )
        if not isinstance(self.accept_previous_security_token, bool):
            raise ConfigError(
                "accept_previous_security_token must be true or false, "
                f"got {self.accept_previous_security_token!r}"
            )
        for name, allowed in (
            ("rate_limit_mode", RATE_LIMIT_MODES),
            ("prices_not_found", PRICES_NOT_FOUND),
            ("double_slash_paths", DOUBLE_SLASH_PATHS),
            ("close_with_body", CLOSE_WITH_BODY),
            ("top_up_cap_error", TOP_UP_CAP_ERRORS),
        ):
            value = getattr(self, name)
            if value not in allowed:
                raise ConfigError(f"{name} must be one of {', '.join(allowed)}, got {value!r}")
        lag = self.closed_bar_lag_ms
        if isinstance(lag, bool) or not isinstance(lag, int) or not 0 <= lag <= 3_600_000:
            raise ConfigError(f"closed_bar_lag_ms must be an integer in [0, 3600000], got {lag!r}")
        self._check_engine_options()

    def _check_backtest_options(self) -> None:
        """``end_ms``: the clock never moves past it (a backtest's end; a move that would is cut
        there, a move from there is refused with 409 ``error.sim.clock.end``).
        ``deterministic_ids``: deal ids and references drawn from the seed.
        ``equity_sample_ms``: the ledger samples equity after clock moves, at most one point per
        interval of that length (0: every move; None: off)."""
        for name in ("end_ms", "equity_sample_ms"):
            value = getattr(self, name)
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, int) or value < 0
            ):
                raise ConfigError(f"{name} must be an integer >= 0 or null, got {value!r}")
        if not isinstance(self.deterministic_ids, bool):
            raise ConfigError(
                f"deterministic_ids must be true or false, got {self.deterministic_ids!r}"
            )

    def _check_engine_options(self) -> None:
        ttl = self.confirm_ttl_ms
        if ttl is not None and (not isinstance(ttl, int) or isinstance(ttl, bool) or ttl <= 0):
            raise ConfigError(f"confirm_ttl_ms must be an integer > 0 or null, got {ttl!r}")
        if self.overnight_fee_clock not in ("new_york", "london", "utc"):
            raise ConfigError(
                "overnight_fee_clock must be 'new_york', 'london' or 'utc', "
                f"got {self.overnight_fee_clock!r}"
            )
        if self.weekend_fees not in ("triple", "daily"):
            raise ConfigError(
                f"weekend_fees must be 'triple' or 'daily', got {self.weekend_fees!r}"
            )
        epics = self.guaranteed_stop_required_epics
        if isinstance(epics, str) or not all(isinstance(e, str) and e for e in epics):
            raise ConfigError(
                f"guaranteed_stop_required_epics must be a list of epics, got {epics!r}"
            )
        self.guaranteed_stop_required_epics = tuple(epics)

    @classmethod
    def from_file(cls, path: str | Path, **overrides: Any) -> SimConfig:
        """Load users (and optional settings) from a JSON file; see docs/simulator.md."""
        try:
            raw = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ConfigError(f"cannot read users file {path}: {exc}") from None
        return cls.from_dict(raw, **overrides)

    @classmethod
    def from_dict(cls, raw: Any, **overrides: Any) -> SimConfig:
        """Build a config from the users-file structure (``{"users": [...], "seed": ...}``)."""
        if not isinstance(raw, dict):
            raise ConfigError("users file: top level must be a JSON object")
        unknown = set(raw) - {"users", *_FILE_SETTINGS}
        if unknown:
            raise ConfigError(f"users file: unknown keys {sorted(unknown)}")
        users_raw = raw.get("users")
        if not isinstance(users_raw, list) or not users_raw:
            raise ConfigError("users file: 'users' must be a non-empty list")
        users = tuple(_user_from_dict(u, i) for i, u in enumerate(users_raw))
        settings: dict[str, Any] = {_FILE_SETTINGS[k]: v for k, v in raw.items() if k != "users"}
        known = {f.name for f in fields(cls)}
        settings.update({k: v for k, v in overrides.items() if k in known})
        return cls(users=users, **settings)


def _require_str(data: dict[str, Any], key: str, where: str) -> str:
    value = data.get(key)
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{where}.{key}: required non-empty string")
    return value


def _account_from_dict(a: Any, where: str, first: bool) -> AccountConfig:
    if not isinstance(a, dict):
        raise ConfigError(f"{where}: must be an object")
    balance = a.get("balance", 10_000.0)
    if not isinstance(balance, int | float) or isinstance(balance, bool):
        raise ConfigError(f"{where}.balance: must be a number")
    currency = str(a.get("currency", "USD"))
    name = a.get("accountName", currency)
    if not isinstance(name, str):
        raise ConfigError(f"{where}.accountName: must be a string (may be empty)")
    trailing = a.get("trailingStopsEnabled", False)
    if not isinstance(trailing, bool):
        raise ConfigError(f"{where}.trailingStopsEnabled: must be true or false")
    return AccountConfig(
        account_id=_require_str(a, "accountId", where),
        account_name=name,
        currency=currency,
        balance=float(balance),
        preferred=bool(a.get("preferred", first)),
        account_type=str(a.get("accountType", "CFD")),
        trailing_stops_enabled=trailing,
    )


def _user_from_dict(u: Any, index: int) -> UserConfig:
    where = f"users[{index}]"
    if not isinstance(u, dict):
        raise ConfigError(f"{where}: must be an object")
    accounts_raw = u.get("accounts")
    if accounts_raw is None:
        accounts = default_accounts(index)
    elif isinstance(accounts_raw, list):
        accounts = tuple(
            _account_from_dict(a, f"{where}.accounts[{j}]", j == 0)
            for j, a in enumerate(accounts_raw)
        )
    else:
        raise ConfigError(f"{where}.accounts: must be a list")
    offset = u.get("timezoneOffset", 3)
    if not isinstance(offset, int) or isinstance(offset, bool):
        raise ConfigError(f"{where}.timezoneOffset: must be an integer")
    return UserConfig(
        client_id=str(u.get("clientId", 12345678 + index)),
        identifier=_require_str(u, "identifier", where),
        api_key=_require_str(u, "apiKey", where),
        password=_require_str(u, "password", where),
        accounts=accounts,
        timezone_offset=offset,
        locale=str(u.get("locale", "en")),
    )


def validate_users(users: tuple[UserConfig, ...]) -> None:
    """Check the invariants the simulator relies on; raise ConfigError naming the culprit."""
    if not users:
        raise ConfigError("at least one user is required")
    seen_keys: set[str] = set()
    seen_clients: set[str] = set()
    seen_accounts: set[str] = set()
    for i, user in enumerate(users):
        if user.api_key in seen_keys:
            raise ConfigError(f"users[{i}].apiKey: duplicate API key")
        if user.client_id in seen_clients:
            raise ConfigError(f"users[{i}].clientId: duplicate client id {user.client_id}")
        seen_keys.add(user.api_key)
        seen_clients.add(user.client_id)
        if not user.accounts:
            raise ConfigError(f"users[{i}].accounts: every user needs at least one account")
        if sum(a.preferred for a in user.accounts) > 1:
            raise ConfigError(f"users[{i}].accounts: at most one account may be preferred")
        for account in user.accounts:
            if account.account_id in seen_accounts:
                raise ConfigError(f"users[{i}].accounts: duplicate accountId {account.account_id}")
            seen_accounts.add(account.account_id)
