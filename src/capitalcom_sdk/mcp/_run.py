"""Starting the server: the practice simulator or a configured server, then a transport."""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import anyio

from capitalcom_sdk import AsyncClient
from capitalcom_sdk._environment import is_live
from capitalcom_sdk._simprocess import SimOptions, SimulatorProcess
from capitalcom_sdk.errors import ConfigurationError
from capitalcom_sdk.mcp._policy import BuiltinPolicy, OrderPolicy
from capitalcom_sdk.mcp._server import CapitalMcp, ServerOptions, check_http_bind, serve_http
from capitalcom_sdk.mcp._server import serve_stdio as _serve_stdio
from capitalcom_sdk.mcp._tokens import DEFAULT_TTL
from capitalcom_sdk.trading import Safety

log = logging.getLogger("capitalcom_sdk.mcp")


def default_journal() -> Path:
    """``$XDG_STATE_HOME/capitalcom/mcp-journal.jsonl`` (``~/.local/state`` by default)."""
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "capitalcom" / "mcp-journal.jsonl"


@dataclass
class McpConfig:
    """Everything ``capitalcom mcp`` is started with (secrets never in the repr).

    ``connect=False`` (the default) is practice mode: an embedded simulator with its own demo
    user, nothing leaves the machine. ``connect=True`` uses ``env`` / ``base_url`` and the
    credentials; trading on the live server also needs ``live_opt_in`` and a policy with
    ``allow_live``.
    """

    connect: bool = False
    env: str = "demo"
    base_url: str | None = None
    api_key: str | None = field(default=None, repr=False)
    identifier: str | None = None
    password: str | None = field(default=None, repr=False)
    encrypted_password: bool = False
    account_id: str | None = None
    timeout: float = 15.0
    trading: bool = False
    policy_file: Path | None = None
    live_opt_in: bool = False
    preview_ttl: float = DEFAULT_TTL
    late_apply_window: float | None = None
    journal: Path | None = None
    http: bool = False
    host: str = "127.0.0.1"
    port: int = 8777
    http_token: str | None = field(default=None, repr=False)
    seed: int | None = None

    @property
    def live(self) -> bool:
        return self.connect and is_live(self.env, self.base_url)


def load_policy(path: Path | None) -> OrderPolicy:
    """The policy file's limits, or the built-in defaults."""
    if path is None:
        return BuiltinPolicy()
    try:
        return BuiltinPolicy.from_file(path)
    except ValueError as exc:
        raise ConfigurationError(f"--policy: {exc}") from None


def check(config: McpConfig) -> None:
    """Refuse unsafe or incomplete configurations before anything starts."""
    if config.http:
        try:
            check_http_bind(config.host, config.http_token)
        except ValueError as exc:
            raise ConfigurationError(str(exc)) from None
    if config.live and config.trading and not config.live_opt_in:
        raise ConfigurationError(
            "--trading on the LIVE server (real money) needs --i-understand-live-trading "
            "(before the command) and a policy file with allow_live = true"
        )
    if config.connect and not (config.api_key and config.identifier and config.password):
        raise ConfigurationError(
            "--connect needs credentials: CAPITAL_API_KEY, CAPITAL_IDENTIFIER and "
            "CAPITAL_PASSWORD (environment or .env); without --connect the server practises "
            "against the embedded simulator"
        )


class PracticeSimulator:
    """The simulator of practice mode: a :class:`~capitalcom_sdk._simprocess.SimulatorProcess`
    (``python -m capitalcom_sim`` on a free loopback port, a user made up for this run, gone
    when this process dies). Its output goes nowhere near the MCP wire."""

    def __init__(self, process: SimulatorProcess) -> None:
        self.process = process
        self.base_url = process.base_url
        self.api_key = process.api_key
        self.identifier = process.identifier
        self.password = process.password

    def __repr__(self) -> str:
        return f"PracticeSimulator({self.base_url!r}, pid={self.process.pid})"

    @classmethod
    def start(cls, seed: int | None = None, timeout: float = 30.0) -> PracticeSimulator:
        """Start it and wait until it answers."""
        return cls(SimulatorProcess.start(SimOptions(seed=seed), timeout=timeout, extra="mcp"))

    def stop(self) -> None:
        self.process.stop()


def _safety(policy: OrderPolicy) -> Safety | None:
    """The SDK's safety layer for the server's client: the same TradingPolicy is enforced again
    when an order is sent (open positions, exposure, daily loss), with the dealing-rule checks."""
    if isinstance(policy, BuiltinPolicy):
        return Safety(checks=True, policy=policy.policy)
    return None


@contextlib.asynccontextmanager
async def build(config: McpConfig) -> AsyncIterator[CapitalMcp]:
    """The server object with its client (and the practice simulator) running."""
    check(config)
    policy = load_policy(config.policy_file)
    sim: PracticeSimulator | None = None
    if config.connect:
        client = AsyncClient(
            config.api_key,
            config.identifier,
            config.password,
            env=config.env,
            base_url=config.base_url,
            encrypted_password=config.encrypted_password,
            timeout=config.timeout,
            safety=_safety(policy),
        )
    else:
        sim = await anyio.to_thread.run_sync(PracticeSimulator.start, config.seed)
        log.info("practice mode: embedded simulator on %s", sim.base_url)
        client = AsyncClient(
            sim.api_key,
            sim.identifier,
            sim.password,
            base_url=sim.base_url,
            timeout=config.timeout,
            safety=_safety(policy),
        )
    options = ServerOptions(
        trading=config.trading,
        policy=policy,
        preview_ttl=config.preview_ttl,
        late_apply_window=config.late_apply_window,
        journal=config.journal,
        live=config.live,
        mode="connected" if config.connect else "practice (embedded simulator, no real account)",
    )
    app = CapitalMcp(client, options)
    try:
        if config.connect and config.account_id:
            login = await client.session.login()
            if login.current_account_id != config.account_id:
                await client.session.switch_account(config.account_id)
        yield app
    finally:
        app.journal.close()
        await client.aclose()
        if sim is not None:
            await anyio.to_thread.run_sync(sim.stop)


async def serve(config: McpConfig) -> None:
    """Build and serve until the client disconnects (stdio) or the process is stopped (HTTP)."""
    async with build(config) as app:
        if config.http:
            await serve_http(app, config.host, config.port, config.http_token)
        else:
            await _serve_stdio(app)


def run(config: McpConfig) -> None:
    """Blocking entry point of ``capitalcom mcp``."""
    check(config)
    anyio.run(serve, config)
