"""capitalcom_sim: a local simulator of the Capital.com public API (REST + WebSocket).

Separate from the SDK, which never imports it. Start it with ``python -m capitalcom_sim`` or use
:class:`capitalcom_sim.server.SimServer` from Python; see docs/simulator.md.
"""

from capitalcom_sim.app import create_app
from capitalcom_sim.config import AccountConfig, ConfigError, SimConfig, UserConfig, single_user
from capitalcom_sim.server import SimServer
from capitalcom_sim.state import SimState

__all__ = [
    "AccountConfig",
    "ConfigError",
    "SimConfig",
    "SimServer",
    "SimState",
    "UserConfig",
    "create_app",
    "single_user",
]
