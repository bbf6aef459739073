"""A persistence verification harness: does every acknowledged write survive?

The public surface is listed in ``__all__``; everything else is internal.
"""

from harness.adapter import Adapter, ReplicaHttp, accepted, rejected, unexpected
from harness.checkers.base import Validity, Verdict, Violation, judge
from harness.checkers.sessions import check_sessions
from harness.client import Client
from harness.deployment import Deployment
from harness.errors import (
    BackendError,
    DeploymentError,
    EngineUnavailable,
    ExtractionError,
    HarnessError,
    ImageBuildError,
    ReadinessTimeout,
    SpecError,
)
from harness.history import FaultEvent, History, Operation, Outcome
from harness.run import Scenario, drive, execute
from harness.spec import TargetSpec, load_spec

__all__ = [
    "Adapter",
    "BackendError",
    "Client",
    "Deployment",
    "DeploymentError",
    "EngineUnavailable",
    "ExtractionError",
    "FaultEvent",
    "HarnessError",
    "History",
    "ImageBuildError",
    "Operation",
    "Outcome",
    "ReadinessTimeout",
    "ReplicaHttp",
    "Scenario",
    "SpecError",
    "TargetSpec",
    "Validity",
    "Verdict",
    "Violation",
    "accepted",
    "check_sessions",
    "drive",
    "execute",
    "judge",
    "load_spec",
    "rejected",
    "unexpected",
]
