"""The simulator's market and trading engine: no HTTP here.

``Engine`` (see :mod:`capitalcom_sim.engine.core`) is what routes, the control plane and streaming
call; ``engine.prices`` (:class:`PriceEngine`) gives quotes and bars; ``engine.instruments`` the
instrument table. The Engine is a facade over parts it holds, each built from its collaborators:
``money`` (:class:`~.money.Money`), ``stops`` (:class:`~.stops.StopRules`), ``costs``
(:class:`~.costs.Costs`), ``trading`` (:class:`~.trading.Trading`), ``orders``
(:class:`~.orders.WorkingOrders`), ``triggers`` (:class:`~.triggers.Triggers`) and ``snapshots``;
see docs/simulator-engine-notes.md ("Layout").
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
