"""The reference app's racy writes (targets/refapp/racy-*.yaml), caught under concurrent requests; durable passes.

Four clients, on two replicas, do the same thing at the same instant, round after round
(a barrier releases them together): increment one shared counter, use one quote of the
round, update one shared record. Then every replica reads everything back, and the
state checkers judge the history:

- ``racy-counter.yaml`` (``COUNTER_INCREMENT=read-modify-write``): increments that read the
  same value write the same value, and the final read is below what was acknowledged:
  the counters checker's ``lost-increments``;
- ``racy-quote-use.yaml`` (``QUOTE_USE=check-then-set``): uses that all read "not used" are
  all acknowledged: the quotes checker's ``used-twice``;
- ``racy-record-update.yaml`` (``RECORD_UPDATE=read-modify-write``): updates that read the same
  version all answer the next one: ``lost-update`` (the lost-updates checker), which the
  records checker cannot see (the data read back is one of the racing updates');
- ``durable.yaml``: the same traffic passes every checker.

This is a soak's contention in miniature, with no fault: the fixed suites (one writer) miss
these bugs, as the issue's figures say.
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from harness.backends import Deployer, docker_deployer
from harness.backends.local import LocalDeployment
from harness.checkers import STATE_CHECKERS
from harness.checkers.base import Validity, judge
from harness.client import Client
from harness.history import History, Outcome
from harness.spec import TargetSpec, load_spec
from harness.spec_adapter import make_adapter

from .test_local_backend import refapp_importable  # noqa: F401 - the same guard on the app's packages

REFAPP = Path(__file__).resolve().parents[2] / "targets" / "refapp"
CLIENTS = 4
ROUNDS = 6


def _local(spec: TargetSpec, replicas: int, history: History) -> LocalDeployment:
    return LocalDeployment(spec, replicas=replicas, history=history, dependencies="auto").up()


@pytest.fixture(params=[pytest.param("local", marks=pytest.mark.local),
                        pytest.param("docker", marks=pytest.mark.docker)])
def deployer(request: pytest.FixtureRequest) -> Deployer:
    """Local processes (the app from this source tree, a real PostgreSQL), or containers of the harness-refapp
    image (which must hold refapp/storage/races.py: `harness images`)."""
    if request.param == "local":
        request.getfixturevalue("refapp_importable")
        return _local
    request.getfixturevalue("images")
    return docker_deployer


def _contend(spec_name: str, deployer: Deployer) -> History:
    """Deploy two replicas, run the rounds of simultaneous writes, read back on every replica."""
    spec = load_spec(REFAPP / spec_name)
    history = History()
    adapter = make_adapter(spec)
    with deployer(spec, 2, history) as deployment:
        replicas = list(deployment.replicas)
        with Client(deployment, history, adapter=adapter) as setup:
            record = setup.call("records", "create", replicas[0], {"data": {"nonce": "shared", "n": -1}})
            quotes = [setup.call("quotes", "create", replicas[0], {"amount": 1.0, "ttl": 300}) for _ in range(ROUNDS)]
        assert record.outcome is Outcome.OK and all(q.outcome is Outcome.OK for q in quotes)
        record_id = record.value["id"]
        barrier = threading.Barrier(CLIENTS)

        def client(index: int) -> None:
            replica = replicas[index % len(replicas)]
            with Client(deployment, history, adapter=adapter) as own:
                for r in range(ROUNDS):
                    barrier.wait(timeout=30)
                    own.call("counters", "increment", replica, {"name": "shared", "by": 1})
                    barrier.wait(timeout=30)
                    own.call("quotes", "use", replica, {"id": quotes[r].value["id"]})
                    barrier.wait(timeout=30)
                    own.call("records", "update", replica,
                             {"id": record_id, "data": {"nonce": f"c{index}-r{r}", "client": index, "round": r}})

        threads = [threading.Thread(target=client, args=(i,)) for i in range(CLIENTS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        assert not any(t.is_alive() for t in threads)
        with Client(deployment, history, adapter=adapter) as final:
            for replica in replicas:
                final.call("counters", "read", replica, {"name": "shared"}, phase="final")
                final.call("records", "read", replica, {"id": record_id}, phase="final")
                for q in quotes:
                    final.call("quotes", "read", replica, {"id": q.value["id"]}, phase="final")
    return history


@pytest.mark.parametrize(("spec", "checker", "kind"), [
    ("racy-counter.yaml", "counters", "lost-increments"),
    ("racy-quote-use.yaml", "quotes", "used-twice"),
    ("racy-record-update.yaml", "lost-updates", "lost-update"),
])
def test_a_racy_write_is_caught_under_concurrent_requests(deployer: Deployer, spec: str, checker: str,
                                                          kind: str) -> None:
    history = _contend(spec, deployer)
    verdict = judge(history, STATE_CHECKERS)
    assert verdict.validity is Validity.FAIL, verdict.explain()
    assert {(v.checker, v.kind) for v in verdict.violations} == {(checker, kind)}, verdict.explain()


def test_durable_passes_the_same_concurrent_requests(deployer: Deployer) -> None:
    history = _contend("durable.yaml", deployer)
    verdict = judge(history, STATE_CHECKERS)
    assert verdict.ok, verdict.explain()
    uses = [op for op in history.operations("quotes") if op.name == "use" and op.outcome is Outcome.OK]
    assert sum(bool(op.value.get("used")) for op in uses) == ROUNDS  # each quote used exactly once
    increments = [op for op in history.operations("counters") if op.name == "increment"]
    assert sorted(op.value["value"] for op in increments) == list(range(1, CLIENTS * ROUNDS + 1))
    versions = [op.value["version"] for op in history.operations("records") if op.name == "update"]
    assert sorted(versions) == list(range(2, CLIENTS * ROUNDS + 2))
