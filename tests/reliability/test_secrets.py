"""No secret anywhere: API key, password, CST and X-SECURITY-TOKEN stay out of every text.

A whole session is run with every logger of the process at DEBUG (SDK, httpx, httpcore,
websockets, the simulator): logins both ways, retries, a session expiry, errors, an order whose
outcome is unknown, streaming with a forced reconnect, and CLI runs with ``--json`` and ``-vv``.
The user's API key and password are distinctive strings (tests/reliability/conftest.py) and
every CST / security token the simulator ever issued is captured from its session store, so a
plain substring search over all logs, reprs, exception messages and CLI output is meaningful.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import stat
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from capitalcom_sdk import (
    AsyncClient,
    AuthenticationError,
    CapitalError,
    Client,
    ConfigurationError,
    OrderOutcomeUnknown,
)
from capitalcom_sdk._retry import RetryPolicy
from capitalcom_sdk.cli._app import app
from capitalcom_sim.server import SimServer
from capitalcom_sim.sessions import Session, SessionStore
from tests.conftest import SimHandle, start_sim
from tests.reliability.conftest import (
    FAST_RETRY,
    SECRET_API_KEY,
    SECRET_PASSWORD,
    config,
    handle,
)

WRONG_PASSWORD = "RELIAB-wrong-pass-88qq-Xy"


class TokenCapture:
    """Wraps the simulator's session store to remember every token pair it issues."""

    def __init__(self, store: SessionStore) -> None:
        self.tokens: set[str] = set()
        self._create = store.create

        def create(*args: Any, **kwargs: Any) -> Session:
            session = self._create(*args, **kwargs)
            self.tokens.update((session.cst, session.security_token))
            return session

        store.create = create  # type: ignore[method-assign]


@pytest.fixture
def server() -> Iterator[SimServer]:
    server = start_sim(config(3))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def sim(server: SimServer) -> SimHandle:
    return handle(server)


@pytest.fixture
def capture(sim: SimHandle) -> TokenCapture:
    return TokenCapture(sim.state.sessions)


@pytest.fixture
def debug_logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.DEBUG)  # the root: every logger of the process
    for name in ("httpx", "httpcore", "websockets", "capitalcom_sdk", "capitalcom_sim"):
        caplog.set_level(logging.DEBUG, logger=name)  # restored after the test
    return caplog


def assert_no_secret(texts: list[str], secrets: set[str]) -> None:
    everything = "\n".join(texts)
    assert everything  # something was produced to search in
    for secret in secrets:
        assert len(secret) >= 12
        where = everything.find(secret)
        assert where < 0, f"secret leaked: ...{everything[max(0, where - 120) : where + 40]!r}"


def error_texts(exc: BaseException) -> list[str]:
    texts = [str(exc), repr(exc), repr(exc.args)]
    texts += [f"{k}={v!r}" for k, v in vars(exc).items()]
    return texts


