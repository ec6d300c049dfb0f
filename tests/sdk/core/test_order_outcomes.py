"""Order safety, round 2 (issue 12 items 1, 3, 4, 5, 6): every test runs the sync and the async
client against the simulator over real sockets; the simulator's engine is the ground truth."""

from __future__ import annotations

import inspect
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from capitalcom_sdk import AsyncClient, Client, OrderOutcomeUnknown
from capitalcom_sdk._reconcile import ReconcileStatus
from capitalcom_sdk.errors import (
    CapitalError,
    InvalidRequestError,
    ReconcileAccountError,
    UnexpectedResponseError,
)
from capitalcom_sim.config import SimConfig, single_user
from tests.conftest import SimHandle

EPIC = "EURUSD"
SIZE = 100.0
START_MS = 1_795_003_200_000  # a Wednesday 12:00 UTC: every market open
CONFIRMS = "re:^/api/v1/confirms/"


@pytest.fixture
def sim_config() -> SimConfig:
    return SimConfig(users=(single_user(),), rate_limits=False, seed=7, start_ms=START_MS)


class Either:
    """The sync or the async client behind one awaitable face (``await c.call(...)``)."""

    def __init__(self, client: Client | AsyncClient) -> None:
        self.client = client

    async def call(self, dotted: str, *args: Any, **kwargs: Any) -> Any:
        target: Any = self.client
        for name in dotted.split("."):
            target = getattr(target, name)
        result = target(*args, **kwargs)
        return await result if inspect.isawaitable(result) else result


@pytest.fixture(params=["sync", "async"])
async def either(request: pytest.FixtureRequest, sim: SimHandle) -> AsyncIterator[Either]:
    timeout = httpx.Timeout(0.5, connect=5.0)
    if request.param == "sync":
        with Client(**sim.client_kwargs(), rate_limit=False, timeout=timeout) as client:
            client.session.login()
            yield Either(client)
    else:
        async with AsyncClient(**sim.client_kwargs(), rate_limit=False, timeout=timeout) as aio:
            await aio.session.login()
            yield Either(aio)


def fault(sim: SimHandle, method: str, path: str, kind: str, **extra: object) -> None:
    sim.state.faults.add({"method": method, "path": path, "kind": kind, **extra})


def account(sim: SimHandle, index: int = 0) -> str:
    return sim.state.config.users[0].accounts[index].account_id


def positions(sim: SimHandle, index: int = 0) -> list[str]:
    return [p.deal_id for p in sim.state.engine.positions(account(sim, index))]


def orders(sim: SimHandle) -> list[str]:
    return [o.deal_id for o in sim.state.engine.working_orders(account(sim))]


def requests(sim: SimHandle, key: str) -> int:
    return int(sim.state.stats.snapshot()["requests"].get(key, 0))


# ---- item 1: the confirm poll failing after the write went in ------------------------------
CONFIRM_FAILURES = [
    {"kind": "status", "status": 503},
    {"kind": "status", "status": 500, "errorCode": "error.internal"},
    {"kind": "drop"},
    {"kind": "timeout", "latencyMs": 3000},
    {"kind": "status", "status": 401, "errorCode": "error.invalid.api.key"},
    {"kind": "status", "status": 404, "errorCode": "error.not-found.dealId"},
    {"kind": "status", "status": 400, "errorCode": "error.bad.request"},
]


@pytest.mark.parametrize(
    "failure", CONFIRM_FAILURES, ids=lambda f: f"{f['kind']}-{f.get('status')}"
)
async def test_a_failing_confirm_poll_after_an_open_is_an_unknown_outcome_and_is_found(
    either: Either, sim: SimHandle, failure: dict[str, Any]
) -> None:
    fault(sim, "GET", CONFIRMS, times=None, **failure)
    with pytest.raises(OrderOutcomeUnknown) as info:
        await either.call("positions.open", EPIC, "BUY", SIZE)
    (opened,) = positions(sim)  # the order is on the server
    exc = info.value
    assert exc.deal_reference is not None
    assert exc.deal_reference.startswith("o_")
    assert exc.account_id == account(sim)
    sim.state.faults.clear()
    result = await either.call("reconcile", exc, late_apply_window=0)
    assert (result.status, result.deal_id) == (ReconcileStatus.FOUND, opened)
    assert result.confirm is not None  # settled by the reference
    assert requests(sim, "POST /api/v1/positions") == 1


