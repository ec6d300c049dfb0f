"""Harness of the reliability suite: simulators with distinctive secrets, ground truth, counters.

Everything here talks to a real simulator over loopback sockets (``SimServer``); the ground
truth of what the server did comes from the simulator itself (``state.engine``,
``state.stats``, ``state.sessions``), never from what the client believes.
"""

from __future__ import annotations

import itertools
from typing import Any

from capitalcom_sdk._retry import RetryPolicy
from capitalcom_sim.config import AccountConfig, SimConfig, UserConfig
from capitalcom_sim.server import SimServer
from tests.conftest import SimHandle

# Distinctive values: a substring search for them in logs and outputs is meaningful (none of
# them can appear by accident in a message, a path or a number).
SECRET_API_KEY = "RELIAB-apikey-7f3a9c1e-Qz8W"
SECRET_PASSWORD = "RELIAB-pass-Zk42!x9-vT3m"
SECRET_IDENTIFIER = "reliability.trader@example.com"

FAST_RETRY = RetryPolicy(max_retries=3, max_delay=5.0, base_delay=0.01, rate_limit_delay=0.05)

_client_ids = itertools.count(31_000_000)


def make_user(index: int, *, api_key: str | None = None, password: str | None = None) -> UserConfig:
    """A simulated user with two accounts (ids distinct per index)."""
    base = 55_500_000_000_000_000 + index * 10
    client_id = str(next(_client_ids))
    return UserConfig(
        client_id=client_id,
        identifier=f"rel{index}.{client_id}@example.com" if index else SECRET_IDENTIFIER,
        api_key=api_key or f"RELIAB-apikey-{index:03d}-{client_id}",
        password=password or f"RELIAB-pass-{index:03d}-{client_id}",
        accounts=(
            AccountConfig(str(base), "USD", "USD", 100_000.0, preferred=True),
            AccountConfig(str(base + 1), "EUR", "EUR", 50_000.0),
        ),
    )


def secret_user() -> UserConfig:
    """The user whose API key and password the secrets tests search for."""
    return make_user(0, api_key=SECRET_API_KEY, password=SECRET_PASSWORD)


def users(count: int) -> tuple[UserConfig, ...]:
    """``count`` users; the first is :func:`secret_user`."""
    return (secret_user(), *(make_user(i) for i in range(1, count)))


def handle(server: SimServer, user_index: int = 0) -> SimHandle:
    user = server.config.users[user_index]
    return SimHandle(server.base_url, user.api_key, user.identifier, user.password, server)


def config(
    n_users: int = 1, *, rate_limits: bool = False, seed: int = 20261125, **kwargs: Any
) -> SimConfig:
    return SimConfig(users=users(n_users), rate_limits=rate_limits, seed=seed, **kwargs)


# -- ground truth ---------------------------------------------------------------------------


def total_requests(sim: SimHandle) -> int:
    """Real-API requests that reached the simulator so far (control plane excluded)."""
    return sum(int(n) for n in sim.state.stats.snapshot()["requests"].values())


def requests_of(sim: SimHandle, key: str) -> int:
    """Requests counted under ``"METHOD /api/v1/path-template"``."""
    return int(sim.state.stats.snapshot()["requests"].get(key, 0))


def statuses(sim: SimHandle) -> dict[str, int]:
    return {k: int(v) for k, v in sim.state.stats.snapshot()["status"].items()}


def account_ids(sim: SimHandle, user_index: int = 0) -> list[str]:
    return [a.account_id for a in sim.state.config.users[user_index].accounts]


def engine_state(sim: SimHandle, user_index: int = 0) -> dict[str, Any]:
    """What the engine holds for a user's accounts: positions, orders, balances (comparable)."""
    engine = sim.state.engine
    out: dict[str, Any] = {}
    for account_id in account_ids(sim, user_index):
        positions = engine.positions(account_id)
        orders = engine.working_orders(account_id)
        out[account_id] = {
            "positions": sorted(
                (p.deal_id, p.size, p.stop_level, p.profit_level) for p in positions
            ),
            "orders": sorted(
                (o.deal_id, o.level, o.stop_distance, o.profit_distance) for o in orders
            ),
            # the deposit is the realised money; the balance also moves with the quotes
            "deposit": engine.balance(account_id).deposit,
            "preferences": repr(engine.preferences(account_id)),
        }
    client_id = sim.state.config.users[user_index].client_id
    out["watchlists"] = sorted((w.id, w.name, tuple(w.epics)) for w in engine.watchlists(client_id))
    return out
