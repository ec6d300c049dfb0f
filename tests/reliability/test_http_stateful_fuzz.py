"""A stateful fuzz of the simulator's trading API over raw HTTP: no 5xx, rejections change nothing.

Complements tests/sim/test_fuzz.py (schemathesis, one request at a time from the OpenAPI
document): here a hypothesis state machine strings requests together as a client would (open,
amend, close, working orders, watchlists, preferences, top-ups, clock moves that fire stops and
orders), with bodies built from the SPEC enumerations mixed with hostile values (NaN-like
strings, huge and negative numbers, wrong types, unicode, dates with zones). After every step:

* no answer is a 5xx, and every 4xx carries a string ``errorCode``;
* a rejected request (4xx) left positions, orders, deposits, preferences and watchlists as they
  were;
* ``GET /positions`` and ``GET /workingorders`` agree with the engine, and every account's
  balance equals its deposit plus the open positions' P&L.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any, ClassVar
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    invariant,
    multiple,
    rule,
)

from capitalcom_sim.server import SimServer
from tests.conftest import SimHandle, start_sim
from tests.reliability.conftest import config, engine_state, handle

START_MS = 1_795_003_200_000  # 2026-11-18 12:00 UTC (Wednesday)
EPICS = ["GOLD", "SILVER", "EURUSD", "US500", "AAPL", "BTCUSD"]
DIRECTIONS = ["BUY", "SELL"]
ORDER_TYPES = ["LIMIT", "STOP"]
RESOLUTIONS = ["MINUTE", "MINUTE_5", "MINUTE_15", "MINUTE_30", "HOUR", "HOUR_4", "DAY", "WEEK"]
LEVERAGE_GROUPS = ["SHARES", "CURRENCIES", "INDICES", "CRYPTOCURRENCIES", "COMMODITIES"]
TRANSACTION_TYPES = ["TRADE", "DEPOSIT", "SWAP", "WITHDRAWAL", "ADJUSTMENT"]

hostile_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.text(max_size=8),
    st.sampled_from(["NaN", "Infinity", "-1", "1e400", "", "０", "١٢"]),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=1),
)
numbers = st.one_of(
    st.sampled_from([0, -1, 1e-9, 1e300, -1e300, 2**63, 0.5, 1, 2, 100, 101, 1000]),
    st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False),
    st.integers(min_value=-(10**6), max_value=10**7),
)
maybe_bad_number = st.one_of(numbers, numbers, numbers, hostile_scalars)
epics = st.one_of(st.sampled_from(EPICS), st.sampled_from(EPICS), st.text(max_size=12))
directions = st.one_of(st.sampled_from(DIRECTIONS), st.sampled_from(DIRECTIONS), hostile_scalars)
dates = st.one_of(
    st.sampled_from(
        [
            "2026-11-18T13:00:00",
            "2026-11-25T12:00:00",
            "2020-01-01T00:00:00",
            "2026-11-18T13:00:00Z",
            "2026-11-18T13:00:00+02:00",
            "2026-11-18",
            "1795521600000",
            "tomorrow",
        ]
    ),
    hostile_scalars,
)


def optional_fields(**strategies: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    """A dict holding any subset of the named fields."""
    return st.fixed_dictionaries({}, optional=strategies)


stops = optional_fields(
    stopLevel=maybe_bad_number,
    stopDistance=maybe_bad_number,
    stopAmount=maybe_bad_number,
    profitLevel=maybe_bad_number,
    profitDistance=maybe_bad_number,
    profitAmount=maybe_bad_number,
    guaranteedStop=st.one_of(st.booleans(), hostile_scalars),
    trailingStop=st.one_of(st.booleans(), hostile_scalars),
)


def _templates() -> list[tuple[re.Pattern[str], str]]:
    """The real-API path templates of the simulator's own OpenAPI document."""
    document = httpx.get(TradingMachine.sim.base_url + "/_sim/openapi.json").json()
    out = []
    for template in document["paths"]:
        pattern = re.sub(r"\\{[^/]+?\\}", "[^/]+", re.escape(template))
        out.append((re.compile(f"^{pattern}$"), template))
    return out


