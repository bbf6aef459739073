"""The spec's own rules: did every answered probe show what its rule expects?

Each probe (an operation of kind ``invariants`` named ``probe``) carries its rule's name
and expectation in its args, and what the replica returned in its value, so this checker
needs nothing but the history. Only answered probes (outcome ``ok``) are evidence: a probe
that failed, timed out, or met a 5xx says nothing either way.

Per rule, at most one violation, at its first bad probe, with its evidence: the replica,
the time, what it returned and why that breaks the rule, the last good probe before it,
and the faults between the two (``faults_between``), or none:

- ``broken-before-any-fault``: a probe broke it before any fault began (the baseline right
  after setup, or under the scenario's first writes): the app's own bug, or the setup's; no
  fault is blamed;
- ``broken``: it held, then a probe broke it; the faults between the last good probe and the
  first bad one are named (none: it broke under the scenario's own traffic).

A rule none of whose probes was answered is unknown, with a note; so are all rules when a
setup request was not accepted (nothing was probed).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from harness.checkers.base import Validity, Verdict, Violation, describe_faults, faults_between, first_time, judges
from harness.history import History, Operation, Outcome
from harness.invariants_spec import Expectation, evaluate
from harness.vocabulary import INVARIANTS

CHECKER = "invariants"
BROKEN = "broken"
BROKEN_BEFORE_ANY_FAULT = "broken-before-any-fault"


def problems(probe: Operation, expectations: dict[str, tuple[Any, Expectation]] | None = None) -> list[str]:
    """Why an answered probe's value breaks the expectation it carries ([]: it holds).

    ``expectations`` (rule -> (the expectation as the args carry it, validated)) keeps each
    rule's expectation validated once, not once per probe: a soak probes a rule many
    thousands of times, always with the same expectation.
    """
    raw = probe.args["expect"]
    rule = probe.args.get("rule")
    cached = expectations.get(rule) if expectations is not None and isinstance(rule, str) else None
    if cached is not None and (cached[0] is raw or cached[0] == raw):
        expect = cached[1]
    else:
        expect = Expectation.model_validate(raw)
        if expectations is not None and isinstance(rule, str):
            expectations[rule] = (raw, expect)
    value = probe.value if isinstance(probe.value, dict) else {}
    return evaluate(expect, value.get("status", probe.status), value.get("json"), value.get("text"))


def _returned(probe: Operation) -> Any:
    value = probe.value if isinstance(probe.value, dict) else {}
    return value.get("json") if value.get("json") is not None else value.get("text")


@judges(INVARIANTS, name=CHECKER)
def check_invariants(history: History) -> Verdict:
    """Judge every rule's probes (see the module)."""
    ops = history.operations(INVARIANTS)
    t0 = first_time(history)
    notes: list[str] = []
    rules: dict[str, None] = {}  # in order of first mention
    probes_of: dict[str, list[Operation]] = {}
    for op in ops:
        for name in (op.args.get("rules") or []) if op.name == "setup" else [op.args.get("rule")]:
            if name is not None and name not in rules:
                rules[name] = None
        if op.name == "probe" and op.args.get("rule") is not None:
            probes_of.setdefault(op.args["rule"], []).append(op)
    failed_setup = [op for op in ops if op.name == "setup" and op.outcome is not Outcome.OK]
    if failed_setup:
        op = failed_setup[0]
        notes.append(f"setup request {op.args.get('step')} ({op.args.get('request')}) on {op.replica} was not "
                     f"accepted ({op.status if op.status is not None else op.error}): the rules "
                     f"{', '.join(repr(r) for r in rules)} were not probed")
    first_fault = min((f.start for f in history.faults()), default=None)
    violations: list[Violation] = []
    unknown: list[str] = []
    stats: dict[str, Any] = {}
    expectations: dict[str, tuple[Any, Expectation]] = {}
    for rule in rules:
        probes = sorted(probes_of.get(rule, ()), key=lambda o: o.start)
        answered = [op for op in probes if op.outcome is Outcome.OK]
        stats[rule] = {"probes": len(probes), "answered": len(answered)}
        if not answered:
            unknown.append(rule)
            if probes:
                notes.append(f"rule {rule!r}: none of its {len(probes)} probes was answered (failed, timed out or "
                             "a 5xx): no evidence either way")
            continue
        bad = _Broken()
        for op in answered:
            if why := problems(op, expectations):
                bad.add(op, why)
        stats[rule]["broken"] = bad.count
        if len(answered) < len(probes):
            notes.append(f"rule {rule!r}: {len(probes) - len(answered)} of {len(probes)} probes not answered "
                         "(no evidence either way)")
        if not bad.count:
            continue
        violations.append(_violation(history, rule, _last_good(answered, bad, expectations), bad, first_fault, t0))
    validity = Validity.FAIL if violations else Validity.UNKNOWN if unknown else Validity.PASS
    return Verdict(CHECKER, validity, tuple(violations), tuple(notes), stats)


