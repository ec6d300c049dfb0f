"""The simulator's market and trading engine: no HTTP here."""

from capitalcom_sim.engine.clock import Clock

__all__ = ["Clock"]
