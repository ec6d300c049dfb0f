"""The simulator's /connect websocket spoken to with a bare websockets client (SPEC section 8)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from capitalcom_sim.config import SimConfig
from tests.conftest import SimHandle
from tests.sdk.streaming.support import (
    START_MS,
    RawClient,
    connections_until_async,
    open_epics,
    stream_config,
    ws_url,
)


@pytest.fixture
def sim_config() -> SimConfig:
    return stream_config(speed=0.0)


def _login(sim: SimHandle) -> tuple[str, str]:
    response = httpx.post(
        sim.base_url + "/api/v1/session",
        headers={"X-CAP-API-KEY": sim.api_key},
        json={"identifier": sim.identifier, "password": sim.password},
    )
    assert response.status_code == 200
    return response.headers["CST"], response.headers["X-SECURITY-TOKEN"]


@pytest.fixture
async def raw(sim: SimHandle) -> AsyncIterator[RawClient]:
    cst, token = _login(sim)
    async with connect(ws_url(sim.base_url)) as ws:
        yield RawClient(ws, cst, token)


async def _frames_until_reply(client: RawClient, correlation_id: str) -> list[dict[str, Any]]:
    frames = []
    while True:
        frame = await client.recv()
        if frame.get("correlationId") == correlation_id:
            return frames
        frames.append(frame)


async def _subscribe_quotes(client: RawClient, epics: list[str]) -> list[dict[str, Any]]:
    """Subscribe; returns the snapshot quotes that follow the acknowledgement (one per epic)."""
    reply = await client.request("marketData.subscribe", {"epics": epics})
    assert reply["status"] == "OK"
    snapshots = [await client.recv() for _ in epics]
    assert [f["payload"]["epic"] for f in snapshots] == epics
    return snapshots


async def _events_after_advance(
    client: RawClient, sim: SimHandle, seconds: float
) -> list[dict[str, Any]]:
    """Advance the clock, then ping: every frame due by then arrives before the ping's reply."""
    sim.state.clock.advance(seconds)
    return await _frames_until_reply(client, await client.send("ping"))


async def test_subscribe_acks_every_epic_and_echoes_a_numeric_correlation_id_as_string(
    raw: RawClient,
) -> None:
    reply = await raw.request(
        "marketData.subscribe", {"epics": ["OIL_CRUDE", "GOLD"]}, correlation_id=7
    )
    assert reply == {
        "status": "OK",
        "destination": "marketData.subscribe",
        "correlationId": "7",
        "payload": {"subscriptions": {"OIL_CRUDE": "PROCESSED", "GOLD": "PROCESSED"}},
    }


async def test_ping_reply_has_an_empty_payload_and_tolerates_payload_forms(raw: RawClient) -> None:
    assert await raw.request("ping", correlation_id="5") == {
        "status": "OK",
        "destination": "ping",
        "correlationId": "5",
        "payload": {},
    }
    assert (await raw.request("ping", {}))["status"] == "OK"
    frame = {"destination": "ping", "correlationId": "n", "cst": raw.cst, "payload": None}
    await raw.ws.send(json.dumps({**frame, "securityToken": raw.security_token}))
    assert (await raw.reply("n"))["status"] == "OK"


async def test_quotes_follow_the_simulator_clock_on_the_tick_grid(
    raw: RawClient, sim: SimHandle
) -> None:
    await raw.request("marketData.subscribe", {"epics": ["GOLD"]})
    [snapshot] = await _events_after_advance(raw, sim, 0)  # the current quote follows the ack
    bid, offer = sim.state.engine.prices.quote("GOLD", START_MS)
    assert snapshot["payload"]["timestamp"] == START_MS
    assert (snapshot["payload"]["bid"], snapshot["payload"]["ofr"]) == (bid, offer)
    assert await _events_after_advance(raw, sim, 0) == []  # the clock is frozen: nothing new
    frames = await _events_after_advance(raw, sim, 10)
    prices = sim.state.engine.prices
    tick = prices.tick_ms
    expected = []
    last = prices.quote("GOLD", START_MS)
    for t in range(START_MS + tick, START_MS + 10_000 + 1, tick):
        quote = prices.quote("GOLD", t)
        if quote != last:
            expected.append((t, *quote))
        last = quote
    got = [(f["payload"]["timestamp"], f["payload"]["bid"], f["payload"]["ofr"]) for f in frames]
    assert got == expected
    assert len(got) >= 5
    sample = frames[0]
    assert sample["status"] == "OK"
    assert sample["destination"] == "quote"
    assert "correlationId" not in sample
    assert set(sample["payload"]) == {
        "epic",
        "product",
        "bid",
        "bidQty",
        "ofr",
        "ofrQty",
        "timestamp",
    }
    assert sample["payload"]["product"] == "CFD"