async def test_a_confirm_poll_failing_for_good_is_still_found_by_the_search(
    either: Either, sim: SimHandle
) -> None:
    fault(sim, "GET", CONFIRMS, "status", status=503, times=None)
    with pytest.raises(OrderOutcomeUnknown) as info:
        await either.call("positions.open", EPIC, "BUY", SIZE)
    result = await either.call("reconcile", info.value, late_apply_window=0)
    assert (result.status, result.deal_id) == (ReconcileStatus.FOUND, positions(sim)[0])


async def test_failing_confirm_polls_of_update_close_create_cancel_are_unknown_outcomes(
    either: Either, sim: SimHandle
) -> None:
    opened = await either.call("positions.open", EPIC, "BUY", SIZE)
    deal_id = opened.affected_deals[0].deal_id
    fault(sim, "GET", CONFIRMS, "status", status=400, errorCode="error.bad.request")
    stop = round((opened.level or 1.0) - 0.01, 5)
    with pytest.raises(OrderOutcomeUnknown) as amending:
        await either.call("positions.update", deal_id, stop_level=stop)
    sim.state.faults.clear()
    amended = await either.call("reconcile", amending.value, late_apply_window=0)
    assert (amended.status, amended.deal_id) == (ReconcileStatus.FOUND, deal_id)
    # times=None: the poll is a read, so the client retries it within its budget first.
    fault(sim, "GET", CONFIRMS, "drop", times=None)
    with pytest.raises(OrderOutcomeUnknown) as closing:
        await either.call("positions.close", deal_id)
    sim.state.faults.clear()
    assert closing.value.intent.deal_id == deal_id
    assert positions(sim) == []
    closed = await either.call("reconcile", closing.value, late_apply_window=0)
    assert (closed.status, closed.deal_id) == (ReconcileStatus.FOUND, deal_id)

    fault(sim, "GET", CONFIRMS, "status", status=503, times=None)
    with pytest.raises(OrderOutcomeUnknown) as creating:
        await either.call("orders.create", EPIC, "BUY", SIZE, 0.5, "LIMIT")
    sim.state.faults.clear()
    (order_id,) = orders(sim)
    created = await either.call("reconcile", creating.value, late_apply_window=0)
    assert (created.status, created.deal_id) == (ReconcileStatus.FOUND, order_id)

    fault(sim, "GET", CONFIRMS, "status", status=500, errorCode="error.internal", times=None)
    with pytest.raises(OrderOutcomeUnknown) as cancelling:
        await either.call("orders.delete", order_id)
    sim.state.faults.clear()
    assert orders(sim) == []
    cancelled = await either.call("reconcile", cancelling.value, late_apply_window=0)
    assert cancelled.status is ReconcileStatus.FOUND


# ---- item 3: an identical earlier order ----------------------------------------------------
async def test_an_identical_order_placed_just_before_is_never_the_answer(
    either: Either, sim: SimHandle
) -> None:
    first = await either.call("positions.open", EPIC, "BUY", SIZE)  # scaling in: same order twice
    fault(sim, "POST", "re:^/api/v1/positions$", "drop")  # the second is lost before it applies
    with pytest.raises(OrderOutcomeUnknown) as info:
        await either.call("positions.open", EPIC, "BUY", SIZE)
    result = await either.call("reconcile", info.value, late_apply_window=0)
    assert result.status is ReconcileStatus.NOT_PLACED  # not the first order's deal
    assert positions(sim) == first.opened_deal_ids


async def test_the_lost_identical_order_is_found_beside_the_earlier_one(
    either: Either, sim: SimHandle
) -> None:
    first = await either.call("positions.open", EPIC, "BUY", SIZE)
    fault(sim, "POST", "re:^/api/v1/positions$", "apply_then_drop")
    with pytest.raises(OrderOutcomeUnknown) as info:
        await either.call("positions.open", EPIC, "BUY", SIZE)
    result = await either.call("reconcile", info.value, late_apply_window=0)
    (second,) = set(positions(sim)) - set(first.opened_deal_ids)
    assert (result.status, result.deal_id) == (ReconcileStatus.FOUND, second)


