"""The spec's own rules, driven through a scenario: setup once, exercise in rounds, probe every replica.

``WithInvariants`` wraps a scenario's workload, so the rules ride along in every scenario
whose target states some, with no suite of their own:

- ``write``: the setup requests (on the first replica, in order), a probe of every rule on
  every replica (the baseline, before anything else is written), then the exercise starts
  (a thread of its own sending rounds of ``concurrency`` simultaneous requests, each to
  another replica), the workload's writes, and a second probe round;
- ``step`` (the writer thread while a fault happens): the workload's step, and every
  ``PROBE_EVERY`` steps a probe of every rule on every replica;
- ``final_read``: the exercise stops, the workload reads back, and every rule is probed on
  every replica with phase ``final``.

A rule with ``probes: quiet`` is probed only in the first round (before its exercise starts)
and the final one (after the heal, the exercise stopped); an exercise with ``until:
first-fault`` starts no round once ``fault_begins`` was called (by the scenario, just before
its first fault), and one with ``replicas`` is sent only to those replicas.

Everything is recorded as operations of kind ``invariants`` (``setup``, ``exercise``,
``probe``); whether a rule held is the checker's to say (``harness.checkers.invariants``),
from the expectation each probe carries in its args.
"""

from __future__ import annotations

import threading
import uuid
from typing import Any, Mapping

import httpx

from harness.adapter import ReplicaHttp, StepFailed, unexpected
from harness.client import Client
from harness.errors import ExtractionError, SpecError
from harness.history import Outcome
from harness.invariants_spec import MAX_TEXT, RUN, Invariants, Rule
from harness.operation_table import ACCEPTED, REJECTED
from harness.operations import HttpOperation, HttpRequest
from harness.outcome import status_outcome
from harness.operations import MISSING
from harness.spec_adapter import build_request, extract, send
from harness.vocabulary import INVARIANTS
from harness.workloads.base import Workload

#: probe every rule on every replica every this many writes during a fault
PROBE_EVERY = 5
#: exercise rounds per scenario at most (a bound, not a target: the exercise stops at the final read)
MAX_ROUNDS = 2000


def _said(request: Mapping[str, Any]) -> str:
    return f"{request['method']} {request['path']}"


def _send(http: ReplicaHttp, op: HttpOperation, values: dict[str, Any], where: str) -> httpx.Response:
    """Send ``op``'s ``before`` steps and then ``op``; what the steps extract is added to ``values``.

    A step refused or not answered raises ``StepFailed``: ``op`` itself was never sent.
    """
    for i, step in enumerate(op.before):
        request = build_request(step, values)
        try:
            response, chain = send(http, request, step.follow_redirects)
        except httpx.HTTPError as exc:
            raise StepFailed(f"{where}.before.{i} ({_said(request)}): no answer ({type(exc).__name__}); "
                             "the request after it was not sent") from exc
        if not step.accepts(response.status_code, response.headers):
            raise StepFailed(f"{where}.before.{i} ({_said(request)}): answered {response.status_code}; "
                             "the request after it was not sent")
        values.update(_extracted(step, response, chain, values, f"{where}.before.{i}"))
    response, _ = send(http, build_request(op, values), op.follow_redirects)
    return response


def _extracted(request: HttpRequest, response: httpx.Response, chain: tuple[httpx.Response, ...],
               values: Mapping[str, Any], where: str) -> dict[str, Any]:
    """Every extraction of ``request``: all are required (later requests name them)."""
    found: dict[str, Any] = {}
    for key, how in request.extract.items():
        value = extract(response, how, values, chain)
        if value is MISSING or value is None:
            raise ExtractionError(f"field 'invariants.{where}.extract.{key}': {how.describe()} found nothing in "
                                  f"the {response.status_code} response to {response.request.method} "
                                  f"{response.request.url.path}; body: {response.text[:300]!r}")
        found[key] = value
    return found


def observed(response: httpx.Response) -> dict[str, Any]:
    """What a probe's answer is recorded as: its status, its JSON body (or null), and its text when not JSON."""
    try:
        body = response.json()
    except ValueError:
        return {"status": response.status_code, "json": None, "text": response.text[:MAX_TEXT]}
    return {"status": response.status_code, "json": body}


