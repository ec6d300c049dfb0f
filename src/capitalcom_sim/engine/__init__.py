"""The simulator's market and trading engine: no HTTP here.

``Engine`` (see :mod:`capitalcom_sim.engine.core`) is what routes, the control plane and streaming
call; ``engine.prices`` (:class:`PriceEngine`) gives quotes and bars; ``engine.instruments`` the
instrument table.
"""

from capitalcom_sim.engine.clock import Clock
from capitalcom_sim.engine.core import Engine
from capitalcom_sim.engine.instruments import Instrument, InstrumentTable, OpeningHours
from capitalcom_sim.engine.prices import PriceEngine
from capitalcom_sim.engine.types import RESOLUTIONS, Bar, MarketSnapshot

__all__ = [
    "RESOLUTIONS",
    "Bar",
    "Clock",
    "Engine",
    "Instrument",
    "InstrumentTable",
    "MarketSnapshot",
    "OpeningHours",
    "PriceEngine",
]
