"""Fixtures of the backtest tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from capitalcom_sim.server import SimServer
from tests.conftest import SimHandle, handle_for, start_sim
from tests.sdk.streaming.support import stream_config


@pytest.fixture
def source() -> Iterator[SimHandle]:
    """A simulator standing for the demo or live server (frozen clock: tests move it)."""
    server: SimServer = start_sim(stream_config())
    try:
        yield handle_for(server)
    finally:
        server.stop()