def test_debug_logged_session_with_retries_expiry_errors_and_streaming_leaks_nothing(
    sim: SimHandle, capture: TokenCapture, debug_logs: pytest.LogCaptureFixture
) -> None:
    texts: list[str] = []
    with Client(**sim.client_kwargs(), retry=FAST_RETRY, rate_limit=False) as client:
        login = client.session.login()
        texts += [repr(login), login.model_dump_json()]
        login = client.session.login(encrypted=True)
        texts += [repr(login)]
        texts += [repr(client.session.details()), repr(client.general.ping())]
        # Retries after 503, a dropped connection and a 429.
        faults = sim.state.faults
        faults.add({"method": "GET", "path": "/api/v1/ping", "kind": "status", "times": 1})
        faults.add({"method": "GET", "path": "/api/v1/ping", "kind": "drop", "times": 1})
        faults.add(
            {"method": "GET", "path": "/api/v1/ping", "kind": "status", "status": 429, "times": 1}
        )
        client.general.ping()
        # The session expires on the server: one re-login, transparently.
        sim.state.expire_sessions()
        texts += [repr(client.session.details())]
        # Errors: a persistent 5xx on a read, and an order write whose outcome is unknown.
        faults.add({"method": "GET", "path": "/api/v1/session", "kind": "status", "times": None})
        with pytest.raises(CapitalError) as read_error:
            client.session.details()
        texts += error_texts(read_error.value)
        faults.clear()
        # Trading: a position opened and closed, a working order created and cancelled.
        opened = client.positions.open("GOLD", "BUY", 1, stop_distance=20, profit_distance=30)
        texts += [repr(opened), repr(client.positions.list())]
        texts += [repr(client.positions.close(opened.opened_deal_ids[0]))]
        order = client.orders.create("GOLD", "BUY", 1, 100.0, "LIMIT")
        texts += [repr(order), repr(client.orders.delete(order.deal_id))]
        texts += [repr(client.history.activity(last_period=600, detailed=True))]
        faults.add({"method": "POST", "path": "/api/v1/positions", "kind": "apply_then_drop"})
        with pytest.raises(OrderOutcomeUnknown) as unknown:
            client.positions.open("GOLD", "BUY", 1)
        texts += [*error_texts(unknown.value), repr(unknown.value.request)]
        faults.clear()
        # Streaming, then a forced drop so it reconnects (with the same or new tokens).
        with client.stream(ping_interval=5, backoff_initial=0.01) as stream:
            stream.subscribe_quotes(["GOLD"])
            assert stream.get(timeout=10) is not None
            sim.state.expire_sessions()  # the stream's session ends: it must log in again
            client.general.ping()  # REST logs in again too
            event = stream.get(timeout=10)
            assert event is not None
            texts += [repr(stream), repr(event), repr(stream.stats)]
        texts += [repr(client), repr(client._transport), repr(client._core)]
        texts += [repr(client._core.tokens), repr(client._core.credentials)]
        texts += [str(client._core.tokens), str(client._core.limiter)]
        client.session.logout()

    # A login with a wrong password; an async client with the encrypted login.
    kwargs = {**sim.client_kwargs(), "password": WRONG_PASSWORD}
    with Client(**kwargs, rate_limit=False) as bad, pytest.raises(AuthenticationError) as denied:
        bad.general.ping()
    texts += [*error_texts(denied.value), repr(bad)]

    secrets = {SECRET_API_KEY, SECRET_PASSWORD, WRONG_PASSWORD, *capture.tokens}
    assert len(capture.tokens) >= 8  # four logins at least (two explicit, two after expiry)
    records = debug_logs.records
    logged = [r.getMessage() for r in records] + [debug_logs.text]
    logged += [repr(r.args) for r in records if r.args]
    names = {r.name.split(".")[0] for r in records}
    assert {"httpcore", "capitalcom_sdk"} <= names, names  # header dumps were at DEBUG
    assert any("retrying" in m for m in logged)
    assert_no_secret(logged + texts, secrets)


async def test_async_client_with_encrypted_login_leaks_nothing(
    sim: SimHandle, capture: TokenCapture, debug_logs: pytest.LogCaptureFixture
) -> None:
    texts: list[str] = []
    async with AsyncClient(
        **sim.client_kwargs(), encrypted_password=True, retry=FAST_RETRY, rate_limit=False
    ) as client:
        await client.general.ping()
        sim.state.faults.add(
            {"method": "GET", "path": "/api/v1/ping", "kind": "status", "times": None}
        )
        with pytest.raises(CapitalError) as failed:
            await client.general.ping()
        texts += error_texts(failed.value)
        sim.state.faults.clear()
        async with client.stream(backoff_initial=0.01) as stream:
            await stream.subscribe_quotes(["GOLD", "SILVER"])
            event = await anext(aiter(stream))
            texts += [repr(stream), repr(event)]
        texts += [repr(client), repr(client._core), repr(client._transport)]
    secrets = {SECRET_API_KEY, SECRET_PASSWORD, *capture.tokens}
    assert len(capture.tokens) >= 2
    assert_no_secret(
        [r.getMessage() for r in debug_logs.records] + [debug_logs.text] + texts, secrets
    )


def _cli_env(sim: SimHandle, **overrides: str | None) -> dict[str, str | None]:
    env: dict[str, str | None] = {
        "CAPITAL_API_KEY": sim.api_key,
        "CAPITAL_IDENTIFIER": sim.identifier,
        "CAPITAL_PASSWORD": sim.password,
        "CAPITAL_BASE_URL": sim.base_url,
        "CAPITAL_ENV": None,
        "CAPITAL_ACCOUNT_ID": None,
        "COLUMNS": "200",
    }
    env.update(overrides)
    return env


def _run_cli(workdir: Path, env: dict[str, str | None], *args: str) -> tuple[int, str]:
    cwd = os.getcwd()
    os.chdir(workdir)  # no .env of the checkout; any file the CLI writes lands here
    sdk_logger = logging.getLogger("capitalcom_sdk")
    handlers, level = list(sdk_logger.handlers), sdk_logger.level
    try:
        result = CliRunner().invoke(app, list(args), env=env)
    finally:
        os.chdir(cwd)
        # `-v` adds a stderr handler to the SDK's logger and never removes it: in-process
        # runs would leave a handler on CliRunner's closed stream behind (see the report).
        sdk_logger.handlers[:] = handlers
        sdk_logger.setLevel(level)
    return result.exit_code, result.stdout + "\n" + result.stderr


