"""The invariants driver against a fake app (httpx's MockTransport): what it sends, where, and what it records."""

from __future__ import annotations

import json
import threading
import time

import httpx
import pytest
import yaml
from pydantic import ValidationError

from harness.checkers.base import Validity
from harness.checkers.invariants import check_invariants
from harness.client import Client
from harness.errors import SpecError
from harness.history import History, Outcome
from harness.invariants_spec import Invariants
from harness.vocabulary import INVARIANTS
from harness.workloads.invariants import WithInvariants

SECTION = """
setup:
  - {method: POST, path: /shop/items, json: {name: "widget-{run}", stock: 1}, extract: {item: {json: id}}}
rules:
  - name: stock never below zero
    exercise:
      request: {method: POST, path: "/shop/items/{item}/buy", accepted: [200], rejected: [409]}
      concurrency: 2
      every: 0.01
    probe: {method: GET, path: "/shop/items/{item}"}
    expect: {status: 200, json: {path: stock, min: 0}}
"""


class Endpoints:
    def endpoint(self, replica: str) -> str:
        return f"http://{replica}.test"


class Idle:
    """A workload that writes nothing: only the invariants' requests reach the app."""

    kind = "idle"

    def write(self, client: Client, replicas: list[str]) -> None: ...

    def step(self, client: Client, replicas: list[str], i: int) -> None: ...

    def final_read(self, client: Client, replicas: list[str]) -> None: ...


class Shop:
    """One item; a purchase answers 200 while stock lasts, then 409; ``setup_status`` / ``probe_status`` plant faults."""

    def __init__(self, setup_status: int = 201, probe_status: int = 200) -> None:
        self.stock = 1
        self.setup_status, self.probe_status = setup_status, probe_status
        self.seen: list[tuple[str, str, str, bytes]] = []  # host, method, path, body
        self.lock = threading.Lock()

    def __call__(self, request: httpx.Request) -> httpx.Response:
        with self.lock:
            self.seen.append((request.url.host, request.method, request.url.path, request.content))
            if request.method == "POST" and request.url.path == "/shop/items":
                return httpx.Response(self.setup_status, json={"id": 7})
            if request.url.path == "/shop/items/7/buy":
                if self.stock <= 0:
                    return httpx.Response(409, json={"detail": "sold out"})
                self.stock -= 1
                return httpx.Response(200, json={"stock": self.stock})
            if request.url.path == "/shop/items/7":
                return httpx.Response(self.probe_status, json={"id": 7, "stock": self.stock})
        return httpx.Response(404)


def drive(shop: Shop, replicas: list[str]) -> History:
    history = History()
    driver = WithInvariants(Idle(), Invariants.model_validate(yaml.safe_load(SECTION)), run="r1")
    with Client(Endpoints(), history, transport=httpx.MockTransport(shop)) as client:
        driver.write(client, replicas)
        deadline = time.monotonic() + 2
        while len([op for op in history.operations(INVARIANTS) if op.name == "exercise"]) < 4:
            assert time.monotonic() < deadline, "no exercise rounds"
            time.sleep(0.01)
        driver.step(client, replicas, 0)
        driver.final_read(client, replicas)
    return history


def test_setup_then_probes_on_every_replica_in_every_phase_and_exercises_across_replicas() -> None:
    shop = Shop()
    history = drive(shop, ["app-0", "app-1"])
    ops = history.operations(INVARIANTS)
    setup = [op for op in ops if op.name == "setup"]
    assert [(op.replica, op.outcome, op.value) for op in setup] == [("app-0", Outcome.OK, {"item": 7})]
    assert json.loads(shop.seen[0][3]) == {"name": "widget-r1", "stock": 1}  # {run} filled in
    probes = [op for op in ops if op.name == "probe"]
    # two rounds before the faults, one by the writer, one final: each on both replicas
    assert [(op.replica, op.phase) for op in probes] == [("app-0", "main"), ("app-1", "main")] * 3 + [
        ("app-0", "final"), ("app-1", "final")]
    assert probes[0].args["expect"] == {"status": 200, "json": {"path": "stock", "min": 0.0}}
    assert probes[0].value == {"status": 200, "json": {"id": 7, "stock": 1}}
    exercises = [op for op in ops if op.name == "exercise"]
    by_round: dict[int, set[str]] = {}
    for op in exercises:
        by_round.setdefault(op.args["round"], set()).add(op.replica)
    assert all(replicas == {"app-0", "app-1"} for replicas in by_round.values())  # each to another replica
    assert sum(op.outcome is Outcome.OK for op in exercises) == 1  # the one item sold once
    assert all(op.value == {"accepted": False, "reason": "rejected"} for op in exercises if op.outcome is Outcome.FAIL)
    after = len(history.operations(INVARIANTS))
    time.sleep(0.05)
    assert len(history.operations(INVARIANTS)) == after  # the rounds stopped at the final read
    assert check_invariants(history).validity is Validity.PASS


