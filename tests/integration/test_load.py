"""The load path with real containers and real locust processes.

Detection: ``racy-limit`` is caught under concurrent load over 3 replicas, ``memory``
overshoots by about the replica count, ``durable`` stays within the limit in five
consecutive runs. Exactness: the responses recorded equal the requests the replicas
served (their ``/stats`` before and after the load; the harness polls nothing during
the load and ``/stats`` does not count itself) and locust's own totals, also when a
worker streams its records to the master as a worker on another machine would.
Cleanup: a timed-out or interrupted runner leaves no locust process.
The first tests need no Docker: how records become outcomes.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from harness.backends.local import free_port
from harness.checkers.base import Validity
from harness.history import Outcome
from harness.load.faults import DuringLoad
from harness.load.records import Record, outcome, parse_line
from harness.load.runner import LoadConfig, LoadError, run_locust
from harness.load.scenario import LoadScenario, LoadResult, execute_load
from harness.spec import load_spec
from tests.integration.conftest import REFAPP

USERS = 30
SECONDS = 6.0
#: longer than the reference app's 10 s window: a run crosses at least one window boundary
CROSSING = 12.0


# ---- records -> outcomes (no Docker) ------------------------------------------------------------

def _rec(status: int | None, error: str = "") -> Record:
    return Record(1.0, 1.1, "app-0", "k", status, 100.0, error)


@pytest.mark.parametrize("record, expected", [
    (_rec(200), (Outcome.OK, True)),
    (_rec(429), (Outcome.OK, False)),
    (_rec(403), (Outcome.FAIL, None)),          # not the spec's denial: refused
    (_rec(503), (Outcome.UNKNOWN, None)),       # the app may have counted it
    (_rec(None, "ConnectionRefusedError: [Errno 111] refused"), (Outcome.FAIL, None)),
    (_rec(None, "ConnectionResetError: [Errno 104] reset"), (Outcome.UNKNOWN, None)),
    (_rec(None, "HTTPConnectionClosed: connection closed"), (Outcome.UNKNOWN, None)),
    (_rec(None, "timeout: timed out"), (Outcome.UNKNOWN, None)),
])
def test_record_outcomes_follow_the_client_rules(record: Record, expected: tuple) -> None:
    result, value = outcome(record, accepted=(200,), limited=(429,))
    assert (result, value["allowed"] if value else None) == expected


def test_a_line_cut_short_is_skipped() -> None:
    assert parse_line("1.0\t1.1\tapp-0\tk\t429\t3.2\t\n") == Record(1.0, 1.1, "app-0", "k", 429, 3.2, "")
    assert parse_line("1.0\t1.1\tapp-0\tk\t4") is None
    assert parse_line("x\t1.1\tapp-0\tk\t429\t3.2\t\n") is None


def test_records_become_a_judged_history_with_a_load_plot(tmp_path: Path) -> None:
    """Two processes' files, merged in time order with a fault; 3 allowed per window over 2 replicas of
    a limit of 2 is caught; the HTML report draws the per-second plot and links locust's report."""
    from harness.checkers.rate_limit import check_rate_limit
    from harness.history import FaultEvent
    from harness.load.records import build_history, read_records
    from harness.report.html import render_html

    base = 1_800_000_000.0
    lines = {"records-a-1.tsv": [(0.1, "app-0", 200), (0.3, "app-0", 200), (0.5, "app-0", 429)],
             "records-a-2.tsv": [(0.2, "app-1", 200), (1.2, "app-1", 429), (1.4, "app-1", "")]}
    for name, rows in lines.items():
        text = "".join(f"{base + t:.6f}\t{base + t + 0.01:.6f}\t{r}\tk\t{st}\t10.0\t"
                       f"{'ConnectionRefusedError: refused' if st == '' else ''}\n" for t, r, st in rows)
        (tmp_path / name).write_text(text + "1.0\t2.0\tapp")  # and a line cut short
    fault = FaultEvent(0, "crash", "app-0", base + 0.6, base + 0.7)
    merged = build_history(read_records(tmp_path), (200,), (429,), limit=2, window=10.0, faults=[fault],
                           algorithm={"name": "fixed-window", "anchor": "epoch"})
    assert merged.responses == 6 and merged.by_status == {"200": 3, "429": 2, "ConnectionRefusedError": 1}
    events = list(merged.history)
    assert [e.id for e in events] == list(range(7)) and events[4] is not None and events[4].type == "fault"
    verdict = check_rate_limit(merged.history)
    assert verdict.validity is Validity.FAIL and verdict.stats["keys"]["k"]["worst_window_allowed"] == 3
    record = {"scenario": "load", "validity": "fail", "violations": [], "load": {
        "users": 2, "processes": 2, "duration": 2, "responses": 6, "rate": 4.2, "locust": {"requests": 6},
        "report": "x.load/locust.html"}}
    html = render_html([record], [merged.history])
    assert 'class="timeline loadplot"' in html and 'href="x.load/locust.html"' in html
    assert "+0s to +1s: 3 allowed, 1 denied, 0 without a definite answer" in html
    assert "+1s to +2s: 0 allowed, 1 denied, 1 without a definite answer" in html