def test_cli_json_and_verbose_output_leak_nothing_and_keep_tokens_only_privately(
    sim: SimHandle,
    capture: TokenCapture,
    debug_logs: pytest.LogCaptureFixture,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / ".cache"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    env = _cli_env(sim)
    outputs: list[str] = []
    runs = [
        ("--json", "session", "login"),
        ("--json", "--encrypted-password", "session", "details"),
        ("-vv", "--json", "accounts", "list"),
        ("-vv", "session", "login"),
        ("--json", "session", "switch", "0"),  # an API error in JSON
    ]
    for args in runs:
        _code, text = _run_cli(tmp_path, env, *args)
        outputs.append(text)
    code, text = _run_cli(
        tmp_path,
        _cli_env(sim, CAPITAL_PASSWORD=WRONG_PASSWORD),
        "--json",
        "-vv",
        "session",
        "login",
    )
    assert code != 0
    outputs.append(text)
    assert '"clientId"' in outputs[0]
    credentials = {SECRET_API_KEY, SECRET_PASSWORD, WRONG_PASSWORD}
    assert len(capture.tokens) >= 4  # two logins at least (the others reused the kept session)
    texts = outputs + [r.getMessage() for r in debug_logs.records] + [debug_logs.text]
    assert_no_secret(texts, credentials | capture.tokens)
    # Files the CLI left behind: private; the session cache may hold a session's tokens (that is
    # what it is for), never the API key or a password.
    files = [p for p in [*tmp_path.rglob("*"), *home.rglob("*")] if p.is_file()]
    assert home / ".cache" / "capitalcom-sdk" / "sessions.json" in files
    for path in files:
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode & 0o077 == 0, f"{path} is readable by others ({oct(mode)})"
    assert_no_secret([p.read_text(errors="replace") for p in files], credentials)


def test_cli_refuses_live_trading_writes_without_the_opt_in(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No request at all may leave: the transport refuses to connect anywhere."""
    attempts: list[httpx.Request] = []

    def refuse(self: Any, request: httpx.Request) -> httpx.Response:
        attempts.append(request)
        raise httpx.ConnectError("test: no network", request=request)

    monkeypatch.setattr(httpx.HTTPTransport, "handle_request", refuse)
    env: dict[str, str | None] = {
        "CAPITAL_API_KEY": SECRET_API_KEY,
        "CAPITAL_IDENTIFIER": "someone@example.com",
        "CAPITAL_PASSWORD": SECRET_PASSWORD,
        "CAPITAL_BASE_URL": None,
        "CAPITAL_ENV": "live",
    }
    writes = [
        ("positions", "open", "GOLD", "BUY", "1"),
        ("orders", "create", "GOLD", "BUY", "1", "1500", "--type", "LIMIT"),
        ("positions", "update", "some-deal-id", "--stop-level", "1400"),
        ("positions", "close", "some-deal-id"),
        ("orders", "cancel", "some-deal-id"),
    ]
    for args in writes:
        code, text = _run_cli(tmp_path, env, "--json", *args)
        assert code != 0, (args, text)
        assert "--i-understand-live-trading" in text, text
        assert SECRET_PASSWORD not in text
    assert attempts == []  # refused before any connection was attempted


def test_simulator_binds_loopback_unless_told_otherwise() -> None:
    server = SimServer(config(1))
    try:
        assert server.host == "127.0.0.1"
        bound = server._sock.getsockname()[0]
        assert bound == "127.0.0.1"
    finally:
        server._sock.close()
    # Not reachable on another local address of this machine (if it has one).
    with SimServer(config(1)) as running:
        addresses = {
            info[4][0]
            for info in socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET)
            if not info[4][0].startswith("127.")
        }
        for address in addresses:
            with socket.socket() as probe:
                probe.settimeout(0.5)
                assert probe.connect_ex((address, running.port)) != 0


def test_secret_registry_does_not_grow_with_every_relogin(sim: SimHandle) -> None:
    """A bot re-logs in every hour for months: the redaction registry must stay bounded.

    Every token pair ever seen is registered for redaction; a replaced pair is dead and need not
    be kept, and every log record is scanned against each entry, so growth costs memory and time.
    """
    from capitalcom_sdk._logging import registry

    with Client(**sim.client_kwargs(), rate_limit=False) as client:
        client.session.login()
        before = len(registry._secrets)
        for _ in range(50):
            sim.state.expire_sessions()
            client.general.ping()  # re-logs in: a new token pair
        after = len(registry._secrets)
    assert client._core.login_count == 51
    assert after - before <= 8, f"registry grew by {after - before} entries over 50 re-logins"


def test_cli_verbose_run_leaves_the_sdk_logger_as_it_was(
    sim: SimHandle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``capitalcom -vv`` run in-process (tests, notebooks, embedding) must clean up after itself.

    Today it adds a StreamHandler on the run's sys.stderr to the ``capitalcom_sdk`` logger and
    sets it to DEBUG for good: after a CliRunner run that stream is closed, and every later SDK
    log call in the process prints a "--- Logging error ---" traceback (slow, noisy).
    """
    logger = logging.getLogger("capitalcom_sdk")
    handlers, level = list(logger.handlers), logger.level
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        result = CliRunner().invoke(app, ["-vv", "--json", "session", "login"], env=_cli_env(sim))
        assert result.exit_code == 0, result.stdout
        left = (list(logger.handlers), logger.level)
    finally:
        os.chdir(cwd)
        logger.handlers[:] = handlers
        logger.setLevel(level)
    assert left == (handlers, level)


# ---- exception chains and tracebacks (issue 12, item 9) ------------------------------------
def chain_texts(exc: BaseException) -> list[str]:
    """Everything an exception can show: message, repr, args and attributes of it and of every
    exception in its ``__cause__`` / ``__context__`` chain, and the formatted traceback."""
    texts = ["".join(traceback.format_exception(exc))]
    seen: set[int] = set()
    pending: list[BaseException] = [exc]
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        texts += error_texts(current)
        for name in ("request", "response"):  # httpx errors carry the request (headers!)
            attached = getattr(current, name, None)
            if isinstance(attached, httpx.Request | httpx.Response):
                texts.append(repr(attached))
        pending += [e for e in (current.__cause__, current.__context__) if e is not None]
    return texts


BAD_CREDENTIALS = [
    pytest.param("api_key", SECRET_API_KEY + "\n", id="api_key-trailing-newline"),
    pytest.param("api_key", SECRET_API_KEY + "\r\n", id="api_key-crlf"),
    pytest.param("api_key", SECRET_API_KEY + "é", id="api_key-non-ascii"),
    pytest.param("api_key", SECRET_API_KEY.replace("-", "\x00", 1), id="api_key-nul"),
    pytest.param("api_key", " " + SECRET_API_KEY, id="api_key-leading-space"),
    pytest.param("identifier", "trader@example.com\n", id="identifier-newline"),
    pytest.param("password", SECRET_PASSWORD + "\n", id="password-trailing-newline"),
    pytest.param("password", SECRET_PASSWORD + "\x1b", id="password-escape"),
]


@pytest.mark.parametrize(("field", "value"), BAD_CREDENTIALS)
@pytest.mark.parametrize("client_class", [Client, AsyncClient])
def test_bad_credentials_are_refused_at_construction_naming_the_field_not_the_value(
    sim: SimHandle, client_class: type[Client] | type[AsyncClient], field: str, value: str
) -> None:
    kwargs: dict[str, Any] = {**sim.client_kwargs(), field: value}
    before = sim.state.stats.snapshot()["requests"]
    with pytest.raises(ConfigurationError) as info:
        client_class(**kwargs)
    assert field in str(info.value)
    texts = chain_texts(info.value)
    assert_no_secret(texts, {value.strip(), value})
    assert sim.state.stats.snapshot()["requests"] == before  # nothing was sent


def _failures(sim: SimHandle) -> list[tuple[str, dict[str, Any]]]:
    """(name, fault) pairs: each makes a call fail in its own way."""
    return [
        ("5xx", {"method": "GET", "path": "/api/v1/ping", "kind": "status", "times": None}),
        ("dropped", {"method": "GET", "path": "/api/v1/ping", "kind": "drop", "times": None}),
        ("timeout", {"method": "GET", "path": "/api/v1/ping", "kind": "timeout", "times": None}),
        (
            "bad-request",
            {
                "method": "GET",
                "path": "/api/v1/ping",
                "kind": "status",
                "status": 400,
                "errorCode": "error.invalid.request",
            },
        ),
        (
            "order-unknown",
            {"method": "POST", "path": "/api/v1/positions", "kind": "apply_then_drop"},
        ),
        (
            "expired-401",
            {
                "method": "GET",
                "path": "/api/v1/ping",
                "kind": "status",
                "status": 401,
                "errorCode": "error.invalid.session.token",
                "times": None,
            },
        ),
    ]


FAILURE_NAMES = ["5xx", "dropped", "timeout", "bad-request", "order-unknown", "expired-401"]


async def _fail(client: Client | AsyncClient, name: str) -> BaseException:
    call: Any = (
        (lambda: client.positions.open("GOLD", "BUY", 1))
        if name == "order-unknown"
        else client.general.ping
    )
    try:
        result = call()
        if asyncio.iscoroutine(result):
            await result
    except CapitalError as exc:
        return exc
    raise AssertionError(f"{name}: no error")


@pytest.mark.parametrize("name", FAILURE_NAMES)
@pytest.mark.parametrize("client_class", [Client, AsyncClient])
async def test_no_secret_in_any_exception_chain_or_traceback(
    sim: SimHandle,
    capture: TokenCapture,
    client_class: type[Client] | type[AsyncClient],
    name: str,
) -> None:
    fault = dict(_failures(sim))[name]
    client = client_class(
        **sim.client_kwargs(),
        rate_limit=False,
        retry=RetryPolicy(max_retries=1, base_delay=0.01),
        timeout=httpx.Timeout(5.0, read=0.3),
    )
    try:
        if isinstance(client, AsyncClient):
            await client.session.login()
        else:
            await asyncio.to_thread(client.session.login)
        sim.state.faults.add(fault)
        if isinstance(client, AsyncClient):
            error = await _fail(client, name)
        else:
            error = await asyncio.to_thread(lambda: asyncio.run(_fail(client, name)))
    finally:
        sim.state.faults.clear()
        if isinstance(client, AsyncClient):
            await client.aclose()
        else:
            client.close()
    texts = chain_texts(error)
    assert len(capture.tokens) >= 2
    assert_no_secret(texts, {SECRET_API_KEY, SECRET_PASSWORD, *capture.tokens})


@pytest.mark.parametrize("client_class", [Client, AsyncClient])
async def test_no_secret_in_the_chain_of_a_refused_login_or_a_refused_connection(
    sim: SimHandle, client_class: type[Client] | type[AsyncClient]
) -> None:
    errors: list[BaseException] = []
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}"
    for kwargs in (
        {**sim.client_kwargs(), "password": WRONG_PASSWORD},
        {**sim.client_kwargs(), "base_url": closed},
        {**sim.client_kwargs(), "password": WRONG_PASSWORD, "encrypted_password": True},
    ):
        client = client_class(**kwargs, rate_limit=False, retry=RetryPolicy(max_retries=0))
        try:
            if isinstance(client, AsyncClient):
                await client.general.ping()
            else:
                await asyncio.to_thread(client.general.ping)
        except CapitalError as exc:
            errors.append(exc)
        finally:
            if isinstance(client, AsyncClient):
                await client.aclose()
            else:
                client.close()
    assert [type(e).__name__ for e in errors] == [
        "AuthenticationError",
        "NetworkError",
        "AuthenticationError",
    ]
    texts = [text for error in errors for text in chain_texts(error)]
    assert_no_secret(texts, {SECRET_API_KEY, SECRET_PASSWORD, WRONG_PASSWORD})


@pytest.mark.parametrize("encrypted", [False, True])
@pytest.mark.parametrize("client_class", [Client, AsyncClient])
async def test_a_refused_login_traceback_with_local_variables_shows_no_password(
    sim: SimHandle, client_class: type[Client] | type[AsyncClient], encrypted: bool
) -> None:
    """Tracebacks printed with locals (pytest --showlocals, rich, error trackers): the SDK's
    own frames hold no password in a local or in a local's repr. (The caller's frames are the
    caller's; a constructor's parameters are locals of the constructor.)"""

    def failing_call() -> BaseException:
        kwargs = {**sim.client_kwargs(), "password": WRONG_PASSWORD}
        client = client_class(**kwargs, rate_limit=False, encrypted_password=encrypted)
        del kwargs
        try:
            result = client.general.ping()
            if asyncio.iscoroutine(result):
                asyncio.run(result)
        except AuthenticationError as exc:
            return exc
        finally:
            if isinstance(client, Client):
                client.close()
        raise AssertionError("no error")

    error = await asyncio.to_thread(failing_call)
    shown: traceback.TracebackException | None = traceback.TracebackException.from_exception(
        error, capture_locals=True
    )
    sdk_frames: list[str] = []
    while shown is not None:
        for frame in shown.stack:
            if f"{os.sep}capitalcom_sdk{os.sep}" in frame.filename:
                sdk_frames.append(f"{frame.name}: {frame.locals!r}")
        shown = shown.__cause__ or shown.__context__
    assert any(line.startswith("login_flow") for line in sdk_frames)  # the login's own frames
    assert_no_secret(sdk_frames, {WRONG_PASSWORD, SECRET_API_KEY})
