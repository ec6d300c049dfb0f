"""A simulator with a frozen clock on a Wednesday afternoon (UTC): prices do not move between
the pre-trade check and the server's own check, and every market but Singapore's is open."""

from __future__ import annotations

import pytest

from capitalcom_sim.config import SimConfig, single_user

WEDNESDAY_1400_UTC = 1_795_615_200_000  # 2026-11-25 14:00 UTC


@pytest.fixture
def sim_config() -> SimConfig:
    return SimConfig(
        users=(single_user(),),
        rate_limits=False,
        seed=11,
        start_ms=WEDNESDAY_1400_UTC,
        clock_speed=0.0,
        overnight_fees=False,
    )
