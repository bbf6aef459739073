"""``harness``: the command line, a thin front end over pytest, the images and cleanup.

``harness run`` runs the scenario suites with pytest (the plugin does the work),
shows each scenario as it runs, then prints the verdict table. Exit status: 0 every
verdict passed, 1 a violation or a failed scenario, 2 and above an error before any
verdict (pytest's codes), 130 a signal (SIGINT, SIGTERM, SIGHUP) stopped the run.
``harness check-spec`` reads a spec back in words before a long run; ``harness
report`` re-renders a stored run.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from rich.console import Console
from rich.markup import escape

from harness import bundled, interrupt, run_folder
from harness.soak.plan import DEFAULT_RATE
from harness.vocabulary import DEFAULT_SUITES as DEFAULT_SUITES_
from harness.vocabulary import BackendName, FaultName, Suite

if TYPE_CHECKING:
    from harness.backends import Backend
    from harness.soak.driver import SoakResult
    from harness.soak.plan import SoakPlan
    from harness.spec import TargetSpec

SCENARIOS = bundled.SCENARIOS
#: the reference app's durable spec in a source tree; None for an installed harness (--target is then required)
DEFAULT_TARGET = bundled.default_target()
SUITES = [str(s) for s in Suite]
#: what runs without --suite: the load suite is asked for by name (it keeps the machine's CPUs busy)
DEFAULT_SUITES = [str(s) for s in DEFAULT_SUITES_]

BACKENDS = [str(b) for b in BackendName]

console = Console(stderr=True)
NO_TARGET = ("no --target given, and no reference app to default to: it ships with the source tree, not with "
             "an installed harness. Name your app's spec: harness run --target my-app.yaml")

RUN_HELP = """\
Deploy the target once per scenario, write every state kind it has, apply the
scenario's fault while writing on, heal, read everything back on every replica,
and judge the history. Suites: restart (crash, graceful restart, redeploy, rolling
restart, pause), scale-out (1 -> 3 -> 1 replicas, logout honoured everywhere),
dependency (Postgres/Redis restart, outage, network cut); and, only when named,
load (locust across 3 replicas, --users users for --duration seconds, also through
a crash and a restart: the rate limit per window summed over replicas, with every
response recorded; locust's HTML and CSV reports land in the run folder) and soak
(one short soak: concurrent clients under a random fault schedule drawn from
--seed; `harness soak` runs long ones and shrinks failures).

The run folder (--out) gets one history per scenario (JSON lines), verdicts.json,
junit.xml and report.html, with secrets redacted. It must be a new or empty
folder, and is locked for the run: a second run given the same --out is refused.
A run is refused before anything starts when --target is not a file, a number is
below 1, or --replicas (times --parallel) is more than the machine can plausibly
start within the spec's app.ready_timeout (the figure and the reason are shown).

exit status: 0 every verdict passed (a scenario with nothing to check on this
target is skipped, shown as unknown); 1 a violation or a failed scenario; 2 an
error that kept the harness from judging (bad spec, a value the spec extracts
missing from a response, no Docker engine, image build failed, a deployment that
failed or never became ready, locust failed): each such scenario is an `error`
row of the verdict table, an <error> in junit.xml and a card in report.html,
with its cause in words (the traceback with -v or --debug); 130 a signal
(SIGINT, SIGTERM or SIGHUP) stopped the run: what it deployed was removed, and
the reports hold the scenarios that finished, marked interrupted."""

CHECK_HELP = """\
Validate each spec (unknown fields, missing fields, wrong types, duplicate YAML
keys, unknown placeholders in operations, app.env and app.process, build contexts
and adapter files that do not exist) and print what it will make the harness do:
the image and how it is built (a warning when it is neither present nor
buildable), the environment with its placeholders filled in as --backend fills
them, the dependencies, every request (method, path, query, headers, cookies,
body) behind every operation of every state kind, and the policy. Secrets are
masked by name and by value (passwords in URLs, token shapes, high-entropy
strings) with the pseudonyms reports use. Starts nothing.

exit status: 0 every spec is valid; 2 a spec is invalid (the error names the
file, the field and what was expected)."""

IMAGES_HELP = """\
Build every image the harness needs without a registry: a Debian base from
debootstrap, harness-postgres and harness-redis, and the app image of each target
spec that has an app.build section. Unchanged images are skipped (content hash)."""


class Progress:
    """A pytest plugin for ``harness run``: one line per scenario as it starts and as it ends."""

    def __init__(self) -> None:
        self.done = 0
        self.total = 0
        self.errors: list[str] = []  # harness errors (bad spec, backend): no verdict was reached

    def pytest_collection_finish(self, session: object) -> None:
        self.total = len(getattr(session, "items", []))
        if self.total:
            console.print(f"{self.total} scenario(s) selected")

    @pytest.hookimpl(optionalhook=True)  # present only with pytest-xdist
    def pytest_xdist_node_collection_finished(self, node: object, ids: list[str]) -> None:
        if not self.total:
            self.total = len(ids)
            console.print(f"{self.total} scenario(s) selected, run by parallel workers")

    def pytest_configure(self, config: pytest.Config) -> None:
        self.config = config

    @pytest.hookimpl(trylast=True)
    def pytest_keyboard_interrupt(self) -> None:
        """A signal is not a crash: one line says which stopped the run (``cmd_run``), not pytest's
        KeyboardInterrupt banner with a source location."""
        config = getattr(self, "config", None)
        reporter = config.pluginmanager.get_plugin("terminalreporter") if config is not None else None
        crash = getattr(getattr(reporter, "_keyboardinterrupt_memo", None), "reprcrash", None)
        if crash is not None:  # pytest prints only its message when it does not name KeyboardInterrupt
            crash.message = f"interrupted by {interrupt.received() or 'SIGINT'}"

    def pytest_runtest_logstart(self, nodeid: str, location: object) -> None:
        console.print(f"[dim]\\[{self.done + 1}/{self.total}] running {escape(nodeid.split('::', 1)[-1])}[/]")

    def pytest_runtest_logreport(self, report: object) -> None:
        when, outcome = getattr(report, "when", ""), getattr(report, "outcome", "")
        # The plugin gives an error's cause, redacted, as a field of the report: serialised by pytest-xdist too.
        cause = run_folder.error_cause(report)
        if cause is not None:
            self.errors.append(f"{getattr(report, 'nodeid', '?')}: {cause}")
        if when == "call" or (when == "setup" and outcome != "passed") or (when == "teardown" and cause):
            self.done += when != "teardown"
            shown = "error" if cause else outcome
            style = {"passed": "green", "failed": "red", "error": "bold red"}.get(shown, "yellow")
            name = getattr(report, "nodeid", "").split("::", 1)[-1]
            console.print(f"\\[{self.done}/{self.total}] [{style}]{shown}[/] {escape(name)} "
                          f"({getattr(report, 'duration', 0.0):.1f}s){': ' + escape(cause) if cause else ''}")


def _replicas_text(given: int | None, suites: list[str]) -> str:
    if given is not None:
        return str(given)
    return "3" if suites == ["load"] else "2 (load suite: 3)" if "load" in suites else "2"


def preflight_int(text: str) -> int:
    """``--replicas``, ``--users``, ``--duration``, ``--parallel``: at least 1, refused by argparse with the flag's name."""
    from harness.preflight import positive_int

    return positive_int(text)


def preflight_duration(text: str) -> float:
    """``--duration`` of a soak, ``--mean-gap``, ``--shrink-budget``: 30s, 10m, 1h (``preflight.duration``)."""
    from harness.preflight import duration

    return duration(text)


def cmd_run(args: argparse.Namespace) -> int:
    import pytest

    from harness.spec import load_spec
    from harness.spec_adapter import make_adapter

    from harness import preflight
    from harness.errors import HarnessError

    if args.target is None:
        raise HarnessError(NO_TARGET)
    preflight.check_target(args.target)
    spec = load_spec(args.target)  # a bad spec fails here, before anything starts
    make_adapter(spec)  # and so does a Python adapter that cannot load
    if args.attach is not None:
        from harness.attach_spec import load_attach

        load_attach(args.attach)  # and a bad attach file
    elif args.backend == BackendName.ATTACH and spec.attach is None:
        raise HarnessError(f"{args.target}: --backend attach needs an 'attach' section in the spec, or --attach FILE "
                           "(the replicas' URLs and a command per fault verb; docs/kubernetes.md)")
    if args.backend in BackendName.from_images() and spec.app.image is None:
        raise HarnessError(f"{args.target}: field 'app.image' is required by --backend {args.backend}, which runs "
                           "the app from its image; only --backend attach needs none")
    suites = args.suite or DEFAULT_SUITES
    preflight.check_replicas(args.replicas or (3 if "load" in suites else 2), args.parallel, spec.app.ready_timeout)
    # new or empty, and locked until this process ends
    out = (preflight.claim_out(args.out.resolve()) if args.out else
           preflight.claim_default_out((bundled.runs_home() / "runs" / time.strftime("%Y%m%d-%H%M%S")).resolve()))
    marker = " or ".join(Suite(s).marker for s in suites)
    # --replicas only when given: the load suite runs on 3 replicas unless told otherwise
    replicas = ["--replicas", str(args.replicas)] if args.replicas is not None else []
    load = [*(["--load-users", str(args.users)] if args.users is not None else []),
            *(["--load-duration", str(args.duration)] if args.duration is not None else [])]
    parallel = ["-n", str(args.parallel)] if args.parallel > 1 else []
    parallel += ["--reuse-dependencies", "no"] if args.fresh_dependencies else []
    parallel += ["--attach", str(args.attach.resolve())] if args.attach is not None else []
    pytest_args = [str(SCENARIOS), "-m", marker, "--target", str(args.target), *replicas, *load, *parallel,
                   "--seed", str(args.seed), "--backend", args.backend, "--harness-out", str(out),
                   "-p", "no:cacheprovider", "--rootdir", str(SCENARIOS.parent), "-q" if not args.verbose else "-v",
                   # installed: no pytest config of the folder around the environment (a project's addopts) applies
                   *(["-c", os.devnull] if bundled.SOURCE_TREE is None else []),
                   # an error shows its cause in words; the library traceback only with -v or --debug
                   *(["--tb=long"] if args.debug else []),
                   # harness is imported before pytest starts, so pytest cannot rewrite its asserts: expected.
                   "-W", "ignore::pytest.PytestAssertRewriteWarning",
                   *args.pytest_args]
    console.print(f"[bold]harness run[/]: suites {', '.join(suites)} on {spec.name} ({args.target}), "
                  f"{_replicas_text(args.replicas, suites)} replicas, {args.backend} backend; results in {out}")
    progress = Progress()
    try:
        code = int(pytest.main(pytest_args, plugins=[progress]))
    except KeyboardInterrupt:  # a signal after the plugin's last hook: the folder gets its mark below
        code = 2
    with interrupt.shielded():  # a signal from here on is noted: the run ends as interrupted, reports whole
        return _finish_run(out, spec.name, code, progress)


def _mark_interrupted(out: Path, target: str) -> None:
    """A signal that came after the plugin wrote the reports: mark them and render them again."""
    signal_name = interrupt.received()
    verdicts = out / run_folder.VERDICTS
    if signal_name and verdicts.exists():
        from harness.report.folder import write_reports
        from harness.report.interrupted import add_mark

        if add_mark(verdicts, signal_name, target=target):
            write_reports(out)


def _finish_run(out: Path, target: str, code: int, progress: Progress) -> int:
    from harness.report.errors import is_error, reason
    from harness.reaper import release
    from harness.report.terminal import print_verdicts

    release()  # this process's reaper goes now, not in an exit hook a signal could cut short
    _mark_interrupted(out, target)
    results = run_folder.read_verdicts_if_any(out)
    print_verdicts(results, Console(width=None if sys.stdout.isatty() else 160))
    if (out / run_folder.HTML).exists():
        console.print(f"HTML report: {out / run_folder.HTML}\nJUnit XML:   {out / run_folder.JUNIT}")
    signal_name = interrupt.received()
    if signal_name:
        _mark_interrupted(out, target)  # (a no-op unless the signal came while the table was printed)
        console.print(f"[yellow]interrupted by {signal_name}: deployments were removed; the reports hold the "
                      "scenarios that finished, marked interrupted[/]")
        return interrupt.EXIT_INTERRUPTED
    idle = [r for r in results if r.get("nothing_to_check") and r.get("validity") == "unknown"]
    if idle:
        console.print(f"[yellow]{len(idle)} scenario(s) had nothing to check on {escape(target)} (no operation of "
                      "their checkers' kinds): unknown, skipped, not passed[/]")
    errors = list(dict.fromkeys([*progress.errors, *(f"{r.get('nodeid', '?')}: {reason(r)}"
                                                     for r in results if is_error(r))]))
    if errors:
        for error in errors:
            console.print(f"[bold red]error:[/] {escape(error)}")
        return 2  # the harness could not judge: not the same as a violation
    return code


def cmd_check_spec(args: argparse.Namespace) -> int:
    from harness.report.spec_summary import spec_tree
    from harness.spec import load_spec

    from harness.report.spec_summary import image_warnings

    out = Console(width=None if sys.stdout.isatty() else 160)
    specs = [load_spec(path) for path in args.specs]
    for spec in specs:
        out.print(spec_tree(spec, backend=args.backend, images=image_warnings(spec)))
    out.print(f"[green]{len(args.specs)} spec(s) valid[/]")
    return 0


def cmd_images(args: argparse.Namespace) -> int:
    from harness.backends import docker_client
    from harness.images import build_images

    from harness.spec import load_spec

    # an installed harness has no reference app: its own images only, unless --target names specs
    specs = [load_spec(t) for t in (args.target or ([DEFAULT_TARGET] if DEFAULT_TARGET else []))]
    with console.status("building images") as status:
        built = build_images(docker_client(), progress=lambda m: (status.update(m), console.log(m)),
                             force=args.force, specs=specs)
    console.print(f"built: {', '.join(built)}" if built else "all images up to date")
    return 0


def cmd_sweep(args: argparse.Namespace) -> int:
    from harness.backends import docker_client, sweep_local
    from harness.cleanup import sweep
    from harness.errors import EngineUnavailable

    swept = sweep_local()
    try:
        swept += sweep(docker_client())
    except EngineUnavailable:
        console.print("[dim]no Docker engine: only local runs were swept[/]")
    console.print(f"removed {len(swept)} leftover run(s): {', '.join(swept)}" if swept else "nothing left behind")
    return 0


REPORT_HELP = """\
Re-render the reports of a stored run folder (the --out of `harness run`, or the
--harness-out of a pytest run): redact secrets in place in every history
(<scenario>.history.jsonl), verdict (<scenario>.verdict.json) and verdicts.json,
then write junit.xml and report.html into the folder, print the verdict table and
the paths of both files. Nothing is run and nothing is judged again. The folder
is reported from its own files: a copied or moved folder is rewritten where it is,
and nothing outside FOLDER is read or rewritten.

Secrets are every value under a key named like a secret (token, password, cookie,
authorization, session, ...) in the histories, every secret found by its shape
(passwords in URLs, token formats, high-entropy strings), plus, with --target, the
spec's postgres password and env values named like a secret (DB_PASSWORD, API_KEY,
SENTRY_DSN, ...). Redacting twice changes nothing, so this is safe on any folder.

exit status: 0 the reports were written; 2 the folder is not a run folder."""


def cmd_report(args: argparse.Namespace) -> int:
    from harness.report.folder import write_reports
    from harness.spec import spec_secrets
    from harness.report.terminal import print_verdicts
    from harness.spec import load_spec

    extra = spec_secrets(load_spec(args.target)) if args.target else []
    paths = write_reports(args.folder.resolve(), extra_secrets=extra)
    results = run_folder.read_verdicts(args.folder.resolve())
    print_verdicts(results, Console(width=None if sys.stdout.isatty() else 160))
    print(f"HTML report: {paths['html']}\nJUnit XML:   {paths['junit']}")
    return 0


REPLAY_HELP = """\
Run the minimal soak a shrink wrote into repro.json exactly again (its seed, clients,
duration, replicas and fault schedule; nothing is drawn), on a fresh deployment each
time, --times N times, and say for each run whether the violation it names (checker
and kind) reproduced. The target is the spec path repro.json names, as given when
the soak ran (relative to this folder, else to the folder holding repro.json).
Each run's history, verdict and soak.json go into --out DIR/replay-<k>.

exit status: 0 the violation did not reproduce in any run (and no run failed
otherwise); 1 it reproduced at least once ("reproduced k of N"), or a run found
another violation; 2 repro.json or its target spec is invalid, or a deployment
failed (the harness could not judge); 130 a signal stopped the replay."""


def cmd_replay(args: argparse.Namespace) -> int:
    from harness import preflight
    from harness.backends import choose_backend
    from harness.soak.driver import run_soak
    from harness.soak.repro import read_repro
    from harness.redaction import process_redactor
    from harness.soak.shrink import describe_plan, matching
    from harness.spec import load_spec, spec_secrets

    repro = read_repro(args.repro)
    target = repro.target_path(args.repro)
    preflight.check_target(target, flag=f"{args.repro}: field 'target'")
    spec = load_spec(target)
    backend = choose_backend(args.backend or repro.backend, spec)
    out = (preflight.claim_out(args.out.resolve()) if args.out else preflight.claim_default_out(
        (bundled.runs_home() / "runs" / time.strftime("replay-%Y%m%d-%H%M%S")).resolve()))
    console.print(f"[bold]harness replay[/]: {escape(spec.name)} ({escape(str(target))}), {backend.reason}; "
                  f"looking for {escape(repro.checker)}/{escape(repro.kind)}; results in {out}")
    for line in describe_plan(repro.plan):
        console.print(escape(line))
    reproduced = other = 0
    for k in range(1, args.times + 1):
        folder = out / f"replay-{k}"
        folder.mkdir()
        result = run_soak(spec, repro.plan, backend.deploy, out=folder)
        found = matching(result, repro.signature)
        if found is not None:
            reproduced += 1
            # redacted like every report: a message may quote a token the app returned
            redactor = process_redactor(spec_secrets(spec)).collect_history(result.history)
            shown = f"[red]reproduced[/]: {escape(redactor.text(found.message))}"
        elif result.failed:
            other += 1
            kinds = ", ".join(sorted(f"{c}/{k_}" for c, k_ in result.signature()))
            shown = f"[red]failed with another violation[/] ({escape(kinds)})"
        else:
            shown = f"[green]not reproduced[/] ({result.verdict.validity})"
        console.print(f"replay {k}/{args.times}: {shown} ({result.seconds:.0f}s)")
    print(f"reproduced {reproduced} of {args.times}" + (f"; {other} run(s) failed with another violation"
                                                        if other else ""))
    return 1 if reproduced or other else 0


SOAK_HELP = """\
Deploy the target once with --replicas replicas and run --clients concurrent
clients for --duration, each doing random operations of every state kind the
target has, on random replicas, over shared keys (so clients contend), while a
random fault schedule drawn from --seed runs (crash, graceful restart, redeploy,
rolling restart, scale out/in, scale to zero and back, pause, dependency restart,
outage and network cut: each healed before the next, on average one every
--mean-gap seconds). At the end every fault is healed and all state is read back
on every replica, and the whole history is judged by every checker. The same seed,
target and options draw the same schedule: the seed is printed, with the command
that runs the same soak again. A live line shows elapsed time, operations and
their rate, faults and violations so far; the history streams to disk as it grows.

With --fail-fast, the part of the history that can no longer change is judged as
the soak goes (every ~10 s and after each heal) and the soak stops at the first
violation found. A failing soak is shrunk (unless --no-shrink) to the smallest
plan that still fails, within --shrink-budget, and written to repro.json with the
`harness replay` command that reruns it.

The run folder (--out) gets history.jsonl, verdicts.json, soak.json (plan, steps
done, verdict, figures), repro.json when shrunk, and junit.xml and report.html,
with secrets redacted.

exit status: 0 the verdict passed; 1 a violation, or a verdict that is not a pass
(unknown: its notes say what could not be judged); 2 bad input (a --duration or
--faults value, a fault this backend or target cannot do, a bad spec) or an error
that kept the harness from judging; 130 a signal stopped the soak (the deployment
was removed; the history so far stays in the run folder)."""

#: steps of the drawn schedule printed before the soak starts (all of them are in soak.json)
SHOWN_STEPS = 8
#: the largest history whose reports a soak renders itself: rendering 160,000 operations peaked at 680 MB
REPORT_MOST_OPS = 100_000


def fault_names(text: str) -> list[FaultName]:
    """``--faults``: a comma list of fault names (argparse names the flag and lists the known ones)."""
    names = [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in {str(f) for f in FaultName}]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"unknown fault {', '.join(repr(n) for n in unknown) or 'list (empty)'}; expected a comma list of: "
            f"{', '.join(str(f) for f in FaultName)}")
    return [FaultName(n) for n in dict.fromkeys(names)]


