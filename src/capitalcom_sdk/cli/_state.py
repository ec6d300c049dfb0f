"""Configuration of one ``capitalcom`` run: options, environment, ``.env``; the client factory.

Precedence: command-line options, then process environment variables, then the ``.env`` file.
Secrets are read from the environment or ``.env`` only, never from options (shell history).
"""

from __future__ import annotations

import functools
import logging
import os
import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

import typer

from capitalcom_sdk._environment import is_live
from capitalcom_sdk.cli._exit import ExitCode, exit_code_for
from capitalcom_sdk.cli._output import Output, redact
from capitalcom_sdk.cli._session_cache import KeptSession
from capitalcom_sdk.errors import (
    APIError,
    AuthenticationError,
    CapitalError,
    ConfigurationError,
    SessionExpiredError,
)

if TYPE_CHECKING:
    from capitalcom_sdk import Client
    from capitalcom_sdk.trading import Safety, TradingPolicy

P = ParamSpec("P")
R = TypeVar("R")

LIVE_FLAG = "--i-understand-live-trading"


def load_environ(env_file: Path | None, environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """``CAPITAL_*`` settings: the ``.env`` file's values overlaid by the process environment."""
    environ = os.environ if environ is None else environ
    path = env_file if env_file is not None else Path.cwd() / ".env"
    values: dict[str, str] = {}
    if env_file is not None and not env_file.is_file():
        raise ConfigurationError(f"--env-file {env_file}: no such file")
    if path.is_file():
        try:
            from dotenv import dotenv_values
        except ImportError as exc:  # pragma: no cover - python-dotenv ships with the cli extra
            raise ConfigurationError(
                "reading .env needs python-dotenv: pip install 'capitalcom-sdk[cli]'"
            ) from exc
        values = {k: v for k, v in dotenv_values(path).items() if v is not None}
    values.update({k: v for k, v in environ.items() if k.startswith("CAPITAL_")})
    return values


@dataclass
class Settings:
    """Everything a command needs to build a client. Secrets never appear in the repr."""

    env: str = "demo"
    base_url: str | None = None
    api_key: str | None = field(default=None, repr=False)
    identifier: str | None = None
    password: str | None = field(default=None, repr=False)
    account_id: str | None = None
    encrypted_password: bool = False
    live_opt_in: bool = False
    timeout: float = 15.0
    session_cache: Path | None = None  # where sessions are kept between runs (None: nowhere)

    @property
    def is_live(self) -> bool:
        return is_live(self.env, self.base_url)

    @property
    def has_credentials(self) -> bool:
        return bool(self.api_key and self.identifier and self.password)


@dataclass
class CliState:
    """Per-run state kept in ``ctx.obj``: settings, output and the live-mode banner flag."""

    settings: Settings
    output: Output
    verbose: int = 0
    _banner_shown: bool = False

    def json(self, flag: bool) -> CliState:
        """This state with ``--json`` given on the subcommand taken into account."""
        if flag:
            self.output.json_mode = True
        return self

    def live_guard(self, trading: bool) -> None:
        """Show the live banner; refuse trading on live without the explicit opt-in."""
        if not self.settings.is_live:
            return
        if trading and not self.settings.live_opt_in:
            raise ConfigurationError(
                f"this command trades on the LIVE server with real money; add {LIVE_FLAG} "
                "(before the command) if that is what you want"
            )
        if not self._banner_shown:
            self._banner_shown = True
            self.output.err.print(
                "[bold white on red] LIVE [/] [bold red]connected to the live Capital.com "
                "server: real money[/]"
            )

    @contextmanager
    def client(self, *, trading: bool = False, login: bool = True) -> Iterator[Client]:
        """A configured :class:`~capitalcom_sdk.Client`; switches to ``--account`` after login.

        A trading command's client enforces the trading policy of the config file
        (:func:`default_policy_path`) when there is one: the market's dealing rules and every
        limit are checked before an order write is sent (docs/trading.md).
        """
        from capitalcom_sdk import Client

        self.live_guard(trading)
        s = self.settings
        if login and not s.has_credentials:
            missing = [
                name
                for name, value in (
                    ("CAPITAL_API_KEY", s.api_key),
                    ("CAPITAL_IDENTIFIER", s.identifier),
                    ("CAPITAL_PASSWORD", s.password),
                )
                if not value
            ]
            raise ConfigurationError(
                f"no credentials: set {', '.join(missing)} in the environment or a .env file"
            )
        creds: dict[str, Any] = (
            {"api_key": s.api_key, "identifier": s.identifier, "password": s.password}
            if s.has_credentials
            else {}
        )
        with Client(
            **creds,
            env=s.env,
            base_url=s.base_url,
            encrypted_password=s.encrypted_password,
            timeout=s.timeout,
            safety=_policy_safety() if trading else None,
        ) as client:
            kept = None
            if s.session_cache is not None and s.api_key and s.identifier and s.password:
                kept = KeptSession.for_client(
                    s.session_cache,
                    client,
                    api_key=s.api_key,
                    identifier=s.identifier,
                    password=s.password,
                    account_id=s.account_id,
                )
                if login:
                    kept.resume(client)
            try:
                if login and s.account_id:
                    _switch(client, s.account_id)
                yield client
            except (AuthenticationError, SessionExpiredError):
                if kept is not None:
                    kept.forget()
                raise
            if kept is not None:
                kept.keep(client)


POLICY_ENV = "CAPITALCOM_POLICY"


def default_policy_path() -> Path:
    """``$CAPITALCOM_POLICY``, else ``$XDG_CONFIG_HOME/capitalcom/policy.toml``."""
    given = os.environ.get(POLICY_ENV)
    if given:
        return Path(given)
    config = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(config) / "capitalcom" / "policy.toml"


def read_policy(path: Path) -> TradingPolicy:
    """The policy file's limits (a bad file is a configuration error naming it)."""
    from capitalcom_sdk.trading import TradingPolicy

    try:
        return TradingPolicy.from_file(path)
    except (OSError, ValueError) as exc:
        raise ConfigurationError(f"{path}: {exc}") from None


def _policy_safety() -> Safety | None:
    """The safety layer of a trading command: on when a policy file exists."""
    path = default_policy_path()
    if not path.is_file():
        return None
    from capitalcom_sdk.trading import Safety

    return Safety(checks=True, policy=read_policy(path))


def _switch(client: Client, account_id: str) -> None:
    session = client.export_session()  # a session kept from an earlier run, if any
    session_account: str | None
    if session is None:
        session_account = client.session.login().current_account_id
    else:
        session_account = session.account_id
    if session_account != account_id:
        client.session.switch_account(account_id)


def state_of(ctx: typer.Context, json_flag: bool = False) -> CliState:
    """The run's :class:`CliState` (created by the root callback)."""
    state = ctx.find_root().obj
    if not isinstance(state, CliState):  # a subcommand invoked without the root callback
        state = CliState(Settings(), Output())
        ctx.find_root().obj = state
    return state.json(json_flag)


def error_payload(exc: BaseException, code: ExitCode) -> dict[str, Any]:
    """The JSON error document of ``--json`` mode."""
    payload: dict[str, Any] = {
        "type": type(exc).__name__,
        "message": redact(str(exc)),
        "exitCode": int(code),
    }
    if isinstance(exc, APIError):
        payload.update(status=exc.status, errorCode=exc.raw_error_code)
    for name in ("field", "reason", "deal_reference", "endpoint"):
        value = getattr(exc, name, None)
        if isinstance(value, str):
            payload[name] = value
    return payload


def handle_errors(fn: Callable[P, R]) -> Callable[P, R]:
    """Run a command; map SDK errors to documented exit codes and a clean message."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        # typer hands over its vendored click context class, not typer.Context itself
        ctx = next((a for a in (*args, *kwargs.values()) if hasattr(a, "find_root")), None)
        state = ctx.find_root().obj if ctx is not None else None
        output = state.output if isinstance(state, CliState) else Output()
        verbose = state.verbose if isinstance(state, CliState) else 0
        try:
            return fn(*args, **kwargs)
        except (typer.Exit, typer.Abort, SystemExit):
            raise
        except KeyboardInterrupt:
            output.error({"type": "KeyboardInterrupt", "exitCode": 130}, "interrupted")
            raise typer.Exit(ExitCode.INTERRUPTED) from None
        except Exception as exc:
            code = exit_code_for(exc)
            if code is ExitCode.UNEXPECTED and not isinstance(exc, CapitalError):
                message = f"unexpected {type(exc).__name__}: {redact(str(exc))}"
                if verbose:
                    logging.getLogger("capitalcom_sdk.cli").exception("unexpected error")
            else:
                message = redact(str(exc))
            output.error(error_payload(exc, code), message)
            raise typer.Exit(code) from None

    return wrapper


def configure_logging(verbose: int) -> Callable[[], None]:
    """``-v``: SDK info logs on stderr; ``-vv``: debug. Secrets are redacted by the SDK.

    Returns the undo: the handler is removed and the level restored when the command ends, so
    an in-process run (tests, notebooks, embedding) leaves the ``capitalcom_sdk`` logger as it
    found it.
    """
    root = logging.getLogger("capitalcom_sdk")
    if verbose <= 0:
        # Without -v the command reports failures itself; an SDK warning must not also reach
        # stderr through logging's last-resort handler (a refused subscription printed twice).
        quiet = logging.NullHandler()
        root.addHandler(quiet)
        return lambda: root.removeHandler(quiet)
    from capitalcom_sdk._logging import RedactingFilter

    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RedactingFilter())
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    previous_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if verbose > 1 else logging.INFO)

    def restore() -> None:
        root.removeHandler(handler)
        root.setLevel(previous_level)

    return restore
