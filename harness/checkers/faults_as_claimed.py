"""Faults that were not what their name claims: a graceful stop that ended in SIGKILL.

A graceful restart (and a rolling restart, a redeploy's stop, a scale-in's stop) sends
SIGTERM and waits the spec's ``stop_timeout`` before SIGKILL. An app that ignores SIGTERM
(Node as PID 1, a shell that does not hand the signal on) is killed instead: the scenario
then tested a crash, not a graceful stop, and under an orchestrator, which sends SIGTERM
first as well, every deploy of it is a kill. That is a fact about the target, reported as
a finding: it never turns a pass into a fail, and never hides a violation.

Read from the fault events alone (the deployment writes how each stop ended into the
event's detail, starting with ``KILLED_ON_STOP``), so a stored history gives the same
findings.
"""

from __future__ import annotations

import re
from dataclasses import replace

from harness.checkers.base import Finding, Verdict
from harness.history import FaultEvent, History
from harness.vocabulary import KILLED_ON_STOP, FaultName

NAME = "faults_as_claimed"
KILLED = "graceful_stop_killed"

_KILLED_AFTER = re.compile(re.escape(KILLED_ON_STOP) + r": killed after (\d+(?:\.\d+)?) s")


def killed_after(event: FaultEvent) -> float | None:
    """Seconds the app ignored SIGTERM before it was killed, when a stop of this event ended in
    SIGKILL; None when every stop of it ended by itself (or it stopped nothing)."""
    match = _KILLED_AFTER.search(event.detail)
    return float(match.group(1)) if match else None


def fault_findings(history: History) -> tuple[Finding, ...]:
    """One finding per fault event whose graceful stop ended in SIGKILL after the stop timeout."""
    findings = []
    for event in history.faults():
        seconds = killed_after(event)
        if seconds is None:
            continue
        findings.append(Finding(
            NAME,
            KILLED,
            f"{event.label} of {event.target}: the app ignored SIGTERM for {seconds:g} s and was killed; "
            "under an orchestrator this is a kill, so this scenario tested a crash "
            "(make the app exit on SIGTERM, e.g. exec it as PID 1 or run it under an init that forwards signals)",
            replica=None if event.fault == FaultName.SCALE else event.target,  # a scale's target is a count
            time=event.start,
            evidence={"fault_event": event.id, "fault": event.label, "detail": event.detail},
        ))
    return tuple(findings)


def with_fault_findings(verdict: Verdict, history: History) -> Verdict:
    """``verdict`` with a finding for every graceful stop of ``history`` that ended in SIGKILL; its
    validity, violations and notes unchanged."""
    found = fault_findings(history)
    return replace(verdict, findings=verdict.findings + found) if found else verdict


__all__ = ["KILLED", "NAME", "fault_findings", "killed_after", "with_fault_findings"]
