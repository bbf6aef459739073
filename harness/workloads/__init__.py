"""Workloads, one module per state kind."""

from harness.workloads.base import Workload
from harness.workloads.sessions import SessionWorkload

__all__ = ["SessionWorkload", "Workload"]
