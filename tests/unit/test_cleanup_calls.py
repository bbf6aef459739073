"""harness/cleanup.py against a recording stand-in for the docker SDK client: what it asks the
engine, and how it reads the engine's refusals (the real engine's answers are exercised in
tests/integration/test_swarm_cleanup.py).

Every deployment's close calls ``remove_run``, so on an engine outside a swarm (the docker
and local backends' common case) it may cost one list call per kind of object, no more.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import docker.errors
import pytest

from harness import cleanup

DEAD = 4_000_000  # a process id the stand-in's pid_alive calls dead
NOT_A_MANAGER = ("This node is not a swarm manager. Use \"docker swarm init\" or \"docker swarm join\" "
                 "to connect this node to swarm and try again.")


def api_error(status: int, explanation: str) -> docker.errors.APIError:
    return docker.errors.APIError(f"{status}", response=SimpleNamespace(status_code=status, reason=""),
                                  explanation=explanation)


class Kind:
    """One collection (``client.services`` ...): records its list calls, answers with ``objects``."""

    def __init__(self, calls: list[str], name: str, objects: list[Any] | None = None,
                 refusal: Exception | None = None) -> None:
        self.calls, self.name, self.objects, self.refusal = calls, name, objects or [], refusal

    def list(self, filters: dict[str, str], **kwargs: Any) -> list[Any]:
        """The objects carrying the label ``filters["label"]`` (``key`` or ``key=value``), as the engine."""
        self.calls.append(self.name)
        if self.refusal is not None:
            raise self.refusal
        key, _, value = filters["label"].partition("=")
        return [obj for obj in self.objects if key in obj.labels and (not value or obj.labels[key] == value)]


class Obj:
    def __init__(self, removed: list[str], name: str, **attrs: Any) -> None:
        self.removed, self.name, self.attrs = removed, name, attrs
        # where the engine puts them: a network's and volume's at the top, a container's under
        # Config, a service's and config's under Spec
        self.labels = attrs.get("Labels") or (attrs.get("Config") or attrs.get("Spec") or {}).get("Labels")

    def remove(self, **kwargs: Any) -> None:
        self.removed.append(self.name)


def client(swarm: bool, **objects: list[Any]) -> tuple[Any, list[str]]:
    calls: list[str] = []
    refusal = None if swarm else api_error(503, NOT_A_MANAGER)
    kinds = {name: Kind(calls, name, objects.get(name), refusal if name in ("services", "configs") else None)
             for name in ("services", "configs", "containers", "networks", "volumes")}
    return SimpleNamespace(**kinds), calls


def test_outside_a_swarm_remove_run_lists_each_kind_once_and_no_config() -> None:
    engine, calls = client(swarm=False)
    assert cleanup.remove_run(engine, "run-1") == 0
    assert calls == ["services", "containers", "networks", "volumes"]


def test_on_a_manager_services_and_configs_go_before_containers_networks_and_volumes() -> None:
    removed: list[str] = []
    run = cleanup.labels("run-1")
    engine, calls = client(swarm=True, services=[Obj(removed, "service", Spec={"Labels": run})],
                           configs=[Obj(removed, "config", Spec={"Labels": run})],
                           containers=[Obj(removed, "task", Config={"Labels": run})],
                           networks=[Obj(removed, "bridge", Labels=run, Scope="local")],
                           volumes=[Obj(removed, "volume", Labels=run)])
    assert cleanup.remove_run(engine, "run-1") == 5
    assert removed == ["service", "config", "task", "bridge", "volume"]
    assert calls == ["services", "configs", "containers", "networks", "volumes"]  # no wait for a local network


def test_another_refusal_to_list_services_is_an_error() -> None:
    engine, _ = client(swarm=True)
    engine.services.refusal = api_error(500, "rpc error: code = Unavailable")
    with pytest.raises(docker.errors.APIError):
        cleanup.remove_run(engine, "run-1")


def test_sweep_outside_a_swarm_finds_runs_by_their_containers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cleanup, "pid_alive", lambda pid: pid != DEAD)
    removed: list[str] = []
    dead = {**cleanup.labels("run-dead"), cleanup.LABEL_PID: str(DEAD)}
    engine, _ = client(swarm=False, containers=[Obj(removed, "app-1", Config={"Labels": dead})])
    assert cleanup.sweep(engine) == ["run-dead"]


def test_sweep_finds_a_run_left_only_as_a_service_and_leaves_a_live_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cleanup, "pid_alive", lambda pid: pid != DEAD)
    removed: list[str] = []
    dead = {**cleanup.labels("run-dead"), cleanup.LABEL_PID: str(DEAD)}
    engine, _ = client(swarm=True, services=[Obj(removed, "dead-app", Spec={"Labels": dead}),
                                             Obj(removed, "live-app", Spec={"Labels": cleanup.labels("run-live")})])
    assert cleanup.sweep(engine) == ["run-dead"]
    assert removed == ["dead-app"]


@pytest.mark.parametrize(("status", "explanation", "in_use"), [
    (400, "rpc error: code = FailedPrecondition desc = network x is in use by task y", True),
    (400, "rpc error: code = FailedPrecondition desc = network x is in use by service y", True),
    (403, "error while removing network: network x id y has active endpoints", True),
    (409, "remove v: volume is in use - [abc]", True),
    (400, "invalid filter", False),
    (500, "network x not found", False),
])
def test_refusals_that_mean_in_use_are_retried(status: int, explanation: str, in_use: bool) -> None:
    assert cleanup._in_use(api_error(status, explanation)) is in_use  # noqa: SLF001


def test_an_overlay_network_the_swarm_removed_already_counts_as_gone() -> None:
    def refuse() -> None:
        raise api_error(500, "network n766yfe6dpokhl4jfhucpbnp2 not found")

    assert cleanup._remove(refuse) == 0  # noqa: SLF001


def reaper_program() -> Any:
    """harness/dockerfiles/reaper.py, the program of the reaper container (not a package module)."""
    import importlib.util
    from pathlib import Path

    path = Path(cleanup.__file__).parent / "dockerfiles" / "reaper.py"
    spec = importlib.util.spec_from_file_location("reaper_program", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("swarm", [False, True])
def test_the_reaper_removes_services_first_and_skips_them_outside_a_swarm(
        monkeypatch: pytest.MonkeyPatch, swarm: bool) -> None:
    program = reaper_program()
    calls: list[str] = []

    def api(method: str, path: str) -> tuple[int, object]:
        calls.append(f"{method} {path.split('?')[0]}")
        kind = path.split("?")[0].strip("/")
        if method == "GET" and kind in ("services", "configs"):
            return (200, [{"ID": f"{kind}-1"}]) if swarm else (503, {"message": NOT_A_MANAGER})
        if method == "GET":
            return 200, {"Volumes": []} if kind == "volumes" else []
        return 200, None

    monkeypatch.setattr(program, "_api", api)
    assert program._remove("io.harness.run=run-1") == 0  # noqa: SLF001
    lists = ["GET /containers/json", "GET /networks", "GET /volumes"]
    if swarm:
        assert calls == ["GET /services", "DELETE /services/services-1", "GET /configs",
                         "DELETE /configs/configs-1", *lists]
    else:
        assert calls == ["GET /services", *lists]
