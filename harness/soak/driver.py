"""One soak, start to verdict: deploy, run concurrent clients while the schedule's faults come and go
(each healed before the next), heal everything, read all state back on every replica, judge it all.

Recording and judging stay apart, as in ``harness.run``: the soak only records into its history
(streamed to disk as it grows); the verdict comes from the same checkers the bundled scenarios use.
"""

from __future__ import annotations

import logging
import resource
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

from harness import interrupt, run_folder
from harness.backends import Deployer
from harness.capabilities import Scalable
from harness.checkers import STATE_CHECKERS, check_fail_loud, check_invariants
from harness.checkers.base import Checker, Validity, Verdict, Violation, judge
from harness.checkers.faults_as_claimed import with_fault_findings
from harness.deployment import Deployment
from harness.history import History
from harness.run import Result
from harness.soak.nemesis import fault_of, holds_itself
from harness.soak.progress import check_prefix as judge_prefix
from harness.soak.plan import ON_DEPENDENCY, ON_REPLICA, FaultStep, SoakPlan
from harness.soak.workload import InFlight, SoakClient, SoakWorkload, TrackedClient, soak_keys
from harness.spec import TargetSpec
from harness.spec_adapter import make_adapter
from harness.workloads.invariants import WithInvariants

log = logging.getLogger(__name__)

#: seconds between two judgements of the running history (when checking as it goes), at least; and at least
#: CHECK_SHARE times as long as the last one took, so that judging a long soak's history (seconds, late in a
#: 30-minute soak) never takes more than a quarter of the CPU the clients and the app need
CHECK_EVERY = 10.0
CHECK_SHARE = 3.0
#: seconds between two progress reports
PROGRESS_EVERY = 1.0
#: a client finds no replica (scaled to zero): it looks again this often
NO_REPLICA_WAIT = 0.05
#: a client whose operation was refused before reaching the app (its replica is down) waits this long
REFUSED_WAIT = 0.02


@dataclass(frozen=True)
class SoakProgress:
    """What the live line shows; handed to ``progress`` about once a second."""

    elapsed: float
    duration: float
    ops: int
    faults: int
    violations: int
    current: str | None


@dataclass
class SoakResult:
    """A finished soak: the plan, the steps really applied, the verdict of the whole history, the figures."""

    target: str
    plan: SoakPlan
    done: tuple[FaultStep, ...]
    verdict: Verdict
    history: History
    stopped_early: bool
    peak_rss_mb: float
    seconds: float

    @property
    def failed(self) -> bool:
        return self.verdict.validity is Validity.FAIL

    def signature(self) -> frozenset[tuple[str, str]]:
        """The kinds of violation found, ``{(checker, kind)}``: what a shrunk soak must still show."""
        return frozenset((v.checker, v.kind) for v in self.verdict.violations)

    def to_dict(self) -> dict[str, Any]:
        """The record of ``soak.json``: the plan, the steps done, the verdict and the figures.

        ``ops_per_second`` is the clients' sustained rate: the operations of the main phase over the
        time from the first one's start to the last one's end (final reads and deployment left out).
        """
        ops = self.history.operations()
        main = [op for op in ops if op.phase == "main"]
        span = (max(op.end for op in main) - min(op.start for op in main)) if main else 0.0
        return {
            "target": self.target,
            "plan": self.plan.to_dict(),
            "done": [s.to_dict() for s in self.done],
            "stopped_early": self.stopped_early,
            "verdict": self.verdict.to_dict(),
            "figures": {"seconds": round(self.seconds, 2), "operations": len(ops), "main_operations": len(main),
                        "ops_per_second": round(len(main) / span, 1) if span > 0 else 0.0,
                        "faults": len(self.done), "peak_rss_mb": round(self.peak_rss_mb, 1)},
        }


def peak_rss_mb() -> float:
    """This process's peak resident set so far, in MB (Linux reports ``ru_maxrss`` in KB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def soak_checkers(spec: TargetSpec, plan: SoakPlan) -> list[Checker]:
    """The checkers a soak judges with: those of every bundled state-kind scenario, fail-loud when the
    schedule takes a dependency out of reach (as the dependency suite adds it), the spec's invariants."""
    checkers: list[Checker] = list(STATE_CHECKERS)
    if any(step.fault in ON_DEPENDENCY for step in plan.schedule):
        checkers.append(check_fail_loud)
    if spec.invariants is not None:
        checkers.append(check_invariants)
    return checkers