async def test_unsubscribe_stops_quotes(raw: RawClient, sim: SimHandle) -> None:
    await _subscribe_quotes(raw, ["GOLD", "BTCUSD"])
    reply = await raw.request("marketData.unsubscribe", {"epics": ["GOLD"]})
    assert reply["payload"] == {"subscriptions": {"GOLD": "PROCESSED"}}
    frames = await _events_after_advance(raw, sim, 10)
    assert frames
    assert {f["payload"]["epic"] for f in frames} == {"BTCUSD"}


async def test_ohlc_bars_arrive_once_closed_per_side_and_equal_the_rest_bar(
    raw: RawClient, sim: SimHandle
) -> None:
    reply = await raw.request(
        "OHLCMarketData.subscribe",
        {"epics": ["EURUSD", "GOLD"], "resolutions": ["MINUTE"], "type": "classic"},
    )
    assert reply["payload"] == {
        "subscriptions": {"EURUSD:MINUTE:classic": "PROCESSED", "GOLD:MINUTE:classic": "PROCESSED"}
    }
    assert await _events_after_advance(raw, sim, 59) == []  # the bar in progress is not sent
    frames = await _events_after_advance(raw, sim, 1)
    assert len(frames) == 4
    prices = sim.state.engine.prices
    for frame in frames:
        p = frame["payload"]
        assert frame["destination"] == "ohlc.event"
        assert p["t"] == START_MS
        assert p["resolution"] == "MINUTE"
        assert p["type"] == "classic"
        [bar] = prices.bars(p["epic"], "MINUTE", START_MS, START_MS)
        side = bar.bid if p["priceType"] == "bid" else bar.ask
        assert (p["o"], p["h"], p["l"], p["c"]) == (side.open, side.high, side.low, side.close)
    # ... and equal to the bar GET /prices answers once it is closed.
    start = datetime.fromtimestamp(START_MS / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S")
    headers = {"CST": raw.cst, "X-SECURITY-TOKEN": raw.security_token}
    async with httpx.AsyncClient(base_url=sim.base_url, headers=headers) as http:
        for epic in ("EURUSD", "GOLD"):
            response = await http.get(
                f"/api/v1/prices/{epic}",
                params={"resolution": "MINUTE", "from": start, "to": start},
            )
            assert response.status_code == 200, response.text
            [rest] = response.json()["prices"]
            assert rest["snapshotTimeUTC"] == start
            for frame in frames:
                p = frame["payload"]
                if p["epic"] == epic:
                    side = p["priceType"]
                    assert (p["o"], p["h"], p["l"], p["c"]) == (
                        rest["openPrice"][side],
                        rest["highPrice"][side],
                        rest["lowPrice"][side],
                        rest["closePrice"][side],
                    )
    assert sorted((f["payload"]["epic"], f["payload"]["priceType"]) for f in frames) == [
        ("EURUSD", "ask"),
        ("EURUSD", "bid"),
        ("GOLD", "ask"),
        ("GOLD", "bid"),
    ]


async def test_ohlc_subscribe_defaults_to_minute_classic(raw: RawClient) -> None:
    reply = await raw.request("OHLCMarketData.subscribe", {"epics": ["GOLD"]})
    assert reply["payload"] == {"subscriptions": {"GOLD:MINUTE:classic": "PROCESSED"}}


async def test_heikin_ashi_bars_differ_from_classic_and_are_consistent(
    raw: RawClient, sim: SimHandle
) -> None:
    await raw.request(
        "OHLCMarketData.subscribe",
        {"epics": ["GOLD"], "resolutions": ["MINUTE"], "type": "heikin-ashi"},
    )
    frames = await _events_after_advance(raw, sim, 60)
    [bid] = [f["payload"] for f in frames if f["payload"]["priceType"] == "bid"]
    assert bid["type"] == "heikin-ashi"
    [bar] = sim.state.engine.prices.bars("GOLD", "MINUTE", START_MS, START_MS)
    classic = bar.bid
    assert bid["c"] == pytest.approx(
        (classic.open + classic.high + classic.low + classic.close) / 4
    )
    assert bid["h"] >= max(bid["o"], bid["c"])
    assert bid["l"] <= min(bid["o"], bid["c"])


async def test_ohlc_unsubscribe_takes_plural_types_and_removes_only_what_is_named(
    raw: RawClient, sim: SimHandle
) -> None:
    for bar_type in ("classic", "heikin-ashi"):
        await raw.request(
            "OHLCMarketData.subscribe",
            {"epics": ["GOLD"], "resolutions": ["MINUTE", "MINUTE_5"], "type": bar_type},
        )
    reply = await raw.request(
        "OHLCMarketData.unsubscribe",
        {"epics": ["GOLD"], "resolutions": ["MINUTE", "MINUTE_5"], "types": ["heikin-ashi"]},
    )
    assert reply["payload"] == {
        "subscriptions": {
            "GOLD:MINUTE:heikin-ashi": "PROCESSED",
            "GOLD:MINUTE_5:heikin-ashi": "PROCESSED",
        }
    }
    [conn] = sim.state.streams.describe()
    assert conn["ohlc"] == ["GOLD:MINUTE:classic", "GOLD:MINUTE_5:classic"]
    reply = await raw.request("OHLCMarketData.unsubscribe", {"epics": ["GOLD"]})
    assert set(reply["payload"]["subscriptions"]) == {
        "GOLD:MINUTE:classic",
        "GOLD:MINUTE_5:classic",
    }
    assert sim.state.streams.describe()[0]["ohlc"] == []


async def test_unknown_epic_is_refused_in_both_error_layouts(raw: RawClient) -> None:
    reply = await raw.request("marketData.subscribe", {"epics": ["GOLD", "NOPE"]}, correlation_id=3)
    assert reply["status"] == "ERROR"
    assert reply["destination"] == "marketData.subscribe"
    assert reply["correlationId"] == "3"
    assert reply["payload"] == {"errorCode": "error.invalid.epic"}
    assert reply["errorCode"] == "error.invalid.epic"


@pytest.mark.parametrize(
    ("cst", "token", "code"),
    [
        ("bogus", "bogus", "error.invalid.session.token"),
        ("", "", "error.null.client.token"),
    ],
)
async def test_every_message_checks_the_session_tokens(
    raw: RawClient, cst: str, token: str, code: str
) -> None:
    raw.cst, raw.security_token = cst, token
    for destination in ("ping", "marketData.subscribe"):
        reply = await raw.request(destination, {"epics": ["GOLD"]})
        assert (reply["status"], reply["payload"]) == ("ERROR", {"errorCode": code})


async def test_forty_instruments_per_connection_and_the_41st_is_refused(
    raw: RawClient, sim: SimHandle
) -> None:
    epics = open_epics(sim.state.engine)
    await raw.request("marketData.subscribe", {"epics": epics[:30]})
    # OHLC subscriptions count towards the same 40 distinct epics.
    ok = await raw.request("OHLCMarketData.subscribe", {"epics": epics[25:40]})
    assert ok["status"] == "OK"
    refused = await raw.request("marketData.subscribe", {"epics": [epics[40]]})
    assert refused["status"] == "ERROR"
    assert refused["payload"] == {"errorCode": "error.size.epics"}
    [conn] = sim.state.streams.describe()
    assert conn["instruments"] == 40
    assert epics[40] not in conn["quotes"]
    # An epic already held does not count again.
    assert (await raw.request("marketData.subscribe", {"epics": [epics[35]]}))["status"] == "OK"


async def test_bad_frames_get_error_replies_and_the_connection_survives(raw: RawClient) -> None:
    await raw.ws.send("not json")
    assert (await raw.recv())["payload"] == {"errorCode": "error.malformed.request"}
    reply = await raw.request("marketData.teleport", {"epics": ["GOLD"]})
    assert reply["payload"] == {"errorCode": "error.invalid.destination"}
    reply = await raw.request("marketData.subscribe", {"epics": "GOLD"})
    assert reply["payload"] == {"errorCode": "error.invalid.epics"}
    reply = await raw.request("OHLCMarketData.subscribe", {"epics": ["GOLD"], "type": "renko"})
    assert reply["payload"] == {"errorCode": "error.invalid.type"}
    reply = await raw.request(
        "OHLCMarketData.subscribe", {"epics": ["GOLD"], "resolutions": ["MINUTE_3"]}
    )
    assert reply["payload"] == {"errorCode": "error.invalid.resolution"}
    assert (await raw.request("ping"))["status"] == "OK"


async def test_connection_closes_after_ten_simulated_minutes_without_a_ping(
    raw: RawClient, sim: SimHandle
) -> None:
    sim.state.clock.advance(300)
    assert (await raw.request("ping"))["status"] == "OK"
    sim.state.clock.advance(599)
    assert (await raw.request("ping"))["status"] == "OK"  # 599 s since the last ping: still open
    sim.state.clock.advance(601)
    with pytest.raises(ConnectionClosed) as closed:
        await raw.recv(wait=5)
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 1000


async def test_account_switch_drops_the_subscriptions(raw: RawClient, sim: SimHandle) -> None:
    await raw.request("marketData.subscribe", {"epics": ["BTCUSD"]})
    assert await _events_after_advance(raw, sim, 3)
    user = sim.state.config.users[0]
    other = next(a.account_id for a in user.accounts if not a.preferred)
    async with httpx.AsyncClient(base_url=sim.base_url) as http:
        response = await http.put(
            "/api/v1/session",
            headers={"CST": raw.cst, "X-SECURITY-TOKEN": raw.security_token},
            json={"accountId": other},
        )
    assert response.status_code == 200
    old_token = raw.security_token
    raw.security_token = response.headers["X-SECURITY-TOKEN"]
    assert raw.security_token != old_token
    assert await _events_after_advance(raw, sim, 5) == []
    assert sim.state.streams.describe()[0]["quotes"] == []
    # Resubscribing with the new tokens brings the quotes back (snapshot first).
    await raw.request("marketData.subscribe", {"epics": ["BTCUSD"]})
    assert await _events_after_advance(raw, sim, 3)


async def test_session_expiry_drops_the_subscriptions(raw: RawClient, sim: SimHandle) -> None:
    await _subscribe_quotes(raw, ["BTCUSD"])
    assert sim.state.sessions.expire_all() == 1
    sim.state.clock.advance(5)
    reply_id = await raw.send("ping")
    frames = await _frames_until_reply(raw, reply_id)
    assert frames == []
    assert sim.state.streams.describe()[0]["quotes"] == []


async def test_control_plane_lists_pauses_and_drops_connections(
    raw: RawClient, sim: SimHandle
) -> None:
    await _subscribe_quotes(raw, ["BTCUSD", "GOLD"])
    async with httpx.AsyncClient(base_url=sim.base_url) as http:
        [conn] = (await http.get("/_sim/stream/connections")).json()["connections"]
        assert conn["quotes"] == ["BTCUSD", "GOLD"]
        assert conn["clientId"] == sim.state.config.users[0].client_id
        paused = await http.post("/_sim/stream/pause", json={"epic": "GOLD", "paused": True})
        assert paused.json()["pausedEpics"] == ["GOLD"]
        frames = await _events_after_advance(raw, sim, 5)
        assert frames
        assert {f["payload"]["epic"] for f in frames} == {"BTCUSD"}
        await http.post("/_sim/stream/pause", json={"epic": "GOLD", "paused": False})
        frames = await _events_after_advance(raw, sim, 5)
        assert {f["payload"]["epic"] for f in frames} == {"BTCUSD", "GOLD"}
        dropped = await http.post("/_sim/stream/drop", json={"id": conn["id"]})
        assert dropped.json() == {"dropped": 1}
    with pytest.raises(ConnectionClosed) as closed:
        await raw.recv(wait=5)
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 1011


async def test_stall_holds_the_connection_silent(raw: RawClient, sim: SimHandle) -> None:
    await _subscribe_quotes(raw, ["BTCUSD"])
    async with httpx.AsyncClient(base_url=sim.base_url) as http:
        stalled = await http.post("/_sim/stream/stall", json={"seconds": 0.5})
    assert stalled.json()["stalled"] == 1
    sim.state.clock.advance(5)  # quotes due during the stall are lost
    reply_id = await raw.send("ping")
    frames = await _frames_until_reply(raw, reply_id)  # the reply comes after the stall
    assert frames == []
    [conn] = sim.state.streams.describe()
    assert conn["framesDiscarded"] >= 1


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/_sim/stream/stall", {"seconds": -1}, "seconds"),
        ("/_sim/stream/stall", {"seconds": "x"}, "seconds"),
        ("/_sim/stream/pause", {"paused": True}, "epic"),
        ("/_sim/stream/pause", {"epic": "GOLD", "paused": "yes"}, "paused"),
        ("/_sim/stream/drop", {"id": 3}, "id"),
        ("/_sim/stream/drop", {"what": 3}, "what"),
    ],
)
def test_control_plane_rejects_bad_input_naming_the_field(
    sim: SimHandle, path: str, body: dict[str, Any], field: str
) -> None:
    response = httpx.post(sim.base_url + path, json=body)
    assert (response.status_code, response.json()) == (
        400,
        {"errorCode": f"error.sim.invalid.{field}"},
    )


