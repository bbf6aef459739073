"""Faults, one module per family; each ships with its heal."""

from harness.faults.base import Fault
from harness.faults.dependency import DependencyOutage, DependencyRestart
from harness.faults.deploy import Redeploy, RollingRestart, ScaleTo, ScaleToZero
from harness.faults.network import NetworkCut
from harness.faults.process import Crash, GracefulRestart, Pause

__all__ = ["Crash", "DependencyOutage", "DependencyRestart", "Fault", "GracefulRestart", "NetworkCut", "Pause", "Redeploy",
           "RollingRestart", "ScaleTo", "ScaleToZero"]