def non_negative_float(text: str) -> float:
    """``--rate``: ops/s per client, 0 for no bound."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of operations per second, got {text!r}") from None
    if not 0 <= value < float("inf"):
        raise argparse.ArgumentTypeError(f"expected 0 (no bound) or more operations per second, got {text!r}")
    return value


def _soak_command(args: argparse.Namespace, seed: int, faults: list[FaultName], mean_gap: float, rate: float) -> str:
    """The command that runs the same soak again (same seed, same options: the same schedule)."""
    parts = ["harness soak", f"--target {args.target}", f"--duration {args.duration:g}s", f"--seed {seed}",
             f"--clients {args.clients}", f"--replicas {args.replicas}", f"--faults {','.join(map(str, faults))}",
             f"--mean-gap {mean_gap:g}", f"--rate {rate:g}", f"--backend {args.backend}"]
    return " ".join(parts + (["--fail-fast"] if args.fail_fast else []))


def cmd_soak(args: argparse.Namespace) -> int:
    import random

    from harness import preflight
    from harness.backends import choose_backend
    from harness.errors import HarnessError
    from harness.soak.driver import run_soak
    from harness.soak.nemesis import dependencies_for, faults_for, unsupported
    from harness.soak.plan import default_mean_gap, draw_plan
    from harness.soak.progress import LiveLine
    from harness.spec import load_spec
    from harness.spec_adapter import make_adapter

    if args.target is None:
        raise HarnessError(NO_TARGET.replace("harness run", "harness soak"))
    preflight.check_target(args.target)
    spec = load_spec(args.target)
    make_adapter(spec)
    backend = choose_backend(args.backend, spec)
    if args.faults is not None:
        why = unsupported(backend.kind, spec, args.faults, args.replicas)
        if why is not None:
            raise HarnessError(f"--faults: {why} ({backend.reason})")
    faults = args.faults if args.faults is not None else faults_for(backend.kind, spec, args.replicas)
    # a scale out runs one replica more than --replicas for a while
    preflight.check_replicas(args.replicas + (FaultName.SCALE in faults), 1, spec.app.ready_timeout)
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(2**31)
    mean_gap = args.mean_gap if args.mean_gap is not None else default_mean_gap(args.duration)
    rate = DEFAULT_RATE if args.rate is None else args.rate
    plan = draw_plan(seed, args.duration, args.clients, args.replicas, faults, mean_gap,
                     dependencies_for(backend.kind, spec), rate or None)
    out = (preflight.claim_out(args.out.resolve()) if args.out else preflight.claim_default_out(
        (bundled.runs_home() / "runs" / time.strftime("soak-%Y%m%d-%H%M%S")).resolve()))
    console.print(f"[bold]harness soak[/]: {escape(spec.name)} ({escape(str(args.target))}), {backend.reason}; "
                  f"results in {out}")
    console.print(f"seed {seed}: {len(plan.schedule)} fault(s) drawn from {', '.join(map(str, faults)) or 'none'}, "
                  f"one every {mean_gap:g}s on average; {args.clients} clients, "
                  f"{f'at most {rate:g} ops/s each' if rate else 'unpaced'}, {args.replicas} replicas")
    for step in plan.schedule[:SHOWN_STEPS]:
        console.print(f"  {escape(step.describe())}")
    if len(plan.schedule) > SHOWN_STEPS:
        console.print(f"  ... and {len(plan.schedule) - SHOWN_STEPS} more (all in {out / run_folder.SOAK})")
    console.print(f"[dim]same soak again: {escape(_soak_command(args, seed, faults, mean_gap, rate))}[/]")
    try:
        with LiveLine(console) as live:
            result = run_soak(spec, plan, backend.deploy, out=out, progress=live, fail_fast=args.fail_fast)
    except KeyboardInterrupt:
        with interrupt.shielded():
            _soak_interrupted(out, spec.name)
        raise
    code = _soak_verdict(spec, result, out)
    try:
        if result.failed and not args.no_shrink:  # interruptible: a shrink may run many soaks
            _shrink(args, spec, backend, plan, result, out)
    finally:
        with interrupt.shielded():  # the soak's reports are written even when a signal stops the shrink
            _soak_reports(spec, out, len(result.history))
    return code


def _soak_interrupted(out: Path, target: str) -> None:
    """A signal stopped the soak (its deployment is gone): mark the folder, render what it holds."""
    from harness.report.folder import write_reports
    from harness.report.interrupted import add_mark, interrupted_record

    signal_name = interrupt.received() or "SIGINT"
    if (out / run_folder.VERDICTS).exists():
        add_mark(out / run_folder.VERDICTS, signal_name, target=target)
    else:
        run_folder.write_verdicts(out, [interrupted_record(signal_name, 0, 1, target=target)])  # type: ignore[list-item]
    write_reports(out)
    history = run_folder.soak_history_path(out)
    if history.exists():
        console.print(f"the history so far: {history}")


def _soak_verdict(spec: "TargetSpec", result: "SoakResult", out: Path) -> int:
    """Print the verdict, its violations (redacted) and the figures; the exit status they make."""
    from harness.checkers.base import Validity
    from harness.redaction import Redactor
    from harness.report.terminal import print_verdicts
    from harness.spec import spec_secrets

    verdict = result.verdict
    figures = result.to_dict()["figures"]  # as soak.json has them: ops/s over the clients' time
    style = {"pass": "bold green", "fail": "bold red"}.get(str(verdict.validity), "bold yellow")
    stopped = " (stopped at the first violation: --fail-fast)" if result.stopped_early else ""
    console.print(f"verdict: [{style}]{verdict.validity}[/]{stopped}")
    if verdict.validity is not Validity.PASS:
        redactor = Redactor(spec_secrets(spec)).collect_history(result.history)
        console.print(escape(redactor.text(verdict.explain(most=10))))
    console.print(f"{figures['operations']:,} operations ({figures['ops_per_second']:,.0f} ops/s), "
                  f"{figures['faults']} fault(s), peak RSS {figures['peak_rss_mb']:.0f} MB; "
                  f"{figures['seconds']:.0f}s in all")
    records = run_folder.read_verdicts_if_any(out)
    if records:
        print_verdicts(records, Console(width=None if sys.stdout.isatty() else 160))
    return 0 if verdict.validity is Validity.PASS else 1


def _soak_reports(spec: "TargetSpec", out: Path, events: int) -> None:
    """junit.xml and report.html, from the run folder the soak wrote (a very long history: said, not rendered)."""
    from harness.report.folder import write_reports
    from harness.spec import spec_secrets

    if not (out / run_folder.VERDICTS).exists():
        return
    if events > REPORT_MOST_OPS:
        console.print(f"[yellow]report.html not rendered: {events:,} events, more than {REPORT_MOST_OPS:,} (its "
                      f"memory would outgrow the soak's); `harness report {out}` renders it[/]")
        return
    paths = write_reports(out, extra_secrets=spec_secrets(spec))
    console.print(f"HTML report: {paths['html']}\nJUnit XML:   {paths['junit']}")


def _shrink(args: argparse.Namespace, spec: "TargetSpec", backend: "Backend", plan: "SoakPlan",
            result: "SoakResult", out: Path) -> None:
    """Shrink a failing soak to the smallest plan that still fails, write its repro.json, and put the
    original and the minimal schedule into the soak's record (report.html shows them)."""
    try:
        from harness.soak.repro import REPRO, replay_command, repro_of, write_repro
        from harness.soak.shrink import describe_shrink, shrink
    except ImportError as exc:  # shrinking ships with the soak; a partial install says so instead of failing
        console.print(f"[yellow]not shrunk: {escape(str(exc))}[/]")
        return
    from harness.redaction import Redactor
    from harness.soak.driver import run_soak
    from harness.spec import spec_secrets

    redactor = Redactor(spec_secrets(spec)).collect_history(result.history)
    console.print(f"shrinking (budget {args.shrink_budget:g}s): each candidate runs on a fresh deployment")

    def run(candidate: "SoakPlan") -> "SoakResult":
        return run_soak(spec, candidate, backend.deploy, out=None)

    shrunk = shrink(plan, run, result.signature(), budget=args.shrink_budget,
                    log=lambda line: console.print(escape(redactor.text(line))))
    told = describe_shrink(shrunk)
    for line in told:
        console.print(escape(line))
    violation = shrunk.violation or result.verdict.violations[0]
    path = write_repro(out / REPRO, repro_of(args.target, str(backend.name), shrunk.minimal, plan, violation))
    console.print(f"reproducer: {path}\n[bold]{escape(replay_command(path))}[/]")
    records = run_folder.read_verdicts_if_any(out)
    if records:
        records[0].setdefault("notes", []).extend(
            [*(line.strip() for line in told), f"reproduce: {replay_command(path)}"])
        run_folder.write_verdicts(out, records)


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="harness", description="Prove that a web app's acknowledged state survives restarts, redeploys, "
                                    "dependency faults and scale-out, and that its limits hold across replicas. "
                                    "`harness COMMAND --help` explains each command.")
    sub = top.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run scenario suites against a target and print the verdicts",
                         description=RUN_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    run.add_argument("--target", type=Path, default=DEFAULT_TARGET,
                     help="target spec (default: %(default)s)" if DEFAULT_TARGET else
                     "target spec (required: an installed harness has no reference app to default to)")
    run.add_argument("--backend", choices=BACKENDS, default="auto",
                     help="where deployments run: docker, local processes, or auto: docker when an engine "
                          "answers, else local; attach: an environment that already runs, given by the spec's "
                          "attach section or --attach (default: %(default)s)")
    run.add_argument("--attach", type=Path, metavar="FILE",
                     help="--backend attach: the replicas' URLs and a command per fault verb, in a file of their "
                          "own (replaces the spec's attach section; docs/kubernetes.md)")
    run.add_argument("--suite", action="append", choices=SUITES, help="suite to run (repeatable; default: all but load and soak)")
    run.add_argument("--replicas", type=preflight_int, default=None,
                     help="replicas per scenario (default: 2; 3 for the load suite)")
    run.add_argument("--seed", type=int, default=0, help="workload seed (default: %(default)s)")
    run.add_argument("--users", type=preflight_int, help="load suite: concurrent locust users (default: 30)")
    run.add_argument("--duration", type=preflight_int, metavar="S", help="load suite: seconds of load per scenario (default: 20)")
    run.add_argument("--parallel", type=preflight_int, default=1, metavar="N",
                     help="scenarios run at once, each on its own deployment (pytest-xdist workers; default 1)")
    run.add_argument("--fresh-dependencies", action="store_true",
                     help="start postgres and redis anew for every scenario (default: reused, their data "
                          "wiped between scenarios, replaced after a fault)")
    run.add_argument("--out", type=Path, help="folder for histories and verdicts (default: runs/<time>, "
                     "or runs/<time>-2 when another run started in the same second)")
    run.add_argument("-v", "--verbose", action="store_true",
                     help="one line per scenario, and the library traceback of an error")
    run.add_argument("--debug", action="store_true",
                     help="show the library traceback of an error after its cause (default: the cause alone)")
    run.add_argument("pytest_args", nargs="*", help="extra pytest arguments, after --")
    run.set_defaults(func=cmd_run)

    check = sub.add_parser("check-spec", help="validate target specs and print what each will make the harness do",
                           description=CHECK_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    check.add_argument("specs", type=Path, nargs="+", metavar="SPEC", help="target spec file(s)")
    # attach fills no placeholder: the environment it attaches to was configured by someone else
    check.add_argument("--backend", choices=[str(b) for b in BackendName.concrete() if b is not BackendName.ATTACH],
                       default=BackendName.DOCKER,
                       help="show the environment as this backend fills in its placeholders (default: %(default)s)")
    check.set_defaults(func=cmd_check_spec)

    images = sub.add_parser("images", help="build the offline images (Debian base, postgres, redis, target apps)",
                            description=IMAGES_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    images.add_argument("--force", action="store_true", help="rebuild even when up to date")
    images.add_argument("--target", type=Path, action="append", default=[],
                        help="also build the app image of this spec (repeatable; default: the reference app in a "
                             "source tree, none for an installed harness)")
    images.set_defaults(func=cmd_images)

    sweep = sub.add_parser("sweep", help="remove services, containers, networks and volumes left by dead harness runs",
                           description="Remove every Swarm service and config, container, network and volume labelled "
                                       "by a harness process that no longer runs on this host, and the processes "
                                       "and folders of local-backend runs whose harness died. Objects without the "
                                       "harness's labels, and those of live runs, are never touched.")
    sweep.set_defaults(func=cmd_sweep)

    report = sub.add_parser("report", help="re-render a stored run: redact it, write report.html and junit.xml",
                            description=REPORT_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    report.add_argument("folder", type=Path, metavar="FOLDER", help="run folder holding verdicts.json")
    report.add_argument("--target", type=Path, help="target spec of the run, to redact its passwords and secret env too")
    report.set_defaults(func=cmd_report)

    replay = sub.add_parser("replay", help="run a shrunk soak's repro.json again and say whether it still fails",
                            description=REPLAY_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    replay.add_argument("repro", type=Path, metavar="REPRO", help="the repro.json a soak wrote into its run folder")
    replay.add_argument("--times", type=preflight_int, default=1, metavar="N",
                        help="runs, each on a fresh deployment (default: %(default)s)")
    replay.add_argument("--backend", choices=BACKENDS, default=None,
                        help="where deployments run (default: the backend repro.json names)")
    replay.add_argument("--out", type=Path, metavar="DIR", help="folder for the runs' histories and verdicts, "
                        "a new or empty one (default: runs/replay-<time>)")
    replay.set_defaults(func=cmd_replay)

    soak = sub.add_parser("soak", help="run concurrent clients under a random, seeded fault schedule; shrink a "
                          "failure to a reproducer", description=SOAK_HELP,
                          formatter_class=argparse.RawDescriptionHelpFormatter)
    soak.add_argument("--target", type=Path, default=DEFAULT_TARGET,
                      help="target spec (default: %(default)s)" if DEFAULT_TARGET else
                      "target spec (required: an installed harness has no reference app to default to)")
    soak.add_argument("--duration", type=preflight_duration, required=True, metavar="TIME",
                      help="how long the clients run: 30s, 10m, 1h, 1h30m (a bare number is seconds)")
    soak.add_argument("--seed", type=int, default=None,
                      help="seed of the fault schedule and the workload (default: a random one, printed)")
    soak.add_argument("--clients", type=preflight_int, default=4, metavar="N",
                      help="concurrent client workers (default: %(default)s)")
    soak.add_argument("--replicas", type=preflight_int, default=3, metavar="N",
                      help="app replicas (default: %(default)s)")
    soak.add_argument("--faults", type=fault_names, default=None, metavar="LIST",
                      help="comma list of faults to draw from (default: every fault this backend and target support)")
    soak.add_argument("--mean-gap", "--intensity", dest="mean_gap", type=preflight_duration, default=None,
                      metavar="TIME", help="mean time between fault starts (default: a quarter of --duration, "
                                           "between 5s and 20s)")
    soak.add_argument("--rate", type=non_negative_float, default=None, metavar="OPS",
                      help=f"operations per second per client at most; 0: as fast as the app answers (default: "
                           f"{DEFAULT_RATE:g}, which keeps a 30-minute soak's history in bounded memory)")
    soak.add_argument("--backend", choices=BACKENDS, default="auto",
                      help="where the deployment runs: docker, local processes, or auto: docker when an engine "
                           "answers, else local (default: %(default)s)")
    soak.add_argument("--out", type=Path, help="folder for the history, verdict and reports, a new or empty one "
                      "(default: runs/soak-<time>)")
    soak.add_argument("--fail-fast", action="store_true",
                      help="judge the history as it grows and stop at the first violation")
    soak.add_argument("--no-shrink", action="store_true", help="do not shrink a failing soak")
    soak.add_argument("--shrink-budget", type=preflight_duration, default=600.0, metavar="TIME",
                      help="time the shrinking may take (default: 10m)")
    soak.set_defaults(func=cmd_soak)
    return top


def main(argv: list[str] | None = None) -> int:
    from harness.errors import HarnessError

    interrupt.install()  # SIGINT, SIGTERM, SIGHUP: the same teardown, the same exit status
    args = parser().parse_args(argv)
    try:
        return args.func(args)
    except HarnessError as exc:
        from harness.redaction import scrub

        console.print(f"[bold red]error:[/] {escape(scrub(str(exc)))}")
        return 2
    except KeyboardInterrupt:
        console.print(f"[yellow]interrupted by {interrupt.received() or 'SIGINT'}; deployments were removed[/]")
        return interrupt.EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
