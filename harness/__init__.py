"""A persistence verification harness: does every acknowledged write survive?

The public surface is listed in ``__all__``; everything else is internal.
"""

from harness.adapter import Adapter, ReplicaHttp, accepted, rejected, unexpected
from harness.checkers.base import Finding, Validity, Verdict, Violation, judge, judges
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
from harness.spec_adapter import SpecAdapter

__all__ = [
    "Adapter",
    "BackendError",
    "Client",
    "Deployment",
    "DeploymentError",
    "EngineUnavailable",
    "ExtractionError",
    "FaultEvent",
    "Finding",
    "HarnessError",
    "History",
    "ImageBuildError",
    "Operation",
    "Outcome",
    "ReadinessTimeout",
    "ReplicaHttp",
    "Scenario",
    "SpecAdapter",
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
    "judges",
    "load_spec",
    "rejected",
    "unexpected",
]
