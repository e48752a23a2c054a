"""The simulators' common parts live in ``core.simulators`` (carriers' simulators use them too); the names stay
importable from here."""

from core.simulators import Fault, Request, Response, Simulator, SimulatorServer

__all__ = ["Fault", "Request", "Response", "Simulator", "SimulatorServer"]