@dataclass
class _Broken:
    """A rule's probes that broke it, in time order: the first (with why), how many, and where."""

    first: Operation | None = None
    why: list[str] = field(default_factory=list)
    count: int = 0
    replicas: set[str] = field(default_factory=set)
    final_replicas: set[str] = field(default_factory=set)

    def add(self, op: Operation, why: list[str]) -> None:
        if self.first is None:
            self.first, self.why = op, why
        self.count += 1
        self.replicas.add(op.replica)
        if op.phase == "final":
            self.final_replicas.add(op.replica)


def _last_good(answered: list[Operation], bad: _Broken, expectations: dict[str, tuple[Any, Expectation]]
               ) -> Operation | None:
    """The last probe (in time order) that held and started before the first that broke the rule."""
    assert bad.first is not None
    at = next(i for i, op in enumerate(answered) if op is bad.first)
    for op in reversed(answered[:at]):
        if op.start < bad.first.start and not problems(op, expectations):
            return op
    return None


def _violation(history: History, rule: str, last_good: Operation | None, bad: _Broken,
               first_fault: float | None, t0: float) -> Violation:
    first_bad, why = bad.first, bad.why
    assert first_bad is not None
    still = sorted(bad.final_replicas)
    evidence: dict[str, Any] = {
        "rule": rule, "request": first_bad.args.get("request"), "expected": first_bad.args.get("expect"),
        "returned": _returned(first_bad), "status": (first_bad.value or {}).get("status") if isinstance(
            first_bad.value, dict) else first_bad.status,
        "problems": why, "probe": first_bad.id, "broken_probes": bad.count,
        "broken_on": sorted(bad.replicas), "still_broken_after_heal_on": still,
    }
    at = f"on {first_bad.replica} at +{first_bad.start - t0:.2f}s"
    tail = f" (still broken after the heal on {', '.join(still)})" if still else ""
    if first_fault is None or first_bad.end <= first_fault:
        held = (f" (it held on {last_good.replica} at +{last_good.start - t0:.2f}s: broken by the scenario's own "
                "traffic)" if last_good is not None else " (at its first answered probe)")
        evidence.update(last_good=last_good.id if last_good is not None else None)
        return Violation(CHECKER, BROKEN_BEFORE_ANY_FAULT,
                         f"rule {rule!r} was already broken {at}, before any fault began{held}: {'; '.join(why)}. "
                         f"Not caused by a fault: the app's own bug, or the setup's{tail}",
                         first_bad.replica, (first_bad.id,), first_bad.start, evidence)
    since = last_good.start if last_good is not None else t0
    between = faults_between(history, since, first_bad.end)
    evidence.update(last_good=last_good.id if last_good is not None else None,
                    last_good_replica=last_good.replica if last_good is not None else None,
                    faults_between=[f"{f.label} of {f.target}" for f in between])
    held = (f"it held on {last_good.replica} at +{last_good.start - t0:.2f}s" if last_good is not None
            else "no probe had been answered before")
    return Violation(CHECKER, BROKEN,
                     f"rule {rule!r} broken {at}: {'; '.join(why)}; {held}; between: "
                     f"{describe_faults(between, t0)}{tail}",
                     first_bad.replica, tuple(i for i in (last_good.id if last_good else None, first_bad.id)
                                              if i is not None), first_bad.start, evidence)


__all__ = ["BROKEN", "BROKEN_BEFORE_ANY_FAULT", "check_invariants", "problems"]
