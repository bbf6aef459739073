"""One load scenario, start to verdict: deploy -> locust across replicas (faults meanwhile) -> merge -> judge.

As in ``harness.run``, recording and judging are apart: locust only records (one
line per response), the records become a history, and ``check_rate_limit`` judges
that history like any other, so a stored load history can be judged again.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Sequence

from harness.checkers.base import Checker, Verdict, judge
from harness.checkers.faults_as_claimed import with_fault_findings
from harness.checkers.rate_limit import check_rate_limit
from harness.deployment import Deployment
from harness.history import History
from harness.load.endpoints import publish
from harness.load.faults import DuringLoad, FaultsDuringLoad
from harness.load.plan import build_plan
from harness.load.records import Merged, build_history, read_records
from harness.load.runner import STARTED, LoadConfig, LoadRun, run_locust
from harness.backends import Deployer, docker_deployer
from harness.run import Result
from harness.spec import TargetSpec

#: called with the deployment and "before" / "after": e.g. to read the app's own request counts
Observer = Callable[[Deployment, str], None]


@dataclass
class LoadScenario:
    name: str
    config: LoadConfig
    faults: Sequence[DuringLoad] = ()
    keys: tuple[str, ...] = ("load-0", "load-1", "load-2", "load-3")
    checkers: Sequence[Checker] = (check_rate_limit,)
    replicas: int | None = None


@dataclass
class LoadResult:
    """The verdict (as a ``Result``, so it is saved and reported like any scenario) and the load's figures."""

    result: Result
    run: LoadRun
    merged: Merged
    summary: dict[str, Any] = field(default_factory=dict)


def key_notes(verdict: Verdict) -> tuple[str, ...]:
    """The worst window and overshoot of every key, in words (the figures are in the stats too)."""
    keys = (verdict.stats.get("rate_limit") or {}).get("keys") or {}
    return tuple(f"key {key}: worst window allowed {k['worst_window_allowed']} of limit {k['limit']} "
                 f"({k['overshoot']:.2f}x); {k['allowed']} allowed, {k['denied']} denied in {k['windows']} windows; "
                 f"{k['ambiguous']} on a window boundary, {k['unknown']} unknown, {k['failed']} failed"
                 for key, k in sorted(keys.items()))


def _private_folder() -> Path:
    """A folder only this user can read, removed when the process exits."""
    import atexit
    import shutil
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix="harness-load-"))  # mode 0700
    atexit.register(shutil.rmtree, folder, True)
    return folder


def execute_load(spec: TargetSpec, scenario: LoadScenario, replicas: int, folder: Path,
                 deployer: Deployer = docker_deployer, observe: Observer | None = None) -> LoadResult:
    """Deploy, load (faults meanwhile), tear down (always), then merge the records and judge them."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    plan = build_plan(spec, scenario.keys, hold=scenario.config.hold)
    # The requests as sent, the spec's literal API keys and all: kept out of the run folder, in a
    # private folder of this process, removed when it ends.
    plan_file = plan.write(_private_folder() / "plan.json")
    endpoints_file = folder / "endpoints.json"
    count = scenario.replicas or replicas
    faults_history = History()
    with deployer(spec, count, faults_history) as deployment:
        publish(deployment, endpoints_file)
        if observe is not None:
            observe(deployment, "before")
        faults = FaultsDuringLoad(deployment, endpoints_file, scenario.faults, started=folder / "records" / STARTED)
        try:
            run = run_locust(folder, plan_file, endpoints_file, scenario.config, on_started=faults.begin)
        finally:
            faults.finish()
        if observe is not None:
            observe(deployment, "after")
    merged = build_history(read_records(run.records), plan.accepted, plan.limited, plan.limit, plan.window,
                           faults=faults_history.faults(), clock=faults_history.clock, algorithm=plan.algorithm)
    # a graceful restart under load that was a kill is a finding, as in every other scenario
    verdict = with_fault_findings(judge(merged.history, scenario.checkers, spec.exempt), merged.history)
    totals = run.totals()
    notes = list(key_notes(verdict))
    if totals["requests"] != merged.responses:
        notes.append(f"locust counted {totals['requests']} requests, the records hold {merged.responses}")
    verdict = replace(verdict, notes=verdict.notes + tuple(notes))
    summary = {
        "responses": merged.responses,
        "by_status": merged.by_status,
        "locust": totals,
        "users": scenario.config.users,
        "processes": scenario.config.processes,
        "duration": scenario.config.duration,
        "rate": round(merged.rate, 1),
        "faults": [f"{f.name} at +{f.at:g}s for {f.down:g}s" for f in scenario.faults],
        "folder": str(folder),
        "locust_html": str(run.html),
    }
    (folder / "summary.json").write_text(json.dumps(summary, indent=2))
    return LoadResult(Result(scenario.name, spec.name, verdict, merged.history, count), run, merged, summary)
