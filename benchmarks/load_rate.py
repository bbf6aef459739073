"""Request rate of the harness's load path against wrk, and the harness's memory under load.

One run, one 3-replica reference deployment (``durable`` by default), the same
concurrency and duration for both tools, interleaved when ``--rounds`` > 1 so the
machine's noise hits both alike:

- harness: locust (``locustfile.py``) with ``--processes`` = the machine's cores,
  recording every response, driven by ``harness.load.runner``; then the records are
  merged into a history and judged, as the load suite does. Its rate is the responses
  recorded over the span from the first request to the last response.
- wrk: one wrk per replica, the connections split between them (wrk talks to one
  host), each rotating over the same rendered requests (client keys) with a Lua
  script; its rate is the sum of the three wrk's requests/s.

The harness runs twice per round: as the load suite does, holding requests across
rate-limit window boundaries (``hold`` in ``harness.load.plan``), and without the hold,
so the hold's cost is measured side by side.

Prints the rates and their ratios (target: harness >= 0.9x wrk), the client CPU time
per request of each (sampled; on a machine whose cores the replicas share, every
cycle the load generator burns is one the app does not get), and the peak memory
of the harness during its load run: RSS of the harness process plus every locust
process (sampled every 0.5 s through the load, the merge and the check; RSS counts
pages the forked workers share once per process, so the sum is an upper bound; PSS
is printed too). Target: under 500 MB for a 2-minute run (``--duration 120``, the
default). The peak of the step that follows in a pytest session, saving that history
and rendering the run folder's reports, is printed on its own.

    .venv/bin/python benchmarks/load_rate.py [--duration 120] [--users 60] [--rounds 1] [--target SPEC]

wrk is Debian's package: ``apt-get install -y wrk``.
"""

from __future__ import annotations

import argparse
from dataclasses import replace
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import psutil  # noqa: E402

from harness.backends.docker import DockerDeployment, docker_client  # noqa: E402
from harness.checkers.rate_limit import check_rate_limit  # noqa: E402
from harness.history import History  # noqa: E402
from harness.images import build_images  # noqa: E402
from harness.load.endpoints import publish  # noqa: E402
from harness.load.plan import LoadPlan, build_plan  # noqa: E402
from harness.load.records import build_history, read_records  # noqa: E402
from harness.load.runner import LoadConfig, run_locust  # noqa: E402
from harness.report.folder import write_reports  # noqa: E402
from harness.run import Result, save  # noqa: E402
from harness.spec import load_spec  # noqa: E402

MB = 1024 * 1024


class Sampler(threading.Thread):
    """Peak RSS (and PSS) of this process plus all its descendants, and the CPU time the
    descendants used (each one's last sample), sampled every ``every`` seconds."""

    def __init__(self, every: float = 0.5) -> None:
        super().__init__(daemon=True)
        self.every = every
        self.stopping = threading.Event()
        self.peak_rss = 0
        self.peak_pss = 0
        self.peak_own = 0
        self.peak_processes = 0
        self.cpu: dict[int, float] = {}

    @property
    def children_cpu(self) -> float:
        return sum(self.cpu.values())

    def sample(self) -> None:
        me = psutil.Process()
        procs = [me, *me.children(recursive=True)]
        rss = pss = 0
        for proc in procs:
            try:
                info = proc.memory_full_info()
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                continue
            rss += info.rss
            pss += getattr(info, "pss", info.rss)
            if proc.pid == me.pid:
                self.peak_own = max(self.peak_own, info.rss)
            else:
                try:
                    times = proc.cpu_times()
                    self.cpu[proc.pid] = times.user + times.system
                except (psutil.NoSuchProcess, psutil.AccessDenied):
                    pass
        self.peak_rss, self.peak_pss = max(self.peak_rss, rss), max(self.peak_pss, pss)
        self.peak_processes = max(self.peak_processes, len(procs))

    def run(self) -> None:
        while not self.stopping.is_set():
            self.sample()
            self.stopping.wait(self.every)

    def stop(self) -> None:
        self.stopping.set()
        self.join()
        self.sample()


def lua_script(plan: LoadPlan) -> str:
    """wrk's request() rotating over the plan's rendered requests (one per client key)."""
    def lua(text: str | None) -> str:
        return "nil" if text is None else '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'

    entries = []
    for key in plan.keys:
        r = plan.requests[key]
        headers = "{" + ", ".join(f"[{lua(k)}] = {lua(v)}" for k, v in r.headers.items()) + "}"
        entries.append(f"wrk.format({lua(r.method)}, {lua(r.path)}, {headers}, {lua(r.body)})")
    return ("local requests = {" + ", ".join(entries) + "}\n"
            "local i = 0\n"
            "request = function()\n  i = i + 1\n  return requests[(i % #requests) + 1]\nend\n")


def run_wrk(wrk: str, endpoints: list[str], connections: int, seconds: int, script: Path) -> tuple[float, float]:
    """One wrk per replica, connections split between them, all at once: summed requests/s, CPU s per request."""
    sampler = Sampler()
    procs = []
    for i, base in enumerate(endpoints):
        share = connections // len(endpoints) + (1 if i < connections % len(endpoints) else 0)
        procs.append(subprocess.Popen([wrk, "-t1", f"-c{share}", f"-d{seconds}s", "-s", str(script), base + "/"],
                                      stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True))
    sampler.start()
    total = 0.0
    requests = 0
    for proc in procs:
        out, _ = proc.communicate(timeout=seconds + 60)
        match = re.search(r"Requests/sec:\s+([\d.]+)", out)
        count = re.search(r"(\d+) requests in", out)
        if proc.returncode != 0 or match is None or count is None:
            raise SystemExit(f"wrk failed:\n{out}")
        total += float(match.group(1))
        requests += int(count.group(1))
    sampler.stop()
    return total, sampler.children_cpu / max(requests, 1)