class WithInvariants:
    """A workload with the spec's invariants driven alongside it (see the module)."""

    def __init__(self, workload: Workload, invariants: Invariants, run: str | None = None) -> None:
        self.workload = workload
        self.invariants = invariants
        self.kind = workload.kind
        self.values: dict[str, Any] = {RUN: run or uuid.uuid4().hex[:12]}
        self.ready = False  # the setup went through: probes and exercises can be rendered
        self._replicas: list[str] = []
        self._stop = threading.Event()
        self._faulted = threading.Event()  # the scenario's first fault has begun
        self._exercises: list[threading.Thread] = []

    # -- the scenario's phases -------------------------------------------------------------
    def write(self, client: Client, replicas: list[str]) -> None:
        self._replicas = list(replicas)
        self.ready = self.setup(client, replicas[0])
        if self.ready:
            self.probe_all(client, replicas, "main", quiet=True)
            self._start_exercises(client)
        self.workload.write(client, replicas)
        if self.ready:
            self.probe_all(client, replicas, "main")

    def step(self, client: Client, replicas: list[str], i: int) -> None:
        self._replicas = list(replicas)
        self.workload.step(client, replicas, i)
        if self.ready and i % PROBE_EVERY == 0:
            self.probe_all(client, replicas, "main")

    def final_read(self, client: Client, replicas: list[str]) -> None:
        self.stop()
        self.workload.final_read(client, replicas)
        if self.ready:
            self.probe_all(client, replicas, "final", quiet=True)

    def fault_begins(self) -> None:
        """The scenario is about to apply its first fault: exercises with ``until: first-fault`` start no
        further round (one already sent is left in flight, for the fault to cut)."""
        self._faulted.set()

    def stop(self) -> None:
        """End the exercise rounds (and wait for them): at the final read, or when the scenario ends early."""
        self._stop.set()
        for thread in self._exercises:
            thread.join()
        self._exercises = []

    # -- setup, probes, exercises ------------------------------------------------------------
    def setup(self, client: Client, replica: str) -> bool:
        """Send the setup requests in order; False (recorded, with why) when one was not accepted."""
        names = self.invariants.names()
        for i, op in enumerate(self.invariants.setup):
            request = build_request(op, self.values)
            args = {"step": i, "request": _said(request), "rules": names}
            found: dict[str, Any] = {}

            def action(http: ReplicaHttp, op: HttpOperation = op, i: int = i) -> tuple[Outcome, Any]:
                values = dict(self.values)
                response = _send(http, op, values, f"setup.{i}")
                if op.decide(response.status_code, response.headers) != (ACCEPTED, ""):
                    return Outcome.FAIL if status_outcome(response.status_code) is Outcome.FAIL else Outcome.UNKNOWN, \
                        {"status": response.status_code, "text": response.text[:300]}
                found.update({k: v for k, v in values.items() if k not in self.values})
                found.update(_extracted(op, response, (), values, f"setup.{i}"))
                return Outcome.OK, dict(found)

            recorded = client.record(INVARIANTS, "setup", replica, action, args)
            if recorded.outcome is not Outcome.OK:
                return False
            self.values.update(found)
        if not self.invariants.setup:  # the rules' names are on record even with nothing to set up
            client.record(INVARIANTS, "setup", replica, lambda http: (Outcome.OK, {}), {"step": None, "rules": names})
        return True

    def probe(self, client: Client, rule: Rule, replica: str, phase: str) -> None:
        def action(http: ReplicaHttp) -> tuple[Outcome, Any]:
            response = _send(http, rule.probe, dict(self.values), f"rules.{rule.name}.probe")
            value = observed(response)
            if response.status_code >= 500 and rule.probe.decide(response.status_code, response.headers) is None:
                return Outcome.UNKNOWN, value  # the app could not answer: no evidence either way
            return Outcome.OK, value

        args = {"rule": rule.name, "request": _said(build_request(rule.probe, self.values)),
                "expect": rule.expect.model_dump(by_alias=True, exclude_unset=True)}
        client.record(INVARIANTS, "probe", replica, action, args, phase=phase)

    def probe_all(self, client: Client, replicas: list[str], phase: str, quiet: bool = False) -> None:
        """Probe every rule on every replica; a rule with ``probes: quiet`` only when ``quiet`` (no exercise
        in flight, no fault under way: before the exercises start, and after the heal)."""
        for rule in self.invariants.rules:
            if rule.probes == "quiet" and not quiet:
                continue
            for replica in replicas:
                self.probe(client, rule, replica, phase)

    def exercise(self, client: Client, rule: Rule, replica: str, round_: int) -> None:
        op = rule.exercise.request  # type: ignore[union-attr]

        def action(http: ReplicaHttp) -> tuple[Outcome, Any]:
            response = _send(http, op, dict(self.values), f"rules.{rule.name}.exercise")
            decided = op.decide(response.status_code, response.headers)
            if decided is None:
                return unexpected(response)
            category, reason = decided
            if category == ACCEPTED:
                return Outcome.OK, {"accepted": True}
            return (Outcome.FAIL if category == REJECTED else Outcome.UNKNOWN), {"accepted": False, "reason": reason}

        client.record(INVARIANTS, "exercise", replica, action,
                      {"rule": rule.name, "round": round_, "request": _said(build_request(op, self.values))})

    def _start_exercises(self, client: Client) -> None:
        for i, rule in enumerate(self.invariants.rules):
            if rule.exercise is not None and rule.exercise.replicas is not None:
                beyond = [r for r in rule.exercise.replicas if r >= len(self._replicas)]
                if beyond:
                    raise SpecError(f"field 'invariants.rules.{i}.exercise.replicas': replica index(es) "
                                    f"{beyond} beyond the {len(self._replicas)} replica(s) of this scenario "
                                    f"(0 to {len(self._replicas) - 1})")
        for rule in self.invariants.rules:
            if rule.exercise is not None:
                thread = _Rounds(self, client, rule)
                self._exercises.append(thread)
                thread.start()


