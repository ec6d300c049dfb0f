"""The documented rate limits: 429 error.too-many.requests, counted per user / key / account."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from capitalcom_sim.config import (
    DEFAULT_PASSWORD,
    SimConfig,
    UserConfig,
    default_accounts,
    single_user,
)
from capitalcom_sim.ratelimit import HOURLY, TOPUP_DAILY, Caller, RateLimiter, limits_for
from capitalcom_sim.state import SimState
from tests.conftest import SimHandle

TOO_MANY = {"errorCode": "error.too-many.requests"}


class FakeMonotonic:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def sim_config() -> SimConfig:
    accounts = default_accounts(client_index=1)
    second = UserConfig("87654321", "second@example.com", "key-2", DEFAULT_PASSWORD, accounts)
    return SimConfig(users=(single_user(), second), rate_limits=True, seed=7)


@pytest.fixture
def clock(sim: SimHandle) -> FakeMonotonic:
    """Put the limiter on a fake monotonic clock so windows are exact and tests never sleep."""
    fake = FakeMonotonic()
    sim.state.limiter = RateLimiter(monotonic=fake)
    return fake


@pytest.fixture
def http(sim: SimHandle) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sim.base_url + "/api/v1", timeout=10) as client:
        yield client


def _login(http: httpx.Client, api_key: str, identifier: str, password: str) -> dict[str, str]:
    response = http.post(
        "/session",
        headers={"X-CAP-API-KEY": api_key},
        json={"identifier": identifier, "password": password},
    )
    assert response.status_code == 200, response.text
    headers = response.headers
    return {"CST": headers["CST"], "X-SECURITY-TOKEN": headers["X-SECURITY-TOKEN"]}


def _stats(sim: SimHandle) -> dict[str, int]:
    rejected: dict[str, int] = httpx.get(f"{sim.base_url}/_sim/stats").json()["rejected_429"]
    return rejected


def test_general_limit_is_ten_per_second_per_user(
    sim: SimHandle, http: httpx.Client, clock: FakeMonotonic
) -> None:
    tokens = _login(http, sim.api_key, sim.identifier, sim.password)
    statuses = [http.get("/ping", headers=tokens).status_code for _ in range(9)]
    assert statuses == [200] * 9  # login counted as the first of ten
    rejected = http.get("/ping", headers=tokens)
    assert (rejected.status_code, rejected.json()) == (429, TOO_MANY)
    clock.now += 0.5
    assert http.get("/ping", headers=tokens).status_code == 429  # sliding window
    clock.now += 0.51
    assert http.get("/ping", headers=tokens).status_code == 200
    assert _stats(sim)["general"] == 2


def test_general_limit_does_not_spill_over_to_another_user(
    sim: SimHandle, http: httpx.Client, clock: FakeMonotonic
) -> None:
    mine = _login(http, sim.api_key, sim.identifier, sim.password)
    for _ in range(9):
        http.get("/ping", headers=mine)
    assert http.get("/ping", headers=mine).status_code == 429
    theirs = _login(http, "key-2", "second@example.com", sim.password)
    assert http.get("/ping", headers=theirs).status_code == 200


def test_login_limit_is_one_per_second_per_api_key(
    sim: SimHandle, http: httpx.Client, clock: FakeMonotonic
) -> None:
    body = {"identifier": sim.identifier, "password": sim.password}
    headers = {"X-CAP-API-KEY": sim.api_key}
    assert http.post("/session", headers=headers, json=body).status_code == 200
    second = http.post("/session", headers=headers, json=body)
    assert (second.status_code, second.json()) == (429, TOO_MANY)
    other = http.post(
        "/session",
        headers={"X-CAP-API-KEY": "key-2"},
        json={"identifier": "second@example.com", "password": sim.password},
    )
    assert other.status_code == 200
    clock.now += 1.0
    assert http.post("/session", headers=headers, json=body).status_code == 200
    assert _stats(sim)["session"] == 1


def test_order_pacing_is_one_per_tenth_of_a_second(
    sim: SimHandle, http: httpx.Client, clock: FakeMonotonic
) -> None:
    tokens = _login(http, sim.api_key, sim.identifier, sim.password)
    body = {"epic": "SILVER", "direction": "BUY", "size": 1}
    clock.now += 1.0
    first = http.post("/positions", headers=tokens, json=body)
    assert first.status_code != 429
    second = http.post("/workingorders", headers=tokens, json=body)  # both endpoints share it
    assert (second.status_code, second.json()) == (429, TOO_MANY)
    clock.now += 0.1
    assert http.post("/positions", headers=tokens, json=body).status_code != 429
    assert _stats(sim)["trading"] == 1


def test_hourly_order_budget_on_demo(
    sim: SimHandle, http: httpx.Client, clock: FakeMonotonic
) -> None:
    sim.state.limiter.limits[HOURLY] = (3, 3600.0)
    tokens = _login(http, sim.api_key, sim.identifier, sim.password)
    body = {"epic": "SILVER", "direction": "BUY", "size": 1}
    for _ in range(3):
        clock.now += 1.0
        assert http.post("/positions", headers=tokens, json=body).status_code != 429
    clock.now += 1.0
    assert http.post("/workingorders", headers=tokens, json=body).status_code == 429
    clock.now += 3600.0
    assert http.post("/positions", headers=tokens, json=body).status_code != 429
    assert _stats(sim)["hourly"] == 1


def test_top_up_limits_per_account(
    sim: SimHandle, http: httpx.Client, clock: FakeMonotonic
) -> None:
    sim.state.limiter.limits[TOPUP_DAILY] = (12, 86400.0)
    tokens = _login(http, sim.api_key, sim.identifier, sim.password)
    sim.state.limiter.limits["general"] = (1000, 1.0)
    results = [http.post("/accounts/topUp", headers=tokens, json={"amount": 1}) for _ in range(11)]
    assert [r.status_code == 429 for r in results] == [False] * 10 + [True]
    clock.now += 1.0
    more = [http.post("/accounts/topUp", headers=tokens, json={"amount": 1}) for _ in range(3)]
    assert [r.status_code == 429 for r in more] == [False, False, True]  # daily cap of 12 here
    assert _stats(sim)["topup"] == 1
    assert _stats(sim)["topup_daily"] == 1


def test_control_plane_and_rejected_requests_do_not_count(
    sim: SimHandle, http: httpx.Client, clock: FakeMonotonic
) -> None:
    tokens = _login(http, sim.api_key, sim.identifier, sim.password)
    for _ in range(50):
        assert httpx.get(f"{sim.base_url}/_sim/clock").status_code == 200
    for _ in range(9):
        http.get("/ping", headers=tokens)
    for _ in range(5):
        assert http.get("/ping", headers=tokens).status_code == 429
    clock.now += 1.0
    assert [http.get("/ping", headers=tokens).status_code for _ in range(10)] == [200] * 10


def test_rate_limits_off(sim: SimHandle, http: httpx.Client) -> None:
    sim.state.config.rate_limits = False
    tokens = _login(http, sim.api_key, sim.identifier, sim.password)
    assert all(http.get("/ping", headers=tokens).status_code == 200 for _ in range(30))


def test_limiter_applies_the_right_windows() -> None:
    user = Caller("c1", "k1", "a1")
    assert limits_for("GET", "/api/v1/ping", user, demo=True) == [("general", "c1")]
    assert ("hourly", "c1") in limits_for("POST", "/api/v1/positions", user, demo=True)
    assert ("hourly", "c1") not in limits_for("POST", "/api/v1/positions", user, demo=False)
    assert ("topup", "a1") in limits_for("POST", "/api/v1/accounts/topUp", user, demo=True)
    assert limits_for("GET", "/api/v1/time", Caller(None, None, None), demo=True) == []


def test_idle_buckets_are_forgotten() -> None:
    clock = FakeMonotonic()
    limiter = RateLimiter(monotonic=clock)
    for i in range(999):
        assert limiter.admit([("session", f"unknown-key-{i}")]) is None
    assert limiter.bucket_count() == 999
    clock.now += 2.0
    assert limiter.admit([("session", "fresh")]) is None  # the 1000th admission sweeps
    assert limiter.bucket_count() == 1


def test_bucket_mode_admits_a_burst_of_twenty_in_the_first_second() -> None:
    """Token bucket (capacity 10, refill 10/s): 10 at once, then one per 0.1 s on top."""
    clock = FakeMonotonic()
    limiter = RateLimiter(monotonic=clock, mode="bucket")
    general = [("general", "c1")]
    assert [limiter.admit(general) for _ in range(10)] == [None] * 10
    assert limiter.admit(general) == "general"  # the bucket is empty
    admitted = 10
    for _ in range(10):  # across the rest of the first second: one token per 0.1 s
        clock.now += 0.1
        admitted += limiter.admit(general) is None
        assert limiter.admit(general) == "general"
    assert admitted == 20


def test_window_mode_refuses_the_same_burst() -> None:
    clock = FakeMonotonic()
    limiter = RateLimiter(monotonic=clock)
    general = [("general", "c1")]
    admitted = sum(limiter.admit(general) is None for _ in range(10))
    for _ in range(9):
        clock.now += 0.1
        admitted += limiter.admit(general) is None
    assert admitted == 10  # at most 10 in any one-second span


def test_bucket_mode_rejects_record_nothing_and_refill_is_capped() -> None:
    clock = FakeMonotonic()
    limiter = RateLimiter(monotonic=clock, mode="bucket")
    session = [("session", "k")]
    assert limiter.admit(session) is None
    assert limiter.admit(session) == "session"
    clock.now += 0.5
    assert limiter.admit(session) == "session"  # half a token is not a token
    clock.now += 0.5
    assert limiter.admit(session) is None
    clock.now += 100  # idle for long: never more than the capacity (1)
    assert limiter.admit(session) is None
    assert limiter.admit(session) == "session"


def test_unknown_mode_is_refused() -> None:
    with pytest.raises(ValueError, match="bucket"):
        RateLimiter(mode="leaky")


def test_bucket_mode_over_http(sim: SimHandle, http: httpx.Client) -> None:
    """``SimConfig(rate_limit_mode="bucket")`` is what the state's limiter runs."""
    assert sim.state.limiter.mode == "window"  # the default
    assert _state_limiter_mode("bucket") == "bucket"
    fake = FakeMonotonic()
    sim.state.limiter = RateLimiter(monotonic=fake, mode="bucket")
    tokens = _login(http, sim.api_key, sim.identifier, sim.password)  # takes 1 general token
    codes = [http.get("/ping", headers=tokens).status_code for _ in range(10)]
    assert codes == [200] * 9 + [429]
    fake.now += 0.5  # five tokens back
    codes = [http.get("/ping", headers=tokens).status_code for _ in range(6)]
    assert codes == [200] * 5 + [429]


def _state_limiter_mode(mode: str) -> str:
    config = SimConfig(users=(single_user(),), rate_limit_mode=mode)
    return SimState.from_config(config).limiter.mode