def run_harness(deployment: DockerDeployment, plan: LoadPlan, folder: Path, users: int, seconds: int,
                processes: int, sampler: Sampler, report_sampler: Sampler | None = None
                ) -> tuple[float, int, str, float]:
    """The load suite's path on a running deployment: locust with recording, merge, judge;
    with ``report_sampler``, then save the history and render the run folder's reports."""
    folder.mkdir(parents=True)
    plan_file = plan.write(folder / "plan.json")
    endpoints = folder / "endpoints.json"
    publish(deployment, endpoints)
    config = LoadConfig(users=users, duration=seconds, processes=processes, spawn_rate=users * 10)
    sampler.start()
    run = run_locust(folder, plan_file, endpoints, config)
    cpu = sampler.children_cpu
    merged = build_history(read_records(run.records), plan.accepted, plan.limited, plan.limit, plan.window)
    verdict = check_rate_limit(merged.history)
    rate, responses = merged.rate, merged.responses
    sampler.stop()
    locust = run.totals()["requests"]
    if locust != merged.responses:
        print(f"  note: locust counted {locust} requests, the records hold {merged.responses}")
    if report_sampler is not None:  # what the pytest session does next with this history
        report_sampler.start()
        out = folder / "run"
        result = Result("load", plan.target, verdict, merged.history, 3)
        history = save(result, out, "load")
        del merged, result
        (out / "verdicts.json").write_text(json.dumps([{"scenario": "load", "history": str(history),
                                                         **verdict.to_dict()}], default=str))
        write_reports(out)
        report_sampler.stop()
    return rate, responses, verdict.validity.value, cpu / max(responses, 1)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=120, help="seconds of load per tool and round (default 120)")
    parser.add_argument("--users", type=int, default=60, help="locust users = wrk connections (default 60)")
    parser.add_argument("--rounds", type=int, default=1, help="interleaved wrk/harness pairs (default 1)")
    parser.add_argument("--processes", type=int, default=os.cpu_count() or 1,
                        help="locust --processes (default: cores)")
    parser.add_argument("--target", type=Path, default=ROOT / "targets" / "refapp" / "durable.yaml")
    args = parser.parse_args()

    wrk = shutil.which("wrk")
    if wrk is None:
        print("wrk is not installed: `apt-get install -y wrk` (Debian's package), then run this again",
              file=sys.stderr)
        return 2
    spec = load_spec(args.target)
    client = docker_client()
    build_images(client, specs=[spec])
    plan = build_plan(spec, [f"bench-{i}" for i in range(4)])
    work = Path(tempfile.mkdtemp(prefix="load-rate-"))
    script = work / "rotate.lua"
    script.write_text(lua_script(plan))
    wrk_rates: list[float] = []
    harness_rates: list[float] = []
    steady_rates: list[float] = []
    samplers: list[Sampler] = []
    report = Sampler()
    print(f"{spec.name}, 3 replicas, {args.users} users/connections, {args.duration} s per run, "
          f"locust --processes {args.processes}, {os.cpu_count()} cores")
    with DockerDeployment(spec, replicas=3, history=History()) as deployment:
        endpoints = [deployment.endpoint(r) for r in deployment.replicas]
        for round_ in range(args.rounds):
            rate, cpu = run_wrk(wrk, endpoints, args.users, args.duration, script)
            wrk_rates.append(rate)
            print(f"  round {round_ + 1}: wrk      {rate:8.0f} requests/s ({cpu * 1e6:.0f} us of client CPU "
                  "per request)")
            samplers.append(Sampler())
            rate, responses, validity, cpu = run_harness(deployment, plan, work / f"harness-{round_}", args.users,
                                                         args.duration, args.processes, samplers[-1],
                                                         report if round_ == 0 else None)
            harness_rates.append(rate)
            print(f"  round {round_ + 1}: harness  {rate:8.0f} requests/s ({responses} responses recorded, "
                  f"rate limit {validity}; {cpu * 1e6:.0f} us of client CPU per request)")
            rate, responses, validity, cpu = run_harness(deployment, replace(plan, hold=0.0),
                                                         work / f"steady-{round_}", args.users, args.duration,
                                                         args.processes, Sampler())
            steady_rates.append(rate)
            print(f"  round {round_ + 1}: no hold  {rate:8.0f} requests/s ({responses} responses recorded, "
                  f"rate limit {validity}; {cpu * 1e6:.0f} us of client CPU per request)")
    wrk_rate, harness_rate = statistics.median(wrk_rates), statistics.median(harness_rates)
    print(f"wrk:     {wrk_rate:.0f} requests/s (median of {len(wrk_rates)})")
    print(f"harness: {harness_rate:.0f} requests/s (median of {len(harness_rates)}), every response recorded")
    steady_rate = statistics.median(steady_rates)
    print(f"no hold: {steady_rate:.0f} requests/s (median of {len(steady_rates)}), requests straddling window "
          "boundaries not held")
    print(f"ratio:   {harness_rate / wrk_rate:.2f}x wrk (target >= 0.9x); without the hold "
          f"{steady_rate / wrk_rate:.2f}x")
    sampler = max(samplers, key=lambda s: s.peak_rss)
    print(f"memory:  peak {sampler.peak_rss / MB:.0f} MB RSS (harness + {sampler.peak_processes - 1} locust "
          f"processes; PSS {sampler.peak_pss / MB:.0f} MB), harness process alone {sampler.peak_own / MB:.0f} MB, "
          f"during a {args.duration} s load run (target < 500 MB)")
    print(f"         then saving its history and writing report.html/junit.xml: peak {report.peak_own / MB:.0f} MB "
          "(harness process)")
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