class _Rounds(threading.Thread):
    """One rule's exercise: rounds of ``concurrency`` requests released at the same instant, each to the
    next replica (round robin, among ``replicas`` when given), ``every`` seconds apart, until stopped
    (or the first fault begins, with ``until: first-fault``; at most ``MAX_ROUNDS``).

    A spec error found at run time stops the rounds; it is on record in the history.
    """

    def __init__(self, owner: WithInvariants, client: Client, rule: Rule) -> None:
        super().__init__(name=f"exercise {rule.name}", daemon=True)
        self.owner, self.client, self.rule = owner, client, rule

    def run(self) -> None:
        exercise = self.rule.exercise
        assert exercise is not None
        for round_ in range(MAX_ROUNDS):
            if self.owner._stop.is_set() or (exercise.until == "first-fault" and self.owner._faulted.is_set()):
                return
            replicas = list(self.owner._replicas)
            if exercise.replicas is not None:
                replicas = [replicas[i] for i in exercise.replicas if i < len(replicas)]
                if not replicas:  # scaled in below the replicas named: none to send to this round
                    self.owner._stop.wait(exercise.every)
                    continue
            gate = threading.Barrier(exercise.concurrency)
            errors: list[BaseException] = []

            def one(j: int) -> None:
                try:
                    gate.wait(timeout=5)
                    self.owner.exercise(self.client, self.rule, replicas[(round_ + j) % len(replicas)], round_)
                except SpecError as exc:
                    errors.append(exc)
                except threading.BrokenBarrierError:
                    pass

            senders = [threading.Thread(target=one, args=(j,), daemon=True) for j in range(exercise.concurrency)]
            for sender in senders:
                sender.start()
            for sender in senders:
                sender.join()
            if errors:
                return
            self.owner._stop.wait(exercise.every)


__all__ = ["MAX_ROUNDS", "PROBE_EVERY", "WithInvariants", "observed"]
