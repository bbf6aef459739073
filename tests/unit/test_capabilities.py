"""Backends by capability: what a deployment class inherits is what it can do, and nothing pretends.

A scenario whose faults need a capability its backend lacks is skipped with a reason naming
the capability, decided by ``issubclass`` on the deployment class, never by a backend's name.
"""

from __future__ import annotations

import ast
import inspect
import textwrap
from pathlib import Path
from types import SimpleNamespace

import pytest

from harness.backends.docker import DockerDeployment
from harness.backends.local import LocalDeployment
from harness.capabilities import (CAPABILITIES, DependencyFaultable, NetworkCuttable, Pausable, Redeployable, Scalable,
                                  capabilities_of, lacking, require)
from harness.deployment import Deployment
from harness.errors import MissingCapability
from harness.faults import (Crash, DependencyOutage, DependencyRestart, GracefulRestart, NetworkCut, Pause, Redeploy,
                            RollingRestart, ScaleTo)
from harness.spec import load_spec

DURABLE = Path(__file__).resolve().parents[2] / "targets" / "refapp" / "durable.yaml"

EVERY_FAULT = [Crash(), GracefulRestart(), Redeploy(), RollingRestart(), ScaleTo(3), Pause(),
               DependencyRestart("postgres"), DependencyOutage("postgres"), NetworkCut("postgres")]


class CoreOnly(Deployment):
    """A backend with the core alone (as an attach backend might be): crash, start, restart."""

    def endpoint(self, replica: str) -> str:
        return "http://127.0.0.1:9"

    def _create_replica(self, replica: str) -> None:
        self.replicas.append(replica)

    def _signal(self, replica: str, signal: str) -> None:
        pass

    def _stop(self, replica: str) -> None:
        pass

    def _start(self, replica: str) -> None:
        pass

    def _exit_status(self, replica: str) -> int | None:
        return None

    def logs(self, name: str, lines: int = 30) -> str:
        return ""

    def close(self) -> None:
        pass


def test_the_local_backend_lacks_the_network_cut_and_has_the_rest() -> None:
    assert capabilities_of(LocalDeployment) == [Pausable, Redeployable, Scalable, DependencyFaultable]
    assert not issubclass(LocalDeployment, NetworkCuttable)
    assert not hasattr(LocalDeployment, "cut_network") and not hasattr(LocalDeployment, "_network_action")
    assert capabilities_of(DockerDeployment) == list(CAPABILITIES)


def test_a_fault_needing_a_missing_capability_is_refused_naming_it() -> None:
    reason = lacking(LocalDeployment, [Crash(), NetworkCut("redis")])
    assert reason is not None and "network-cut capability" in reason and "LocalDeployment lacks" in reason
    with pytest.raises(MissingCapability, match="needs the network-cut capability"):
        require(LocalDeployment, [NetworkCut("postgres")])
    assert lacking(DockerDeployment, EVERY_FAULT) is None
    assert lacking(LocalDeployment, [f for f in EVERY_FAULT if not isinstance(f, NetworkCut)]) is None


def test_every_fault_states_its_needs_and_the_core_needs_none() -> None:
    for fault in EVERY_FAULT:
        assert all(c in CAPABILITIES for c in type(fault).needs), fault
    core = [f for f in EVERY_FAULT if lacking(CoreOnly, [f]) is None]
    assert [f.name for f in core] == ["crash", "graceful-restart", "rolling-restart"]
    assert lacking(CoreOnly, [Pause()]) == ("fault pause needs the pause capability (freeze a replica's processes "
                                            "and thaw them), which CoreOnly lacks")


def test_a_core_only_backend_runs_the_core_verbs_and_has_no_others() -> None:
    deployment = CoreOnly(load_spec(DURABLE))
    assert not any(hasattr(deployment, verb) for verb in ("pause", "redeploy", "scale", "restart_dependency",
                                                           "cut_network"))
    deployment.crash("app-0")
    assert [(f.fault, f.heal) for f in deployment.history.faults()] == [("crash", False)]


def test_the_plugin_skips_by_capability_not_by_backend_name() -> None:
    """A backend named like none we know, whose class lacks the capability: skipped all the same."""
    from harness.plugin import Harness

    harness = object.__new__(Harness)
    harness.backend, harness.kind = "attach", CoreOnly
    harness.spec = SimpleNamespace(name="t", has_dependency=lambda name: True)  # type: ignore[assignment]
    with pytest.raises(pytest.skip.Exception, match=r"attach backend: a network cut needs the network-cut "
                                                    r"capability .*, which CoreOnly lacks"):
        harness.require_network_cut()
    with pytest.raises(pytest.skip.Exception, match="needs the dependency-faults capability"):
        harness.require_dependency("postgres")
    harness.kind = DockerDeployment
    harness.require_network_cut()  # no skip
    harness.require_dependency("postgres")


# ---- no method that only raises --------------------------------------------------


def only_raises(function: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    """Whether a function's body, its docstring aside, is a single ``raise``: a pretended capability."""
    body = function.body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]
    return len(body) == 1 and isinstance(body[0], ast.Raise)


def pretending(cls: type) -> list[str]:
    """Methods defined in ``cls`` itself whose body only raises."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(cls)))
    methods = [n for n in tree.body[0].body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]  # type: ignore[attr-defined]
    return [f"{cls.__name__}.{m.name}" for m in methods if only_raises(m)]


def every_subclass(cls: type) -> list[type]:
    found = []
    for sub in cls.__subclasses__():
        found += [sub, *every_subclass(sub)]
    return list(dict.fromkeys(found))


def test_no_deployment_class_has_a_method_that_only_raises() -> None:
    classes = [Deployment, *every_subclass(Deployment)]
    assert LocalDeployment in classes and DockerDeployment in classes and NetworkCuttable in classes
    harness_classes = [c for c in classes if c.__module__.startswith("harness.")]
    assert [name for cls in harness_classes for name in pretending(cls)] == []


def test_the_raise_check_catches_a_pretended_capability() -> None:
    """The check above can fail: the local backend's old network cut is caught."""
    planted = ast.parse(textwrap.dedent('''
        def _network_action(self, name, connected):
            """Not here."""
            raise BackendError("a network cut needs the docker backend")
    ''')).body[0]
    honest = ast.parse("def _pause(self, replica):\n    self._proc(replica).signal(19)\n").body[0]
    assert only_raises(planted) and not only_raises(honest)  # type: ignore[arg-type]
