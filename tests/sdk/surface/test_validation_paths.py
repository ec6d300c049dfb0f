"""Path parameters stay one path segment: dot segments and slashes are refused before sending.

httpx and aiohttp collapse ``.`` and ``..`` (RFC 3986 dot segments): before the fix
``watchlists.remove_market(wid, ".")`` sent ``DELETE /watchlists/{wid}`` and deleted the whole
watchlist, and ``positions.close("..")`` sent ``DELETE /api/v1``. The simulator's request
counter is the witness that nothing was sent; its state shows that nothing changed.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from capitalcom_sdk import AsyncClient, Client, NotFoundError, RequestValidationError
from capitalcom_sdk import _endpoints as ep
from capitalcom_sdk import _validation as check
from capitalcom_sdk._transport import _Core
from capitalcom_sdk.cli._exit import ExitCode
from tests.conftest import SimHandle
from tests.reliability.conftest import total_requests
from tests.sdk.cli.conftest import Cli, cli, module_sim

__all__ = ["cli", "module_sim"]  # the CLI runner's fixtures, used by test_cli_*

COLLAPSING = [".", "..", " . ", "%2e", "%2E%2e", "%252e%252e", "a/b", "a%2Fb", "a\\b", "/"]


@pytest.fixture
def client(sim: SimHandle) -> Iterator[Client]:
    with Client(**sim.client_kwargs(), rate_limit=False) as client:
        client.session.login()
        yield client


def _watchlist(client: Client) -> str:
    return client.watchlists.create("paths", ["GOLD", "SILVER"]).watchlist_id


def _epics(client: Client, watchlist_id: str) -> list[str]:
    return [market.epic for market in client.watchlists.get(watchlist_id).markets]


@pytest.mark.parametrize("epic", COLLAPSING)
def test_removing_a_dot_segment_epic_leaves_the_watchlist_alone(
    client: Client, sim: SimHandle, epic: str
) -> None:
    watchlist_id = _watchlist(client)
    before = total_requests(sim)
    with pytest.raises(RequestValidationError) as caught:
        client.watchlists.remove_market(watchlist_id, epic)
    assert caught.value.field == "epic"
    assert total_requests(sim) == before, "the request was sent"
    assert _epics(client, watchlist_id) == ["GOLD", "SILVER"]


def test_closing_dot_dot_sends_nothing_and_the_position_stays(
    client: Client, sim: SimHandle
) -> None:
    client.positions.open("GOLD", "BUY", 1)
    open_before = [p.position.deal_id for p in client.positions.list().positions]
    before = total_requests(sim)
    for bad in ("..", ".", "%2e%2e"):
        with pytest.raises(RequestValidationError) as caught:
            client.positions.close(bad)
        assert caught.value.field == "dealId"
    assert total_requests(sim) == before
    assert [p.position.deal_id for p in client.positions.list().positions] == open_before
    assert len(open_before) == 1


async def test_async_client_refuses_the_same(sim: SimHandle) -> None:
    async with AsyncClient(**sim.client_kwargs(), rate_limit=False) as client:
        watchlist_id = (await client.watchlists.create("paths", ["GOLD"])).watchlist_id
        await client.positions.open("GOLD", "BUY", 1)
        open_before = [p.position.deal_id for p in (await client.positions.list()).positions]
        before = total_requests(sim)
        with pytest.raises(RequestValidationError) as caught:
            await client.watchlists.remove_market(watchlist_id, ".")
        assert caught.value.field == "epic"
        with pytest.raises(RequestValidationError) as caught:
            await client.positions.close("..")
        assert caught.value.field == "dealId"
        assert total_requests(sim) == before
        markets = (await client.watchlists.get(watchlist_id)).markets
        assert [m.epic for m in markets] == ["GOLD"]
        positions = (await client.positions.list()).positions
        assert [p.position.deal_id for p in positions] == open_before
        assert len(open_before) == 1
        with pytest.raises(NotFoundError) as not_found:  # and its errors name the path sent
            await client.positions.close("no-such-deal")
        assert not_found.value.path == "/api/v1/positions/no-such-deal"


def test_cli_refuses_a_dot_segment_epic(cli: Cli) -> None:
    watchlist_id = cli.json("watchlists", "create", "cli-paths", "GOLD", "SILVER")["watchlistId"]
    before = total_requests(cli.sim)
    outcome = cli("watchlists", "remove", watchlist_id, ".", "--json")
    assert outcome.exit_code == ExitCode.REJECTED, (
        outcome
    )  # "request invalid (checked before sending)"
    assert outcome.error["field"] == "epic"
    assert total_requests(cli.sim) == before
    shown = cli.json("watchlists", "show", watchlist_id)
    assert [m["epic"] for m in shown["markets"]] == ["GOLD", "SILVER"]


@pytest.mark.parametrize(
    "value", [v for v in COLLAPSING if v.strip() == v] + ["", "%2f", "..%2F..", "%5c"]
)
def test_every_path_parameter_is_checked_where_the_path_is_built(value: str) -> None:
    """The guard sits in Endpoint.call, so a resource that forgets to check is still safe."""
    for endpoint in ep.ENDPOINTS:
        for name in _path_params(endpoint.path):
            with pytest.raises(RequestValidationError) as caught:
                endpoint.call({key: "x1" for key in _path_params(endpoint.path)} | {name: value})
            assert caught.value.field == name


def _path_params(template: str) -> list[str]:
    return [part[1:-1] for part in template.split("/") if part.startswith("{")]


def test_ordinary_identifiers_pass() -> None:
    for value in (
        "GOLD",
        "hierarchy_v1.commodities",
        "...",
        "006011e7-0001-54c4-0000-000080d6ee",
        "a.b",
    ):
        assert check.path_segment(value, "x") == value


@given(st.text(min_size=1, max_size=40))
def test_the_path_built_is_the_path_sent(value: str) -> None:
    """For any accepted value, the URL library sends exactly the path the SDK built (and names
    in its errors): nothing collapsed, nothing re-encoded."""
    try:
        call = ep.POSITION.call({"dealId": value})
    except RequestValidationError:
        return
    request = httpx.Request("GET", "http://sdk.test" + call.path)
    assert request.url.raw_path.decode("ascii") == call.path
    assert call.path.count("/") == ep.POSITION.full_path.count("/")


def test_an_error_names_the_path_actually_requested() -> None:
    """APIError.path comes from the request that went out, not from the template."""
    call = ep.POSITION.call({"dealId": "deal-1"})
    sent = httpx.Request("GET", "http://sdk.test/api/v1/elsewhere")
    response = httpx.Response(404, json={"errorCode": "error.not-found.dealId"}, request=sent)
    error = _Core.error(call, response)
    assert error.path == "/api/v1/elsewhere"
    assert "/api/v1/elsewhere" in str(error)


def test_a_server_error_shows_the_real_path(client: Client) -> None:
    with pytest.raises(NotFoundError) as caught:
        client.positions.close("no-such-deal")
    assert caught.value.path == "/api/v1/positions/no-such-deal"
    assert "DELETE /api/v1/positions/no-such-deal" in str(caught.value)
