"""The simulator's state shared by routes, streaming and the control plane."""

from __future__ import annotations

from dataclasses import dataclass

from capitalcom_sim.config import SimConfig, UserConfig
from capitalcom_sim.engine.clock import Clock
from capitalcom_sim.sessions import SessionStore


@dataclass
class SimState:
    """Everything one simulator instance knows. One per app; no globals."""

    config: SimConfig
    clock: Clock
    sessions: SessionStore

    @classmethod
    def from_config(cls, config: SimConfig) -> SimState:
        clock = Clock(config.start_ms, speed=config.clock_speed)
        sessions = SessionStore(clock, config.session_idle_seconds, config.session_max_seconds)
        return cls(config=config, clock=clock, sessions=sessions)

    def user_by_api_key(self, api_key: str) -> UserConfig | None:
        for user in self.config.users:
            if user.api_key == api_key:
                return user
        return None
