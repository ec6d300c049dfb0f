"""capitalcom_sim: a local simulator of the Capital.com public API (REST + WebSocket).

Separate from the SDK, which never imports it. Start it with ``python -m capitalcom_sim`` or use
:class:`capitalcom_sim.server.SimServer` from Python.
"""

from capitalcom_sim.app import create_app
from capitalcom_sim.config import SimConfig

__all__ = ["SimConfig", "create_app"]
