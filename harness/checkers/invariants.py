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

from typing import Any

from harness.checkers.base import Validity, Verdict, Violation, describe_faults, faults_between, first_time, judges
from harness.history import History, Operation, Outcome
from harness.invariants_spec import Expectation, evaluate
from harness.vocabulary import INVARIANTS

CHECKER = "invariants"
BROKEN = "broken"
BROKEN_BEFORE_ANY_FAULT = "broken-before-any-fault"


def problems(probe: Operation) -> list[str]:
    """Why an answered probe's value breaks the expectation it carries ([]: it holds)."""
    expect = Expectation.model_validate(probe.args["expect"])
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
    rules: list[str] = []
    for op in ops:
        for name in (op.args.get("rules") or []) if op.name == "setup" else [op.args.get("rule")]:
            if name is not None and name not in rules:
                rules.append(name)
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
    for rule in rules:
        probes = sorted((op for op in ops if op.name == "probe" and op.args.get("rule") == rule), key=lambda o: o.start)
        answered = [op for op in probes if op.outcome is Outcome.OK]
        stats[rule] = {"probes": len(probes), "answered": len(answered)}
        if not answered:
            unknown.append(rule)
            if probes:
                notes.append(f"rule {rule!r}: none of its {len(probes)} probes was answered (failed, timed out or "
                             "a 5xx): no evidence either way")
            continue
        judged = [(op, problems(op)) for op in answered]
        bad = [(op, why) for op, why in judged if why]
        stats[rule]["broken"] = len(bad)
        if len(answered) < len(probes):
            notes.append(f"rule {rule!r}: {len(probes) - len(answered)} of {len(probes)} probes not answered "
                         "(no evidence either way)")
        if not bad:
            continue
        violations.append(_violation(history, rule, judged, bad, first_fault, t0))
    validity = Validity.FAIL if violations else Validity.UNKNOWN if unknown else Validity.PASS
    return Verdict(CHECKER, validity, tuple(violations), tuple(notes), stats)


def _violation(history: History, rule: str, judged: list[tuple[Operation, list[str]]],
               bad: list[tuple[Operation, list[str]]], first_fault: float | None, t0: float) -> Violation:
    first_bad, why = bad[0]
    good_before = [op for op, problems_ in judged if not problems_ and op.start < first_bad.start]
    last_good = good_before[-1] if good_before else None
    still = sorted({op.replica for op, _ in bad if op.phase == "final"})
    evidence: dict[str, Any] = {
        "rule": rule, "request": first_bad.args.get("request"), "expected": first_bad.args.get("expect"),
        "returned": _returned(first_bad), "status": (first_bad.value or {}).get("status") if isinstance(
            first_bad.value, dict) else first_bad.status,
        "problems": why, "probe": first_bad.id, "broken_probes": len(bad),
        "broken_on": sorted({op.replica for op, _ in bad}), "still_broken_after_heal_on": still,
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