async def test_an_identical_order_of_another_client_just_before_makes_it_ambiguous(
    either: Either, sim: SimHandle
) -> None:
    with Client(**sim.client_kwargs(), rate_limit=False) as other:
        other.positions.open(EPIC, "BUY", SIZE)  # unknown to this client
    sim.state.move_clock(advance_seconds=0.3)  # 0.3 s older than our request: inside the skew
    fault(sim, "POST", "re:^/api/v1/positions$", "drop")
    with pytest.raises(OrderOutcomeUnknown) as info:
        await either.call("positions.open", EPIC, "BUY", SIZE)
    result = await either.call("reconcile", info.value, late_apply_window=0)
    assert result.status is ReconcileStatus.AMBIGUOUS  # it cannot tell: never FOUND
    assert len(result.candidates) == 1


async def test_two_identical_lost_orders_with_one_deal_cannot_be_told_apart(
    either: Either, sim: SimHandle
) -> None:
    fault(sim, "POST", "re:^/api/v1/positions$", "apply_then_drop")
    with pytest.raises(OrderOutcomeUnknown) as applied:
        await either.call("positions.open", EPIC, "BUY", SIZE)
    fault(sim, "POST", "re:^/api/v1/positions$", "drop")
    with pytest.raises(OrderOutcomeUnknown) as dropped:
        await either.call("positions.open", EPIC, "BUY", SIZE)
    for lost in (applied.value, dropped.value):
        result = await either.call("reconcile", lost, late_apply_window=0)
        assert result.status is ReconcileStatus.AMBIGUOUS  # either could own the one deal
        assert len(result.candidates) == 1
    assert len(positions(sim)) == 1


# ---- item 4: an order applied late ---------------------------------------------------------
async def test_an_order_applied_after_the_client_gave_up_is_not_reported_not_placed(
    either: Either, sim: SimHandle
) -> None:
    fault(sim, "POST", "re:^/api/v1/positions$", "apply_late", applyDelayMs=300)
    with pytest.raises(OrderOutcomeUnknown) as info:
        await either.call("positions.open", EPIC, "BUY", SIZE)
    early = await either.call("reconcile", info.value, late_apply_window=5.0)
    assert early.status is ReconcileStatus.AMBIGUOUS  # nothing yet, but it may still come
    assert early.check_after is not None
    assert early.check_after > datetime.now(UTC)
    settled = await either.call("reconcile", info.value, late_apply_window=5.0, wait=True)
    (opened,) = positions(sim)
    assert (settled.status, settled.deal_id) == (ReconcileStatus.FOUND, opened)


async def test_not_placed_only_after_the_late_apply_window(either: Either, sim: SimHandle) -> None:
    fault(sim, "POST", "re:^/api/v1/positions$", "drop")
    with pytest.raises(OrderOutcomeUnknown) as info:
        await either.call("positions.open", EPIC, "BUY", SIZE)
    gave_up = info.value.intent.gave_up_at
    assert gave_up is not None
    result = await either.call("reconcile", info.value, late_apply_window=0.4, wait=True)
    assert result.status is ReconcileStatus.NOT_PLACED
    assert time.time() >= gave_up + 0.4
    assert positions(sim) == []


async def test_a_close_held_past_the_timeout_and_applied_later_is_not_not_placed(
    either: Either, sim: SimHandle
) -> None:
    deal_id = (await either.call("positions.open", EPIC, "BUY", SIZE)).affected_deals[0].deal_id
    fault(sim, "DELETE", f"/api/v1/positions/{deal_id}", "latency", latencyMs=900)
    with pytest.raises(OrderOutcomeUnknown) as info:
        await either.call("positions.close", deal_id)
    early = await either.call("reconcile", info.value, late_apply_window=5.0)
    assert (early.status, early.deal_id) == (ReconcileStatus.AMBIGUOUS, deal_id)
    settled = await either.call("reconcile", info.value, late_apply_window=5.0, wait=True)
    assert settled.status is ReconcileStatus.FOUND
    assert positions(sim) == []


# ---- item 5: answers that are not the API's own --------------------------------------------
NON_API_ANSWERS = [
    {"status": 200},
    {"status": 204},
    {"status": 302, "headers": {"Location": "http://127.0.0.1:9/login"}},
    {"status": 200, "body": "<html><body>Service busy</body></html>", "contentType": "text/html"},
    {"status": 200, "body": "{}", "contentType": "application/json"},
    {"status": 200, "apply": True, "truncate": True},
    {"status": 400, "body": "Bad Request"},
    {"status": 403, "body": "<html>Forbidden by WAF</html>", "contentType": "text/html"},
    {"status": 404},
    {"status": 408, "body": "Request Timeout"},
    {"status": 499},
    {"status": 400, "body": '{"error": "bad"}', "contentType": "application/json"},
]


