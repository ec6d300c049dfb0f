"""capitalcom_sim: a local simulator of the Capital.com public API (REST + WebSocket).

Separate from the SDK, which never imports it. Start it with ``python -m capitalcom_sim`` or use
:class:`capitalcom_sim.server.SimServer` from Python; see docs/simulator.md.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from capitalcom_sim.app import create_app
    from capitalcom_sim.config import (
        AccountConfig,
        ConfigError,
        SimConfig,
        UserConfig,
        single_user,
    )
    from capitalcom_sim.server import SimServer
    from capitalcom_sim.state import SimState

# Loaded on first access (PEP 562), so that the ``capitalcom-sim`` script (capitalcom_sim._entry)
# can tell a user without the ``sim`` extra what to install before starlette is imported.
_MODULE_OF = {
    "create_app": "capitalcom_sim.app",
    **dict.fromkeys(
        ("AccountConfig", "ConfigError", "SimConfig", "UserConfig", "single_user"),
        "capitalcom_sim.config",
    ),
    "SimServer": "capitalcom_sim.server",
    "SimState": "capitalcom_sim.state",
}


def __getattr__(name: str) -> Any:
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


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
