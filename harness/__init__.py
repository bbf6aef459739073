"""A persistence verification harness: does every acknowledged write survive?

The public surface is listed in ``__all__`` here and in four packages, each with its own
``__all__``: ``harness.faults`` (crash, restart, outage, ...), ``harness.workloads`` (what is
written per state kind), ``harness.checkers`` (one pure checker per property) and
``harness.load`` (the load suite). A scenario, an adapter or a locustfile needs nothing
else (tests/unit/test_public_api.py checks ours); every other module is internal.
"""

from harness.adapter import Adapter, ReplicaHttp, accepted, rejected, unexpected
from harness.checkers.base import Finding, Validity, Verdict, Violation, faults_between, judge, judges
from harness.checkers.sessions import check_sessions
from harness.capabilities import DependencyFaultable, NetworkCuttable, Pausable, Redeployable, Scalable
from harness.client import Client
from harness.deployment import Deployment
from harness.errors import (
    BackendError,
    DeploymentError,
    EngineUnavailable,
    ExtractionError,
    HarnessError,
    ImageBuildError,
    MissingCapability,
    ReadinessTimeout,
    SpecError,
)
from harness.history import FaultEvent, History, Operation, Outcome
from harness.run import Scenario, drive, execute
from harness.spec import TargetSpec, load_spec
from harness.spec_adapter import SpecAdapter, make_adapter
from harness.vocabulary import BackendName, FaultName, StateKind, Suite

__all__ = [
    "Adapter",
    "BackendError",
    "BackendName",
    "Client",
    "DependencyFaultable",
    "Deployment",
    "DeploymentError",
    "EngineUnavailable",
    "ExtractionError",
    "FaultEvent",
    "FaultName",
    "Finding",
    "HarnessError",
    "History",
    "ImageBuildError",
    "MissingCapability",
    "NetworkCuttable",
    "Operation",
    "Outcome",
    "Pausable",
    "ReadinessTimeout",
    "Redeployable",
    "ReplicaHttp",
    "Scalable",
    "Scenario",
    "SpecAdapter",
    "SpecError",
    "StateKind",
    "Suite",
    "TargetSpec",
    "Validity",
    "Verdict",
    "Violation",
    "accepted",
    "check_sessions",
    "drive",
    "execute",
    "faults_between",
    "judge",
    "judges",
    "load_spec",
    "make_adapter",
    "rejected",
    "unexpected",
]
