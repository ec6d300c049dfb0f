"""1,000 position opens under faults on the order POSTs and on the confirm polls: nothing lost,
nothing twice.

Eight users trade at once (one AsyncClient each, all in one event loop). Every tenth size is
ordered twice in a row (a bot scaling in: two identical orders within a second), every other
size once, so a duplicate shows up as more positions of a size than were ordered and a lost
order as fewer. The faults are injected by the simulator with seeded probabilities (first
matching rule wins):

====================  ======  ===========================================  ==================
on ``POST /positions``  share   what the server does                       right verdict
====================  ======  ===========================================  ==================
timeout               2 %     holds the request unapplied until the        NOT_PLACED
                              client gives up (short client read timeout)
drop                  2 %     closes the connection unapplied              NOT_PLACED
status 502 / 503      1.5 %   answers 502 / 503 unapplied                  NOT_PLACED
                      each
apply_then_drop       3 %     opens the position, then drops the answer    FOUND (that deal)
apply_late            2 %     holds it until the client gave up, then      FOUND, after the
                              opens the position (50 ms later)             late-apply window
answer (HTML 200)     1 %     opens it, answers with a proxy's HTML page   FOUND
answer (403, text)    1 %     a WAF's 403 without errorCode, unapplied     NOT_PLACED
====================  ======  ===========================================  ==================

and on ``GET /confirms/{ref}`` (each poll): 400 / 401 / 404 answers that end the poll (1 % each;
the order is on the server: FOUND) and 503s the client retries (2 %).

Every ambiguous outcome must surface as :class:`OrderOutcomeUnknown` (never retried by the SDK),
and ``client.reconcile(exc, wait=True)`` must name the deal the simulator really opened, or say
NOT_PLACED only once the late-apply window has passed and the simulator opened nothing; the
worker then re-sends, as a user would. At the end each account holds exactly as many positions
of each size as were ordered: the ground truth is the engine itself.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import httpx
import pytest

from capitalcom_sdk import AsyncClient, Client, OrderOutcomeUnknown
from capitalcom_sdk._reconcile import ReconcileStatus
from capitalcom_sim.server import SimServer
from tests.conftest import SimHandle, start_sim
from tests.reliability.conftest import FAST_RETRY, config, handle

USERS = 8
OPENS = 1000
EPIC = "EURUSD"  # min size 100, increment 1: sizes 100, 101, ... are all valid and cheap
# 2026-11-18 (a Wednesday) 12:00 UTC: every market of the simulator is open.
START_MS = 1_795_003_200_000
ORDER_PATH = "re:^/api/v1/positions$"
CONFIRM_PATH = "re:^/api/v1/confirms/"
LATE_APPLY_MS = 50
# How long after giving up a write may still be applied: well above the simulator's 50 ms.
LATE_WINDOW = 0.4
FAULTS: list[tuple[float, dict[str, object]]] = [
    (0.02, {"kind": "timeout", "latencyMs": 3000}),
    (0.02, {"kind": "drop"}),
    (0.015, {"kind": "status", "status": 502, "errorCode": "error.bad.gateway"}),
    (0.015, {"kind": "status", "status": 503, "errorCode": "error.service.unavailable"}),
    (0.03, {"kind": "apply_then_drop"}),
    (0.02, {"kind": "apply_late", "applyDelayMs": LATE_APPLY_MS}),
    (
        0.01,
        {
            "kind": "answer",
            "status": 200,
            "apply": True,
            "body": "<html><body>Please wait</body></html>",
            "contentType": "text/html",
        },
    ),
    (0.01, {"kind": "answer", "status": 403, "body": "Forbidden"}),
]
APPLIED_KINDS = {"apply_then_drop", "apply_late", "answer:200"}
CONFIRM_FAULTS: list[tuple[float, dict[str, object]]] = [
    (0.01, {"kind": "status", "status": 400, "errorCode": "error.bad.request"}),
    (0.01, {"kind": "status", "status": 401, "errorCode": "error.invalid.api.key"}),
    (0.01, {"kind": "status", "status": 404, "errorCode": "error.not-found.dealId"}),
    (0.02, {"kind": "status", "status": 503, "errorCode": "error.service.unavailable"}),
]


@dataclass
class Tally:
    opened: int = 0
    unknown: int = 0
    verdicts: Counter[str] = field(default_factory=Counter)
    wrong: list[str] = field(default_factory=list)
    sends: int = 0
    waited_for_late: int = 0
    poll_failed: int = 0  # unknown after the write was answered (the confirm poll failed)


def rules(path: str, method: str, faults: list[tuple[float, dict[str, object]]]) -> list[dict]:
    """Rules whose conditional probabilities give the target shares overall."""
    out = []
    left = 1.0
    for share, spec in faults:
        out.append(
            {"method": method, "path": path, "times": None, "probability": share / left} | spec
        )
        left -= share
    return out


def fault_rules() -> list[dict[str, object]]:
    return rules(ORDER_PATH, "POST", FAULTS) + rules(CONFIRM_PATH, "GET", CONFIRM_FAULTS)


def plan(count: int) -> list[int]:
    """Sizes to order: every tenth one twice in a row (identical orders), ``count`` in all."""
    sizes: list[int] = []
    size = 100
    while len(sizes) < count:
        sizes.append(size)
        if size % 10 == 0 and len(sizes) < count:
            sizes.append(size)
        size += 1
    return sizes


@pytest.fixture
def server() -> Iterator[SimServer]:
    server = start_sim(config(USERS, start_ms=START_MS, seed=1000))
    try:
        yield server
    finally:
        server.stop()


def positions_by_size(sim: SimHandle, user: int) -> dict[float, list[str]]:
    account = sim.state.config.users[user].preferred_account.account_id
    out: dict[float, list[str]] = {}
    for position in sim.state.engine.positions(account):
        assert position.epic == EPIC
        out.setdefault(position.size, []).append(position.deal_id)
    return out


def check_verdict(
    sim: SimHandle, user: int, size: int, result: object, mine: dict[int, list[str]], tally: Tally
) -> bool:
    """Compare a final verdict with the engine; True when the order is placed (stop sending)."""
    status = result.status  # type: ignore[attr-defined]
    deal_id = result.deal_id  # type: ignore[attr-defined]
    truth = positions_by_size(sim, user).get(float(size), [])
    known = mine.setdefault(size, [])
    if status is ReconcileStatus.FOUND:
        if deal_id not in truth or deal_id in known:
            tally.wrong.append(f"size {size}: FOUND {deal_id}, sim {truth}, earlier {known}")
        known.append(deal_id)
        return True
    if status is ReconcileStatus.NOT_PLACED:
        if len(truth) != len(known):
            tally.wrong.append(f"size {size}: NOT_PLACED but sim has {truth}, earlier {known}")
            return True
        return False  # safe to send again
    tally.wrong.append(f"size {size}: {status} {result.candidates}")  # type: ignore[attr-defined]
    return True


async def trader(sim: SimHandle, user: int, sizes: list[int], tally: Tally) -> None:
    me = handle(sim.server, user)
    mine: dict[int, list[str]] = {}
    async with AsyncClient(
        **me.client_kwargs(),
        rate_limit=False,
        retry=FAST_RETRY,
        timeout=httpx.Timeout(1.0, connect=5.0),
    ) as client:
        await client.session.login()
        for size in sizes:
            while True:
                tally.sends += 1
                try:
                    confirm = await client.positions.open(EPIC, "BUY", size)
                except OrderOutcomeUnknown as exc:
                    tally.unknown += 1
                    tally.poll_failed += exc.deal_reference is not None
                    if exc.body.get("size") != size:
                        tally.wrong.append(f"size {size}: exception holds {exc.body}")
                    result = await client.reconcile(exc, late_apply_window=LATE_WINDOW)
                    if result.check_after is not None:  # nothing yet; it may still be applied
                        tally.waited_for_late += 1
                        result = await client.reconcile(
                            exc, late_apply_window=LATE_WINDOW, wait=True
                        )
                    tally.verdicts[result.status.value] += 1
                    if check_verdict(sim, user, size, result, mine, tally):
                        tally.opened += 1
                        break
                else:
                    assert confirm.opened_deal_ids
                    mine.setdefault(size, []).append(confirm.opened_deal_ids[0])
                    tally.opened += 1
                    break


def kinds_hit(sim: SimHandle, path: str) -> Counter[str]:
    by_kind: Counter[str] = Counter()
    for f in sim.state.faults.list():
        if f["path"] != path:
            continue
        label = str(f["kind"]) + (f":{f['status']}" if f["kind"] in ("status", "answer") else "")
        by_kind[label] += int(f["hits"])
    return by_kind


@pytest.mark.slow
async def test_thousand_opens_under_faults_lose_nothing_and_duplicate_nothing(
    server: SimServer,
) -> None:
    sim = handle(server)
    for rule in fault_rules():
        sim.state.faults.add(rule)
    per_user = OPENS // USERS
    sizes = plan(per_user)
    expected = Counter(sizes)
    tally = Tally()
    started = time.monotonic()
    await asyncio.gather(*(trader(sim, user, sizes, tally) for user in range(USERS)))
    elapsed = time.monotonic() - started

    by_kind = kinds_hit(sim, ORDER_PATH)
    confirm_kinds = kinds_hit(sim, CONFIRM_PATH)
    injected = sum(by_kind.values())
    applied = sum(n for kind, n in by_kind.items() if kind in APPLIED_KINDS)
    order_posts = int(sim.state.stats.snapshot()["requests"].get("POST /api/v1/positions", 0))

    # Ground truth: exactly the ordered number of positions per size in every account.
    duplicates = lost = 0
    for user in range(USERS):
        held = positions_by_size(sim, user)
        for size, count in expected.items():
            have = len(held.get(float(size), []))
            duplicates += max(0, have - count)
            lost += max(0, count - have)
        duplicates += sum(len(ids) for s, ids in held.items() if int(s) not in expected)
    print(
        f"\n{OPENS} opens ({sum(1 for n in expected.values() if n > 1) * USERS} identical pairs),"
        f" {order_posts} order POSTs in {elapsed:.1f} s; order faults {injected}"
        f" ({dict(by_kind)}); confirm-poll faults {sum(confirm_kinds.values())}"
        f" ({dict(confirm_kinds)}); OrderOutcomeUnknown {tally.unknown} ({tally.poll_failed}"
        f" after a failed poll); waited for a late"
        f" apply {tally.waited_for_late}; verdicts {dict(tally.verdicts)};"
        f" duplicates {duplicates}, lost {lost}"
    )

    assert tally.wrong == []
    assert (duplicates, lost) == (0, 0)
    assert tally.opened == OPENS
    assert order_posts == tally.sends  # the SDK never re-sent an order write by itself
    # ~14 % of the order POSTs were hit (seeded draws; allow sampling noise).
    assert math.isclose(injected / order_posts, 0.14, abs_tol=0.04), (injected, order_posts)
    assert all(n > 0 for n in by_kind.values()), by_kind
    assert len(by_kind) == len(FAULTS)
    assert all(n > 0 for n in confirm_kinds.values()), confirm_kinds
    # Every fault after sending is ambiguous: each one surfaced as OrderOutcomeUnknown, and so
    # did every poll that failed for good (400/401/404 are not retried; they also hit some of
    # reconcile's own confirm reads, which then fall back to the search).
    assert tally.unknown - tally.poll_failed >= injected
    assert tally.poll_failed > 0
    assert tally.verdicts["AMBIGUOUS"] == 0
    assert tally.verdicts["FOUND"] >= applied + tally.poll_failed
    assert tally.verdicts["NOT_PLACED"] >= injected - applied
    assert tally.waited_for_late > 0

    for user in range(USERS):  # and over HTTP as well
        me = handle(server, user)
        async with AsyncClient(**me.client_kwargs(), rate_limit=False) as client:
            listed = await client.positions.list()
        assert len(listed.positions) == per_user


def sync_trader(sim: SimHandle, user: int, sizes: list[int], tally: Tally) -> None:
    """The same loop with the blocking Client (its own transport driver), on a thread."""
    me = handle(sim.server, user)
    with Client(
        **me.client_kwargs(),
        rate_limit=False,
        retry=FAST_RETRY,
        timeout=httpx.Timeout(0.6, connect=5.0),
    ) as client:
        for size in sizes:
            while True:
                tally.sends += 1
                try:
                    client.positions.open(EPIC, "SELL", size)
                except OrderOutcomeUnknown as exc:
                    tally.unknown += 1
                    result = client.reconcile(exc, late_apply_window=LATE_WINDOW, wait=True)
                    tally.verdicts[result.status.value] += 1
                    truth = positions_by_size(sim, user).get(float(size), [])
                    if result.status is ReconcileStatus.NOT_PLACED and not truth:
                        continue
                    if result.status is not ReconcileStatus.FOUND or truth != [result.deal_id]:
                        tally.wrong.append(f"size {size}: {result.status} {result.deal_id} {truth}")
                tally.opened += 1
                break


@pytest.mark.slow
def test_sync_client_threads_under_order_faults_duplicate_nothing(server: SimServer) -> None:
    sim = handle(server)
    for rule in fault_rules():
        sim.state.faults.add(rule)
    users, per_user = 4, 50
    tallies = [Tally() for _ in range(users)]  # one per thread: no shared counters
    with ThreadPoolExecutor(users) as pool:
        futures = [
            pool.submit(sync_trader, sim, user, [100 + i for i in range(per_user)], tallies[user])
            for user in range(users)
        ]
        for future in futures:
            future.result()
    tally = Tally(
        opened=sum(t.opened for t in tallies),
        unknown=sum(t.unknown for t in tallies),
        wrong=[w for t in tallies for w in t.wrong],
    )
    injected = sum(kinds_hit(sim, ORDER_PATH).values())
    assert tally.wrong == []
    assert tally.opened == users * per_user
    assert tally.unknown >= injected > 0
    for user in range(users):
        held = positions_by_size(sim, user)
        assert sorted(held) == [float(100 + i) for i in range(per_user)]
        assert all(len(ids) == 1 for ids in held.values())


def orders_by_size(sim: SimHandle, user: int) -> dict[float, list[str]]:
    account = sim.state.config.users[user].preferred_account.account_id
    out: dict[float, list[str]] = {}
    for order in sim.state.engine.working_orders(account):
        out.setdefault(order.size, []).append(order.deal_id)
    return out


@pytest.mark.slow
async def test_working_orders_under_faults_are_reconciled_and_never_doubled(
    server: SimServer,
) -> None:
    """The same for ``POST /workingorders`` (60 LIMIT orders far from the market, none fills)."""
    sim = handle(server)
    for share, spec in FAULTS:
        sim.state.faults.add(
            {
                "method": "POST",
                "path": "re:^/api/v1/workingorders$",
                "times": None,
                "probability": min(1.0, 2 * share / 0.9),
            }
            | spec
        )
    level = round(sim.state.engine.snapshot(EPIC).bid * 0.8, 5)  # a BUY LIMIT well below
    sizes = [100 + i for i in range(60)]
    verdicts: Counter[str] = Counter()
    wrong: list[str] = []
    async with AsyncClient(
        **sim.client_kwargs(),
        rate_limit=False,
        retry=FAST_RETRY,
        timeout=httpx.Timeout(0.5, connect=5.0),
    ) as client:
        for size in sizes:
            while True:
                try:
                    await client.orders.create(EPIC, "BUY", size, level, "LIMIT")
                except OrderOutcomeUnknown as exc:
                    result = await client.reconcile(exc, late_apply_window=LATE_WINDOW, wait=True)
                    verdicts[result.status.value] += 1
                    truth = orders_by_size(sim, 0).get(float(size), [])
                    if result.status is ReconcileStatus.NOT_PLACED and not truth:
                        continue
                    if result.status is not ReconcileStatus.FOUND or truth != [result.deal_id]:
                        wrong.append(f"size {size}: {result.status} {result.deal_id} {truth}")
                break
    injected = sum(int(f["hits"]) for f in sim.state.faults.list())
    held = orders_by_size(sim, 0)
    assert wrong == []
    assert injected > 10
    assert sum(verdicts.values()) >= injected
    assert verdicts["FOUND"] > 0
    assert verdicts["NOT_PLACED"] > 0
    assert sorted(held) == [float(s) for s in sizes]
    assert all(len(ids) == 1 for ids in held.values())