def run_soak(spec: TargetSpec, plan: SoakPlan, deployer: Deployer, out: Path | None = None,
             progress: Callable[[SoakProgress], None] | None = None, fail_fast: bool = False) -> SoakResult:
    """Deploy ``plan.replicas``, run ``plan.clients`` concurrent clients for ``plan.duration`` while the
    schedule's faults are applied one at a time (each healed before the next), heal everything, read
    all state back on every replica, and judge the whole history.

    ``out``: the run folder, where the history streams (redacted) as it grows and the verdict and
    ``soak.json`` are written at the end. ``progress`` is called about once a second; with it, or with
    ``fail_fast``, the running history is judged as it goes (``harness.soak.progress.check_prefix``),
    and ``fail_fast`` stops the soak at the first violation found (then heals, reads back and judges
    the whole history all the same). The deployment is torn down in every case, Ctrl-C included.
    """
    began = time.monotonic()
    history = History()
    adapter = make_adapter(spec)  # a Python adapter that cannot load fails before anything starts
    checkers = soak_checkers(spec, plan)
    with deployer(spec, plan.replicas, history) as deployment:
        if out is not None:
            from harness.redaction import process_redactor

            out.mkdir(parents=True, exist_ok=True)
            history.stream_to(run_folder.soak_history_path(out), process_redactor())
        try:
            soak = _Soak(spec, plan, deployment, adapter, checkers, progress, fail_fast)
            soak.run()
        finally:
            history.close_stream()
    verdict = with_fault_findings(judge(history, checkers, spec.exempt), history)
    result = SoakResult(spec.name, plan, tuple(soak.done), verdict, history, soak.stopped_early, peak_rss_mb(),
                        time.monotonic() - began)
    if out is not None:
        save(result, out, tuple(str(k) for k in adapter.kinds()))
    return result


def save(result: SoakResult, out: Path, kinds: Sequence[str] | None = None) -> None:
    """Write the soak's record (verdicts.json, as a scenario's) and ``soak.json`` into the run folder,
    redacted; the history is already there, streamed as it grew."""
    from harness.redaction import process_redactor

    redactor = process_redactor().collect_history(result.history)
    record = Result(f"soak (seed {result.plan.seed})", result.target, result.verdict, result.history,
                    result.plan.replicas, tuple(kinds) if kinds is not None else None).to_dict()
    record["seed"] = result.plan.seed
    record["history"] = run_folder.relative(out, run_folder.soak_history_path(out))
    run_folder.save_soak(out, record, result.to_dict(), redactor)


class _Idle:
    """The workload ``WithInvariants`` wraps in a soak: the soak's own clients do the writing."""

    kind = "invariants"

    def write(self, client: Any, replicas: list[str]) -> None: ...

    def step(self, client: Any, replicas: list[str], i: int) -> None: ...

    def final_read(self, client: Any, replicas: list[str]) -> None: ...