def test_streaming_host_of_the_session_points_at_this_simulator(sim: SimHandle) -> None:
    response = httpx.post(
        sim.base_url + "/api/v1/session",
        headers={"X-CAP-API-KEY": sim.api_key},
        json={"identifier": sim.identifier, "password": sim.password},
    )
    assert response.json()["streamingHost"] == sim.base_url.replace("http://", "ws://") + "/"


async def test_reset_closes_every_stream_connection(raw: RawClient, sim: SimHandle) -> None:
    await raw.request("marketData.subscribe", {"epics": ["BTCUSD"]})
    async with httpx.AsyncClient(base_url=sim.base_url) as http:
        assert (await http.post("/_sim/reset", json={})).status_code == 200
    with pytest.raises(ConnectionClosed):
        await _frames_until_reply(raw, "never")  # events until the close
    assert await connections_until_async(sim.state, lambda conns: not conns) == []


async def test_clock_jumps_deliver_every_closed_bar_of_each_resolution(
    raw: RawClient, sim: SimHandle
) -> None:
    await raw.request(
        "OHLCMarketData.subscribe", {"epics": ["BTCUSD"], "resolutions": ["MINUTE", "HOUR"]}
    )
    frames = []
    for _ in range(6):  # an hour in steps, pinging (10 minutes without a ping close the socket)
        frames += await _events_after_advance(raw, sim, 600)
    bars = [f["payload"] for f in frames if f["destination"] == "ohlc.event"]
    minute = [b["t"] for b in bars if b["resolution"] == "MINUTE" and b["priceType"] == "bid"]
    hour = [b for b in bars if b["resolution"] == "HOUR"]
    assert minute == [START_MS + i * 60_000 for i in range(60)]
    assert [(b["t"], b["priceType"]) for b in hour] == [(START_MS, "bid"), (START_MS, "ask")]
    [engine_hour] = sim.state.engine.prices.bars("BTCUSD", "HOUR", START_MS, START_MS)
    assert hour[0]["h"] == engine_hour.bid.high