# ---- no locust process survives its runner (no Docker) ------------------------------------------

def _processes_in(folder: Path) -> list[int]:
    """Processes (locust master and workers) whose working directory is ``folder``."""
    import psutil

    found = []
    for proc in psutil.process_iter(["pid", "cwd"]):
        if proc.info.get("cwd") == str(folder):
            found.append(proc.info["pid"])
    return found


def _idle_inputs(folder: Path) -> tuple[Path, Path]:
    """A plan and endpoints that make locust hit a closed port: refused, fast, harmless."""
    plan = load_spec(REFAPP / "durable.yaml")
    from harness.load.plan import build_plan

    plan_file = build_plan(plan, ["k"]).write(folder / "plan.json")
    endpoints = folder / "endpoints.json"
    endpoints.write_text(json.dumps({"replicas": {"app-0": "http://127.0.0.1:9"}}))
    return plan_file, endpoints


def test_runner_timeout_leaves_no_locust_process(tmp_path: Path) -> None:
    folder = tmp_path / "load"
    folder.mkdir()
    plan, endpoints = _idle_inputs(folder)
    started = time.monotonic()
    with pytest.raises(LoadError, match="did not finish"):
        run_locust(folder, plan, endpoints, LoadConfig(users=2, duration=60, processes=2), timeout=4)
    assert time.monotonic() - started < 20
    assert _processes_in(folder) == []


def test_ctrl_c_leaves_no_locust_process(tmp_path: Path) -> None:
    folder = tmp_path / "load"
    folder.mkdir()
    plan, endpoints = _idle_inputs(folder)
    script = ("import sys; from pathlib import Path; from harness.load.runner import LoadConfig, run_locust; "
              f"run_locust(Path({str(folder)!r}), Path({str(plan)!r}), Path({str(endpoints)!r}), "
              "LoadConfig(users=2, duration=60, processes=2))")
    proc = subprocess.Popen([sys.executable, "-c", script], cwd=Path(__file__).resolve().parents[2])
    deadline = time.monotonic() + 30
    while len(_processes_in(folder)) < 3 and time.monotonic() < deadline:  # master + 2 workers
        time.sleep(0.2)
    assert len(_processes_in(folder)) >= 3, "locust did not start"
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=20) != 0
    assert _processes_in(folder) == []


# ---- real containers ----------------------------------------------------------------------------

class Served:
    """The app's own count of the requests it served (``/stats``), summed over replicas."""

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}

    def __call__(self, deployment, when: str) -> None:
        self.counts[when] = sum(httpx.get(deployment.endpoint(r) + "/stats", timeout=5).json()["requests"]
                                for r in deployment.replicas)

    @property
    def during_load(self) -> int:
        return self.counts["after"] - self.counts["before"]


def _load(mode: str, folder: Path, name: str, config: LoadConfig | None = None,
          faults: tuple[DuringLoad, ...] = (), observe=None) -> LoadResult:
    scenario = LoadScenario(name, config or LoadConfig(users=USERS, duration=SECONDS, processes=2), faults=faults,
                            keys=tuple(f"{name}-{i}" for i in range(3)))
    return execute_load(load_spec(REFAPP / f"{mode}.yaml"), scenario, 3, folder, observe=observe)


def _assert_exact(loaded: LoadResult, served: Served) -> None:
    recorded = loaded.merged.responses
    assert recorded > 100
    assert recorded == served.during_load, f"recorded {recorded}, the replicas served {served.during_load}"
    assert loaded.run.totals()["requests"] == recorded, f"locust {loaded.run.totals()}, recorded {recorded}"


@pytest.mark.docker
def test_racy_limit_is_caught_under_load(images: None, tmp_path: Path) -> None:
    """The race is at each window's start; users held past the boundary start it together, and every
    one of those hits is counted in the new window (none straddles the boundary)."""
    loaded = _load("racy-limit", tmp_path, "racy", LoadConfig(users=USERS, duration=CROSSING, processes=2))
    verdict = loaded.result.verdict
    assert verdict.validity is Validity.FAIL, verdict.explain()
    over = [v for v in verdict.violations if v.kind == "over-limit"]
    assert over and all(v.evidence["allowed"] > v.evidence["limit"] for v in over)
    stats = verdict.stats["rate_limit"]
    assert stats["ambiguous"] <= loaded.merged.responses // 100, stats