TEMPLATES: list[tuple[re.Pattern[str], str]] = []


def template_of(path: str) -> str:
    full = "/api/v1" + path
    return next((t for regex, t in TEMPLATES if regex.match(full)), full)


@pytest.fixture(scope="module")
def server() -> Iterator[SimServer]:
    server = start_sim(config(1, start_ms=START_MS, clock_speed=0.0, seed=99))
    try:
        yield server
    finally:
        server.stop()


class TradingMachine(RuleBasedStateMachine):
    """One client session doing arbitrary (often wrong) things; see the module docstring."""

    sim: SimHandle  # set by the test before running
    operations: ClassVar[set[str]] = set()  # "METHOD /api/v1/template" reached
    totals: ClassVar[Counter[str]] = Counter()  # "METHOD /path-root status" over the whole run
    deals = Bundle("deals")
    orders = Bundle("orders")
    watchlists = Bundle("watchlists")

    def __init__(self) -> None:
        super().__init__()
        self.sim.state.reset()
        self.sim.state.move_clock(set_ms=START_MS, speed=0.0)
        self.http = httpx.Client(base_url=self.sim.base_url + "/api/v1", timeout=10)
        self.login()

    def login(self) -> None:
        login = self.http.post(
            "/session",
            json={"identifier": self.sim.identifier, "password": self.sim.password},
            headers={"X-CAP-API-KEY": self.sim.api_key},
        )
        assert login.status_code == 200
        self.http.headers.update(
            {"CST": login.headers["CST"], "X-SECURITY-TOKEN": login.headers["X-SECURITY-TOKEN"]}
        )
        self.account = login.json()["currentAccountId"]

    def teardown(self) -> None:
        self.http.close()

    # -- sending -------------------------------------------------------------------------------
    def send(self, method: str, path: str, *, body: Any = None, params: Any = None) -> Any:
        before = engine_state(self.sim)
        response = self.http.request(method, path, json=body, params=params)
        status = response.status_code
        root = "/" + path.strip("/").split("/")[0]
        self.operations.add(f"{method} {template_of(path)}")
        self.totals[f"{method} {root} {status // 100}xx"] += 1
        assert status < 500, f"{method} {path} {body!r} {params!r} -> {status} {response.text}"
        document = response.json() if response.content else None
        if status >= 400:
            assert isinstance(document, dict), response.text
            assert isinstance(document.get("errorCode"), str), document
            assert engine_state(self.sim) == before, f"{method} {path} {body!r} changed state"
            return None
        return document

    def confirm(self, reference: str | None) -> dict[str, Any] | None:
        if reference is None:
            return None
        document = self.send("GET", f"/confirms/{reference}")
        return document if isinstance(document, dict) else None

    # -- rules ---------------------------------------------------------------------------------
    @rule(target=deals, epic=epics, direction=directions, size=maybe_bad_number, extra=stops)
    def open_position(self, epic: Any, direction: Any, size: Any, extra: dict[str, Any]) -> Any:
        answer = self.send(
            "POST", "/positions", body={"epic": epic, "direction": direction, "size": size, **extra}
        )
        confirm = self.confirm(answer and answer.get("dealReference"))
        opened = [
            d["dealId"]
            for d in (confirm or {}).get("affectedDeals", [])
            if d.get("status") == "OPENED"
        ]
        return multiple(*opened)

    @rule(
        target=deals,
        epic=st.sampled_from(EPICS),
        direction=st.sampled_from(DIRECTIONS),
        units=st.integers(min_value=1, max_value=5),
        stop_pct=st.one_of(st.none(), st.floats(min_value=0.5, max_value=5.0)),
        profit_pct=st.one_of(st.none(), st.floats(min_value=0.5, max_value=5.0)),
    )
    def open_well_formed(
        self,
        epic: str,
        direction: str,
        units: int,
        stop_pct: float | None,
        profit_pct: float | None,
    ) -> Any:
        """A request a careful client would send (so the machine reaches open positions)."""
        inst = self.sim.state.engine.instrument(epic)
        price = self.sim.state.engine.snapshot(epic).bid
        body: dict[str, Any] = {
            "epic": epic,
            "direction": direction,
            "size": round(units * inst.min_deal_size, 6),
        }
        if stop_pct is not None:
            body["stopDistance"] = round(price * stop_pct / 100, inst.decimals)
        if profit_pct is not None:
            body["profitDistance"] = round(price * profit_pct / 100, inst.decimals)
        answer = self.send("POST", "/positions", body=body)
        confirm = self.confirm(answer and answer.get("dealReference"))
        opened = [
            d["dealId"]
            for d in (confirm or {}).get("affectedDeals", [])
            if d.get("status") == "OPENED"
        ]
        return multiple(*opened)

    @rule(
        target=orders,
        epic=st.sampled_from(EPICS),
        direction=st.sampled_from(DIRECTIONS),
        order_type=st.sampled_from(ORDER_TYPES),
        away_pct=st.floats(min_value=0.2, max_value=3.0),
        good_till_hours=st.one_of(st.none(), st.integers(min_value=1, max_value=200)),
    )
    def create_well_formed_order(
        self,
        epic: str,
        direction: str,
        order_type: str,
        away_pct: float,
        good_till_hours: int | None,
    ) -> Any:
        inst = self.sim.state.engine.instrument(epic)
        price = self.sim.state.engine.snapshot(epic).bid
        # BUY LIMIT below the market, BUY STOP above it; mirrored for SELL.
        below = (direction == "BUY") == (order_type == "LIMIT")
        level = price * (1 - away_pct / 100 if below else 1 + away_pct / 100)
        body: dict[str, Any] = {
            "epic": epic,
            "direction": direction,
            "size": inst.min_deal_size,
            "level": round(level, inst.decimals),
            "type": order_type,
        }
        if good_till_hours is not None:
            now = self.sim.state.clock.now_ms() + good_till_hours * 3_600_000
            body["goodTillDate"] = datetime.fromtimestamp(now / 1000, UTC).strftime(
                "%Y-%m-%dT%H:%M:%S"
            )
        answer = self.send("POST", "/workingorders", body=body)
        confirm = self.confirm(answer and answer.get("dealReference"))
        if confirm and confirm.get("dealStatus") == "ACCEPTED":
            return multiple(confirm["dealId"])
        return multiple()

    @rule(
        epic=st.sampled_from(EPICS),
        resolution=st.sampled_from(RESOLUTIONS),
        maximum=st.integers(min_value=1, max_value=1000),
    )
    def read_prices_well_formed(self, epic: str, resolution: str, maximum: int) -> None:
        params = {"resolution": resolution, "max": str(maximum)}
        assert self.send("GET", f"/prices/{epic}", params=params) is not None

    @rule(
        target=orders,
        epic=epics,
        direction=directions,
        size=maybe_bad_number,
        level=maybe_bad_number,
        order_type=st.one_of(st.sampled_from(ORDER_TYPES), hostile_scalars),
        good_till=st.one_of(st.none(), dates),
        extra=stops,
    )
    def create_order(
        self,
        epic: Any,
        direction: Any,
        size: Any,
        level: Any,
        order_type: Any,
        good_till: Any,
        extra: dict[str, Any],
    ) -> Any:
        body = {"epic": epic, "direction": direction, "size": size, "level": level}
        body |= {"type": order_type, **extra}
        if good_till is not None:
            body["goodTillDate"] = good_till
        confirm = self.confirm(
            (self.send("POST", "/workingorders", body=body) or {}).get("dealReference")
        )
        if confirm and confirm.get("dealStatus") == "ACCEPTED":
            return multiple(confirm["dealId"])
        return multiple()

    @rule(deal=deals, extra=stops)
    def amend_position(self, deal: str, extra: dict[str, Any]) -> None:
        self.confirm(
            (self.send("PUT", f"/positions/{deal}", body=extra) or {}).get("dealReference")
        )

    @rule(deal=consumes(deals))
    def close_position(self, deal: str) -> None:
        self.confirm((self.send("DELETE", f"/positions/{deal}") or {}).get("dealReference"))

    @rule(
        deal=orders,
        level=st.one_of(st.none(), maybe_bad_number),
        good_till=st.one_of(st.none(), dates),
        extra=stops,
    )
    def amend_order(self, deal: str, level: Any, good_till: Any, extra: dict[str, Any]) -> None:
        body = dict(extra)
        if level is not None:
            body["level"] = level
        if good_till is not None:
            body["goodTillDate"] = good_till
        self.send("PUT", f"/workingorders/{deal}", body=body)

    @rule(deal=consumes(orders))
    def delete_order(self, deal: str) -> None:
        self.send("DELETE", f"/workingorders/{deal}")

    @rule(deal=st.one_of(st.text(max_size=40), st.just("006011e7-0001-54c4-0000-000080560043")))
    def touch_unknown_deal(self, deal: str) -> None:
        for method in ("GET", "PUT", "DELETE"):
            body = {"stopDistance": 5} if method == "PUT" else None
            self.send(method, "/positions/" + quote(deal, safe=""), body=body)

    @rule(
        target=watchlists,
        name=st.one_of(st.text(min_size=0, max_size=25), hostile_scalars),
        listed=st.one_of(st.lists(epics, max_size=4), hostile_scalars),
    )
    def create_watchlist(self, name: Any, listed: Any) -> Any:
        answer = self.send("POST", "/watchlists", body={"name": name, "epics": listed})
        return multiple(answer["watchlistId"]) if answer else multiple()

    @rule(
        target=watchlists,
        name=st.text(min_size=1, max_size=20).filter(str.strip),
        listed=st.lists(st.sampled_from(EPICS), max_size=3),
    )
    def create_well_formed_watchlist(self, name: str, listed: list[str]) -> Any:
        answer = self.send("POST", "/watchlists", body={"name": name, "epics": listed})
        return multiple(answer["watchlistId"]) if answer else multiple()

    @rule(watchlist=watchlists, epic=epics)
    def add_to_watchlist(self, watchlist: str, epic: Any) -> None:
        self.send("PUT", f"/watchlists/{watchlist}", body={"epic": epic})

    @rule(
        watchlist=watchlists,
        epic=st.one_of(st.sampled_from(EPICS), st.text(min_size=1, max_size=8)),
    )
    def remove_from_watchlist(self, watchlist: str, epic: str) -> None:
        if epic.strip("."):
            self.send("DELETE", f"/watchlists/{watchlist}/{quote(epic, safe='')}")

    @rule(watchlist=consumes(watchlists))
    def delete_watchlist(self, watchlist: str) -> None:
        self.send("DELETE", f"/watchlists/{watchlist}")

    @rule(
        leverages=st.one_of(
            st.dictionaries(
                st.one_of(st.sampled_from(LEVERAGE_GROUPS), st.text(max_size=5)),
                st.one_of(st.sampled_from([1, 2, 5, 10, 20, 30, 100, 600]), hostile_scalars),
                max_size=3,
            ),
            hostile_scalars,
        ),
        hedging=st.one_of(st.none(), st.booleans(), hostile_scalars),
    )
    def preferences(self, leverages: Any, hedging: Any) -> None:
        body: dict[str, Any] = {"leverages": leverages}
        if hedging is not None:
            body["hedgingMode"] = hedging
        self.send("PUT", "/accounts/preferences", body=body)

    @rule(amount=maybe_bad_number)
    def top_up(self, amount: Any) -> None:
        self.send("POST", "/accounts/topUp", body={"amount": amount})

    @rule(seconds=st.sampled_from([1, 30, 600, 3600, 86_400]))
    def advance_clock(self, seconds: int) -> None:
        """Stops, limits and working orders fire along the price path."""
        self.sim.state.move_clock(advance_seconds=seconds)
        if seconds >= 600:
            self.login()  # the session idled out (10 minutes), as it would for any client

    @rule(
        epic=epics,
        resolution=st.one_of(st.sampled_from(RESOLUTIONS), hostile_scalars),
        maximum=st.one_of(st.none(), maybe_bad_number),
        start=st.one_of(st.none(), dates),
    )
    def read_prices(self, epic: Any, resolution: Any, maximum: Any, start: Any) -> None:
        params = {"resolution": resolution, "max": maximum, "from": start}
        clean = {k: str(v) for k, v in params.items() if v is not None}
        if isinstance(epic, str) and epic.strip("."):
            self.send("GET", f"/prices/{quote(epic, safe='')}", params=clean)

    @rule(
        last_period=st.one_of(st.none(), maybe_bad_number),
        kind=st.one_of(st.none(), st.sampled_from(TRANSACTION_TYPES), st.text(max_size=6)),
        detailed=st.one_of(st.none(), st.sampled_from(["true", "false", "maybe"])),
    )
    def read_history(self, last_period: Any, kind: Any, detailed: Any) -> None:
        params = {"lastPeriod": last_period, "detailed": detailed}
        clean = {k: str(v) for k, v in params.items() if v is not None}
        self.send("GET", "/history/activity", params=clean)
        if kind is not None:
            clean = {**clean, "type": kind}
            clean.pop("detailed", None)
        self.send("GET", "/history/transactions", params=clean)

    # -- invariants ----------------------------------------------------------------------------
    @invariant()
    def api_agrees_with_the_engine(self) -> None:
        engine = self.sim.state.engine
        positions = self.send("GET", "/positions")
        listed = sorted(p["position"]["dealId"] for p in positions["positions"])
        assert listed == sorted(p.deal_id for p in engine.positions(self.account))
        working = self.send("GET", "/workingorders")
        listed = sorted(o["workingOrderData"]["dealId"] for o in working["workingOrders"])
        assert listed == sorted(o.deal_id for o in engine.working_orders(self.account))

    @invariant()
    def balance_is_deposit_plus_open_pnl(self) -> None:
        balance = self.sim.state.engine.balance(self.account)
        assert math.isfinite(balance.balance)
        assert math.isclose(
            balance.balance, balance.deposit + balance.profit_loss, abs_tol=0.011
        ), balance


