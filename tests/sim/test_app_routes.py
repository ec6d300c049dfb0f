"""The simulator app's route table: every (path, method) is mounted exactly once."""

from __future__ import annotations

from collections import Counter

from starlette.routing import Route, WebSocketRoute

from capitalcom_sim.app import create_app


def test_no_route_is_mounted_twice() -> None:
    app = create_app()
    mounted: Counter[tuple[str, str]] = Counter()
    for route in app.router.routes:
        if isinstance(route, WebSocketRoute):
            mounted[(route.path, "WEBSOCKET")] += 1
        elif isinstance(route, Route):
            for method in route.methods or ():
                mounted[(route.path, method)] += 1
    duplicates = sorted(key for key, count in mounted.items() if count > 1)
    assert duplicates == []
    # The stream routes are among them (the check saw the table that had them twice).
    assert mounted[("/connect", "WEBSOCKET")] == 1
    assert mounted[("/_sim/stream/drop", "POST")] == 1