@pytest.mark.docker
def test_without_hold_boundary_hits_go_uncounted(images: None, tmp_path: Path) -> None:
    """Steady load with no hold: every user has a request in flight at the boundary, and the checker
    cannot place those hits, the very ones a shared counter contends for."""
    config = LoadConfig(users=USERS, duration=CROSSING, processes=2, hold=False)
    stats = _load("durable", tmp_path, "nohold", config).result.verdict.stats["rate_limit"]
    assert stats["ambiguous"] >= USERS // 2, stats


@pytest.mark.docker
def test_memory_overshoots_by_about_the_replica_count(images: None, tmp_path: Path) -> None:
    loaded = _load("memory", tmp_path, "memory")
    stats = loaded.result.verdict.stats["rate_limit"]
    assert loaded.result.verdict.validity is Validity.FAIL
    assert 2.0 <= stats["max_overshoot"] <= 3.5, stats


@pytest.mark.docker
def test_durable_holds_in_five_runs_and_every_response_is_accounted(images: None, tmp_path: Path) -> None:
    for run in range(5):
        served = Served()
        loaded = _load("durable", tmp_path / f"run-{run}", f"durable{run}",
                       LoadConfig(users=USERS, duration=5, processes=2), observe=served)
        verdict = loaded.result.verdict
        assert verdict.validity is Validity.PASS, f"run {run}: {verdict.explain()}"
        assert verdict.stats["rate_limit"]["max_overshoot"] <= 1.0
        _assert_exact(loaded, served)


@pytest.mark.docker
def test_a_remote_worker_streams_its_records_to_the_master(images: None, tmp_path: Path) -> None:
    """Master + one local worker + one worker as on another machine: no plan, endpoints or records folder
    of its own, the locustfile fetched from the master (``-f -``); all its responses end up in the history."""
    port = free_port()
    remote_dir = tmp_path / "remote"
    remote_dir.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("HARNESS_LOAD_")}
    remote = subprocess.Popen([sys.executable, "-m", "locust", "--worker", "-f", "-", "--master-host", "127.0.0.1",
                               "--master-port", str(port), "--loglevel", "WARNING"], cwd=remote_dir, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        served = Served()
        config = LoadConfig(users=USERS, duration=SECONDS, processes=1, remote_workers=1,
                            master_bind=f"127.0.0.1:{port}", expect_workers_timeout=60)
        loaded = _load("durable", tmp_path / "load", "dist", config, observe=served)
        files = {p.name: sum(1 for _ in p.open()) for p in loaded.run.records.glob("records-*.tsv")}
        assert any(n.startswith("records-remote-") and c > 0 for n, c in files.items()), files
        assert any(not n.startswith("records-remote-") and c > 0 for n, c in files.items()), files
        assert loaded.result.verdict.validity is Validity.PASS, loaded.result.verdict.explain()
        _assert_exact(loaded, served)
        assert remote.wait(timeout=30) is not None
    finally:
        if remote.poll() is None:
            os.killpg(remote.pid, signal.SIGKILL)
            remote.wait()


@pytest.mark.docker
def test_users_follow_a_crashed_replica_to_its_new_port(images: None, tmp_path: Path) -> None:
    """Replica 0 is crashed mid-load and started on a new port: load reaches it again afterwards."""
    from harness.faults import Crash

    loaded = _load("durable", tmp_path, "crash", LoadConfig(users=USERS, duration=10, processes=2),
                   faults=(DuringLoad(Crash(0), at=1.0, down=0.5),))
    history = loaded.result.history
    t0 = min(e.start for e in history)
    start = next(f for f in history.faults() if f.fault == "crash" and f.heal)
    after = [op for op in history.operations() if op.replica == "app-0" and op.start > start.end]
    faults = [(f.fault, round(f.start - t0, 2), round(f.end - t0, 2)) for f in history.faults()]
    last = max(op.end for op in history.operations()) - t0
    assert after, f"no request reached app-0 after its start; faults {faults}, load until +{last:.2f}s"
    assert all(op.outcome is Outcome.OK for op in after[-50:])
    assert loaded.result.verdict.validity is Validity.PASS, loaded.result.verdict.explain()


def test_local_processes_talk_on_loopback_on_a_free_port(tmp_path: Path) -> None:
    """--processes: locust's master would bind every interface on port 5557 by default."""
    from harness.load.runner import command

    first = command(LoadConfig(processes=2), tmp_path)
    flag = lambda argv, name: argv[argv.index(name) + 1]  # noqa: E731
    assert flag(first, "--master-bind-host") == "127.0.0.1" and flag(first, "--master-host") == "127.0.0.1"
    assert flag(first, "--master-bind-port") == flag(first, "--master-port") != "5557"