# A truncated answer is cut from the real one, so it exists only for an applied write.
NON_API_CASES = [
    pytest.param({**answer, "apply": applied}, id=f"{i}-{answer['status']}-{label}")
    for i, answer in enumerate(NON_API_ANSWERS)
    for applied, label in ((True, "applied"), (False, "not-applied"))
    if applied or not answer.get("truncate")
]


@pytest.mark.parametrize("spec", NON_API_CASES)
async def test_a_non_api_answer_to_an_order_is_an_unknown_outcome(
    either: Either, sim: SimHandle, spec: dict[str, Any]
) -> None:
    applied = bool(spec["apply"])
    fault(sim, "POST", "re:^/api/v1/positions$", "answer", **spec)
    with pytest.raises(OrderOutcomeUnknown) as info:
        await either.call("positions.open", EPIC, "BUY", SIZE)
    result = await either.call("reconcile", info.value, late_apply_window=0)
    expected = ReconcileStatus.FOUND if applied else ReconcileStatus.NOT_PLACED
    assert result.status is expected
    assert len(positions(sim)) == int(applied)
    assert requests(sim, "POST /api/v1/positions") == 1


async def test_the_apis_own_error_body_is_still_a_definitive_rejection(
    either: Either, sim: SimHandle
) -> None:
    fault(
        sim, "POST", "re:^/api/v1/positions$", "status", status=400, errorCode="error.invalid.size"
    )
    with pytest.raises(InvalidRequestError) as info:
        await either.call("positions.open", EPIC, "BUY", SIZE)
    assert info.value.error_code == "error.invalid.size"


@pytest.mark.parametrize(
    "answer",
    [
        {"status": 200, "body": "<html>portal</html>", "contentType": "text/html"},
        {"status": 200, "apply": True, "truncate": True},
        {"status": 302, "headers": {"Location": "http://127.0.0.1:9/"}},
        {"status": 200},
    ],
    ids=["html", "truncated", "redirect", "empty"],
)
async def test_a_garbage_answer_to_a_read_is_a_capital_error(
    either: Either, sim: SimHandle, answer: dict[str, Any]
) -> None:
    fault(sim, "GET", "re:^/api/v1/positions$", "answer", **answer)
    with pytest.raises(CapitalError) as info:
        await either.call("positions.list")
    assert isinstance(info.value, UnexpectedResponseError)


# ---- item 6: reconcile after an account switch ---------------------------------------------
async def test_reconcile_reads_the_account_the_order_was_sent_on(
    either: Either, sim: SimHandle
) -> None:
    fault(sim, "POST", "re:^/api/v1/positions$", "apply_then_drop")
    with pytest.raises(OrderOutcomeUnknown) as info:
        await either.call("positions.open", EPIC, "BUY", SIZE)
    assert info.value.account_id == account(sim, 0)
    await either.call("session.switch_account", account(sim, 1))
    with pytest.raises(ReconcileAccountError) as refused:
        await either.call("reconcile", info.value, late_apply_window=0)
    assert refused.value.account_id == account(sim, 0)
    assert account(sim, 0) in str(refused.value)
    assert positions(sim, 1) == []  # nothing was re-sent on the other account
    await either.call("session.switch_account", account(sim, 0))
    result = await either.call("reconcile", info.value, late_apply_window=0)
    assert (result.status, result.deal_id) == (ReconcileStatus.FOUND, positions(sim, 0)[0])


BAD_GZIP = {"status": 200, "body": "not gzip at all", "headers": {"Content-Encoding": "gzip"}}


async def test_an_undecodable_answer_is_a_capital_error_on_reads_and_unknown_on_orders(
    either: Either, sim: SimHandle
) -> None:
    """httpx raises DecodingError (not a TransportError) for a body it cannot decode."""
    fault(sim, "GET", "re:^/api/v1/positions$", "answer", times=None, **BAD_GZIP)
    with pytest.raises(CapitalError):
        await either.call("positions.list")
    fault(sim, "POST", "re:^/api/v1/positions$", "answer", apply=True, **BAD_GZIP)
    with pytest.raises(OrderOutcomeUnknown) as info:
        await either.call("positions.open", EPIC, "BUY", SIZE)
    sim.state.faults.clear()
    result = await either.call("reconcile", info.value, late_apply_window=0)
    assert (result.status, result.deal_id) == (ReconcileStatus.FOUND, positions(sim)[0])
