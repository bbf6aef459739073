"""The swarm backend's pure parts: when an engine can run it, Docker's timestamps, slots and names."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from harness.backends import swarm_kind
from harness.backends.swarm import _seconds, swarm_state
from harness.capabilities import NetworkCuttable, capabilities_of


class Engine:
    """What ``swarm_state`` reads of an engine: ``docker info``."""

    def __init__(self, swarm: dict[str, Any] | None) -> None:
        self.swarm = swarm

    def info(self) -> dict[str, Any]:
        return {} if self.swarm is None else {"Swarm": self.swarm}


@pytest.mark.parametrize("swarm", [None, {"LocalNodeState": "inactive"}, {"LocalNodeState": "pending"}])
def test_an_engine_outside_a_swarm_is_told_how_to_make_one(swarm: dict[str, Any] | None) -> None:
    why = swarm_state(Engine(swarm))
    assert why is not None and "scripts/swarm.sh ensure" in why and "127.0.0.1" in why


def test_a_worker_cannot_create_services_and_a_manager_can() -> None:
    assert "worker" in (swarm_state(Engine({"LocalNodeState": "active", "ControlAvailable": False})) or "")
    assert swarm_state(Engine({"LocalNodeState": "active", "ControlAvailable": True})) is None


def test_docker_timestamps_keep_their_nanoseconds() -> None:
    whole = datetime(2026, 11, 29, 22, 31, 5, tzinfo=timezone.utc).timestamp()
    assert _seconds("2026-11-29T22:31:05.123456789Z") == pytest.approx(whole + 0.123456789)
    assert _seconds("2026-11-29T22:31:05Z") == whole


def test_replicas_are_named_by_their_swarm_slot() -> None:
    kind = swarm_kind()
    assert [kind.replica_name(i) for i in range(3)] == ["app-1", "app-2", "app-3"]
    assert kind._slot("app-7") == 7  # type: ignore[attr-defined]


def test_the_swarm_backend_has_no_network_cut() -> None:
    kind = swarm_kind()
    assert NetworkCuttable not in capabilities_of(kind)
    assert {c.name for c in capabilities_of(kind)} == {"pause", "redeploy", "scale", "dependency-faults"}


def test_a_scale_beyond_the_gateway_slots_is_a_skip_reason() -> None:
    from harness.faults import ScaleTo
    from harness.spec import load_spec

    spec = load_spec(Path(__file__).resolve().parents[2] / "targets" / "refapp" / "durable.yaml")
    kind = swarm_kind()
    assert ScaleTo(8).unfit(kind, spec) is None
    assert "at most 8 replicas" in (ScaleTo(9).unfit(kind, spec) or "")