@pytest.mark.slow
def test_stateful_trading_fuzz_never_5xx_and_rejections_change_nothing(server: SimServer) -> None:
    TradingMachine.sim = handle(server)
    runner = TradingMachine.TestCase
    runner.settings = settings(
        max_examples=45,
        derandomize=True,  # the same thorough run every time: CI must not flake
        stateful_step_count=40,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        database=None,
    )
    TradingMachine.totals.clear()
    TradingMachine.operations.clear()
    TEMPLATES[:] = _templates()
    runner().runTest()
    totals = TradingMachine.totals
    print(f"\nstateful fuzz: {sum(totals.values())} requests; {dict(sorted(totals.items()))}")
    assert not any(key.endswith("5xx") for key in totals)
    # The run reached the interesting states, not only rejections.
    assert totals["POST /positions 2xx"] >= 10
    assert totals["POST /workingorders 2xx"] >= 1
    assert totals["DELETE /positions 2xx"] >= 1
    assert totals["POST /positions 4xx"] >= 10
    # Every trading, watchlist and account write the OpenAPI document declares was exercised.
    writes = {
        f"{method.upper()} {template}"
        for regex, template in TEMPLATES
        for method in httpx.get(server.base_url + "/_sim/openapi.json").json()["paths"][template]
        if method in ("post", "put", "delete") and "/session" not in template
    }
    assert writes <= TradingMachine.operations, sorted(writes - TradingMachine.operations)