def test_a_setup_not_accepted_sends_no_probe_and_leaves_the_rule_unknown() -> None:
    shop = Shop(setup_status=500)
    driver = WithInvariants(Idle(), Invariants.model_validate(yaml.safe_load(SECTION)))
    h = History()
    with Client(Endpoints(), h, transport=httpx.MockTransport(shop)) as client:
        driver.write(client, ["app-0"])
        driver.final_read(client, ["app-0"])
    assert [op.name for op in h.operations()] == ["setup"]
    assert h.operations()[0].outcome is Outcome.UNKNOWN and h.operations()[0].status == 500
    verdict = check_invariants(h)
    assert verdict.validity is Validity.UNKNOWN and "not probed" in verdict.notes[0]


def test_a_probe_answered_5xx_is_recorded_unknown_with_what_it_returned() -> None:
    shop = Shop(probe_status=503)
    driver = WithInvariants(Idle(), Invariants.model_validate(yaml.safe_load(SECTION)))
    history = History()
    with Client(Endpoints(), history, transport=httpx.MockTransport(shop)) as client:
        driver.setup(client, "app-0")
        driver.probe(client, driver.invariants.rules[0], "app-0", "main")
    probe = history.operations()[-1]
    assert (probe.outcome, probe.status, probe.value["status"]) == (Outcome.UNKNOWN, 503, 503)
    assert check_invariants(history).validity is Validity.UNKNOWN


QUIET = """
setup:
  - {method: POST, path: /shop/items, json: {name: "widget-{run}", stock: 1}, extract: {item: {json: id}}}
rules:
  - name: stock never below zero
    exercise:
      request: {method: POST, path: "/shop/items/{item}/buy", accepted: [200], rejected: [409]}
      replicas: [1]
      until: first-fault
      every: 0.01
    probes: quiet
    probe: {method: GET, path: "/shop/items/{item}"}
    expect: {status: 200, json: {path: stock, min: 0}}
"""


def exercise_count(history: History) -> int:
    return len([op for op in history.operations(INVARIANTS) if op.name == "exercise"])


def test_a_quiet_rule_is_probed_only_before_its_exercise_and_after_the_heal_and_the_exercise_stops_at_the_fault(
) -> None:
    shop = Shop()
    history = History()
    driver = WithInvariants(Idle(), Invariants.model_validate(yaml.safe_load(QUIET)), run="r1")
    with Client(Endpoints(), history, transport=httpx.MockTransport(shop)) as client:
        driver.write(client, ["app-0", "app-1"])
        deadline = time.monotonic() + 2
        while exercise_count(history) < 3:
            assert time.monotonic() < deadline, "no exercise rounds"
            time.sleep(0.01)
        driver.fault_begins()
        time.sleep(0.05)  # a round checked just before may still be recorded
        sent = exercise_count(history)
        driver.step(client, ["app-0", "app-1"], 0)  # during the fault: no probe of a quiet rule
        time.sleep(0.1)
        assert exercise_count(history) == sent  # no round after the first fault began
        driver.final_read(client, ["app-0", "app-1"])
    ops = history.operations(INVARIANTS)
    probes = [op for op in ops if op.name == "probe"]
    assert [(op.replica, op.phase) for op in probes] == [("app-0", "main"), ("app-1", "main"),
                                                         ("app-0", "final"), ("app-1", "final")]
    first_exercise = min(op.start for op in ops if op.name == "exercise")
    assert all(op.end <= first_exercise for op in probes[:2])  # the baseline was taken before the exercise began
    assert {op.replica for op in ops if op.name == "exercise"} == {"app-1"}  # only the replica named
    assert check_invariants(history).validity is Validity.PASS


def test_the_exercise_options_default_to_every_replica_until_the_final_read_and_every_probe_round() -> None:
    rule = Invariants.model_validate(yaml.safe_load(SECTION)).rules[0]
    assert (rule.exercise.replicas, rule.exercise.until, rule.probes) == (None, "final-read", "all")


def test_bad_exercise_replicas_are_refused_naming_the_field() -> None:
    for bad in ("[-1]", "[0, 0]", "[]"):
        with pytest.raises(ValidationError, match="replicas"):
            Invariants.model_validate(yaml.safe_load(QUIET.replace("replicas: [1]", f"replicas: {bad}")))
    with pytest.raises(ValidationError, match="until"):
        Invariants.model_validate(yaml.safe_load(QUIET.replace("until: first-fault", "until: heal")))
    driver = WithInvariants(Idle(), Invariants.model_validate(yaml.safe_load(QUIET)))
    with Client(Endpoints(), History(), transport=httpx.MockTransport(Shop())) as client:
        with pytest.raises(SpecError, match=r"invariants.rules.0.exercise.replicas.*\[1\].*1 replica"):
            driver.write(client, ["app-0"])
    driver.stop()