class _Soak:
    """One soak on a deployment that is up: its clients, its monitor, its schedule (the calling thread)."""

    def __init__(self, spec: TargetSpec, plan: SoakPlan, deployment: Deployment, adapter: Any,
                 checkers: list[Checker], progress: Callable[[SoakProgress], None] | None, fail_fast: bool) -> None:
        self.spec, self.plan, self.deployment, self.adapter = spec, plan, deployment, adapter
        self.checkers, self.progress, self.fail_fast = checkers, progress, fail_fast
        self.history = deployment.history
        self.in_flight = InFlight()
        self.invariants = WithInvariants(_Idle(), spec.invariants) if spec.invariants is not None else None
        keys = soak_keys(plan.seed, deployment.owns_state, uuid.uuid4().hex[:12])
        self.workload = SoakWorkload.for_target(plan.seed, adapter, plan.kinds, self.invariants, keys=keys)
        self.stop = threading.Event()  # the clients stop: the duration is over, or fail-fast found a violation
        self.done: list[FaultStep] = []
        self.stopped_early = False
        self.current: str | None = None
        self.violations: list[Violation] = []
        self.errors: list[BaseException] = []
        self._check_now = threading.Event()
        self._monitor_stop = threading.Event()
        self.t0 = time.monotonic()

    def client(self) -> TrackedClient:
        return TrackedClient(self.deployment, self.history, adapter=self.adapter, in_flight=self.in_flight)

    # ---- the soak --------------------------------------------------------------------------------------
    def run(self) -> None:
        clients: list[TrackedClient] = []
        monitor = threading.Thread(target=self._monitor, name="soak monitor", daemon=True)
        try:
            self._drive(clients, monitor)
            self._heal()
            clients.append(self.client())
            self.current = "final read"
            self.workload.final_read(clients[-1], list(self.deployment.replicas))
        finally:
            self._end_monitor(monitor)
            for client in clients:
                client.close()

    def _drive(self, clients: list[TrackedClient], monitor: threading.Thread) -> None:
        """The clients for the plan's duration, the schedule meanwhile; every client stopped on return."""
        threads: list[threading.Thread] = []
        try:
            if self.invariants is not None:
                clients.append(self.client())
                self.invariants.write(clients[-1], list(self.deployment.replicas))
            self.t0 = time.monotonic()
            deadline = self.t0 + self.plan.duration
            for i in range(self.plan.clients):
                clients.append(self.client())
                thread = threading.Thread(target=self._client, args=(clients[-1], self.workload.client(i), deadline),
                                          name=f"soak client {i}", daemon=True)
                threads.append(thread)
                thread.start()
            if self.progress is not None or self.fail_fast:
                monitor.start()
            self._schedule(deadline)
            self.stop.wait(max(0.0, deadline - time.monotonic()))
        finally:
            self.stop.set()
            for thread in threads:
                thread.join()
            if self.invariants is not None:
                self.invariants.stop()
        if self.errors:
            raise self.errors[0]

    def _end_monitor(self, monitor: threading.Thread) -> None:
        self._monitor_stop.set()
        self._check_now.set()
        if monitor.is_alive():
            monitor.join()

    def _client(self, client: TrackedClient, chooser: SoakClient, deadline: float) -> None:
        """One client: random operations until the deadline or the stop, at most ``plan.rate`` per second."""
        rate = self.plan.rate
        started, done = time.monotonic(), 0
        try:
            while not self.stop.is_set() and not interrupt.stopping.is_set() and time.monotonic() < deadline:
                replicas = list(self.deployment.replicas)  # re-read: faults and scaling change it
                if not replicas:
                    self.stop.wait(NO_REPLICA_WAIT)
                    continue
                chooser.step(client, replicas)
                done += 1
                if client.refused():  # a replica is down: no need to hear it refuse hundreds of times a second
                    self.stop.wait(REFUSED_WAIT)
                if rate:
                    self.stop.wait(max(0.0, started + done / rate - time.monotonic()))
        except BaseException as exc:  # noqa: BLE001 - raised again in the soak's thread
            self.errors.append(exc)
            self.stop.set()

    def _schedule(self, deadline: float) -> None:
        """Apply each step at its time (or as soon as the one before is healed), one at a time."""
        for step in self.plan.schedule:
            self.stop.wait(max(0.0, self.t0 + step.at - time.monotonic()))
            if self.stop.is_set() or time.monotonic() >= deadline:
                return
            fault = fault_of(step)  # a step that names no replica or dependency is refused here, by name
            if step.fault in ON_REPLICA and int(step.target or 0) >= len(self.deployment.replicas):
                log.warning("soak: skipped %s: the deployment has %d replica(s)", step.describe(),
                            len(self.deployment.replicas))
                continue
            self.current = step.describe()
            # a fault's events are recorded when each verb ends: under way until then, like an operation
            token = self.in_flight.begin(self.history.clock.now())
            try:
                fault.apply(self.deployment)
                if step.hold and not holds_itself(step):
                    time.sleep(step.hold)
                fault.heal(self.deployment)
            finally:
                self.in_flight.end(token)
            self.done.append(step)
            self.current = None
            self._check_now.set()

    def _heal(self) -> None:
        """Back to the plan's replicas before the final read (a schedule cut short may have left it scaled)."""
        count = len(self.deployment.replicas)
        if count == self.plan.replicas or not isinstance(self.deployment, Scalable):
            return
        token = self.in_flight.begin(self.history.clock.now())  # its event is recorded when it ends
        try:
            if count == 0:
                self.deployment.scale_from_zero(self.plan.replicas)
            else:
                self.deployment.scale(self.plan.replicas)
        finally:
            self.in_flight.end(token)

    # ---- watching it run -------------------------------------------------------------------------------
    def _monitor(self) -> None:
        """Progress about once a second; the running history judged every ``CHECK_EVERY`` s and after each
        heal; with fail-fast, the clients and the schedule stopped at the first violation."""
        try:
            self._watch()
        except Exception:  # noqa: BLE001 - the live line failing must not take the soak down with it
            log.exception("soak: progress and checking as it goes stopped")

    def _watch(self) -> None:
        last_check, interval, healed = time.monotonic(), CHECK_EVERY, False
        while not self._monitor_stop.is_set():
            if self._check_now.wait(PROGRESS_EVERY):
                self._check_now.clear()
                healed = True  # a heal: check soon, though not more often than the interval allows
            if self._monitor_stop.is_set():
                return
            since = time.monotonic() - last_check
            if since >= interval or (healed and since >= CHECK_EVERY / 5 and interval == CHECK_EVERY):
                healed = False
                last_check = time.monotonic()
                found = check_prefix(self.history, self.checkers, self.in_flight, self.spec.exempt)
                interval = max(CHECK_EVERY, CHECK_SHARE * (time.monotonic() - last_check))
                if len(found) >= len(self.violations):
                    self.violations = found
                if self.fail_fast and self.violations and not self.stop.is_set():
                    self.stopped_early = True
                    self.stop.set()
            if self.progress is not None:
                self.progress(self.snapshot())

    def snapshot(self) -> SoakProgress:
        return SoakProgress(elapsed=time.monotonic() - self.t0, duration=self.plan.duration,
                            ops=len(self.history) - len(self.history.faults()), faults=len(self.done),
                            violations=len(self.violations), current=self.current)


def check_prefix(history: History, checkers: Sequence[Checker], in_flight: InFlight,
                 exempt: Any = None) -> list[Violation]:
    """The violations of the part of the running history that can no longer change
    (``harness.soak.progress.check_prefix``): cut at the earliest start of anything under way, or at
    now when nothing is (an operation may begin right after)."""
    now = history.clock.now()  # taken first: whatever begins after it begins after it
    since = in_flight.since()
    return list(judge_prefix(history, checkers, now if since is None else min(since, now), exempt))
