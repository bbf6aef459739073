"""``harness``: the command line, a thin front end over pytest, the images and cleanup.

``harness run`` runs the scenario suites with pytest (the plugin does the work),
shows each scenario as it runs, then prints the verdict table. Exit status: 0 every
verdict passed, 1 a violation or a failed scenario, 2 and above an error before any
verdict (pytest's codes). ``harness check-spec`` reads a spec back in words before
a long run; ``harness report`` re-renders a stored run.
"""

from __future__ import annotations

import argparse
import json
import re
import signal
import sys
import time
from pathlib import Path

import pytest
from rich.console import Console
from rich.markup import escape

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = ROOT / "scenarios"
DEFAULT_TARGET = ROOT / "targets" / "refapp" / "durable.yaml"
SUITES = {"restart": "restart", "scale-out": "scale_out", "dependency": "dependency", "load": "load"}
#: what runs without --suite: the load suite is asked for by name (it keeps the machine's CPUs busy)
DEFAULT_SUITES = ["restart", "scale-out", "dependency"]

BACKENDS = ["auto", "docker", "local"]
#: how a harness error (no verdict reached) shows in a failed test's report
HARNESS_ERROR = re.compile(r"harness\.errors\.(\w+): ([^\n]+)")

console = Console(stderr=True)

RUN_HELP = """\
Deploy the target once per scenario, write every state kind it has, apply the
scenario's fault while writing on, heal, read everything back on every replica,
and judge the history. Suites: restart (crash, graceful restart, redeploy, rolling
restart, pause), scale-out (1 -> 3 -> 1 replicas, logout honoured everywhere),
dependency (Postgres/Redis restart, outage, network cut); and, only when named,
load (locust across 3 replicas, --users users for --duration seconds, also through
a crash and a restart: the rate limit per window summed over replicas, with every
response recorded; locust's HTML and CSV reports land in the run folder).

The run folder (--out) gets one history per scenario (JSON lines), verdicts.json,
junit.xml and report.html, with secrets redacted.

exit status: 0 every verdict passed; 1 a violation or a failed scenario; 2 an
error that kept the harness from judging (bad spec, a value the spec extracts
missing from a response, no Docker engine, image build failed)."""

CHECK_HELP = """\
Validate each spec (unknown fields, missing fields, wrong types, placeholders an
operation does not provide, build contexts and adapter files that do not exist)
and print what it will make the harness do: the image and how it is built, the
environment (secrets masked), the dependencies, the request behind every
operation of every state kind, and the policy. Starts nothing.

exit status: 0 every spec is valid; 2 a spec is invalid (the error names the
file, the field and what was expected)."""

IMAGES_HELP = """\
Build every image the harness needs without a registry: a Debian base from
debootstrap, harness-postgres and harness-redis, and the app image of each target
spec that has an app.build section. Unchanged images are skipped (content hash)."""


def _terminate_as_interrupt(signum: int, frame: object) -> None:
    """SIGTERM unwinds like Ctrl-C, so every deployment's teardown runs."""
    raise KeyboardInterrupt


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

    def pytest_runtest_logstart(self, nodeid: str, location: object) -> None:
        console.print(f"[dim]\\[{self.done + 1}/{self.total}] running {escape(nodeid.split('::', 1)[-1])}[/]")

    def pytest_runtest_logreport(self, report: object) -> None:
        when, outcome = getattr(report, "when", ""), getattr(report, "outcome", "")
        if outcome == "failed":
            # Found in the report's text, so it works under pytest-xdist too (the exception stays in the worker).
            match = HARNESS_ERROR.search(str(getattr(report, "longrepr", "")))
            if match:
                self.errors.append(f"{getattr(report, 'nodeid', '?')}: {match.group(1)}: {match.group(2)}")
        if when == "call" or (when == "setup" and outcome != "passed"):
            self.done += 1
            style = {"passed": "green", "failed": "red"}.get(outcome, "yellow")
            name = getattr(report, "nodeid", "").split("::", 1)[-1]
            console.print(f"\\[{self.done}/{self.total}] [{style}]{outcome}[/] {escape(name)} "
                          f"({getattr(report, 'duration', 0.0):.1f}s)")


def _replicas_text(given: int | None, suites: list[str]) -> str:
    if given is not None:
        return str(given)
    return "3" if suites == ["load"] else "2 (load suite: 3)" if "load" in suites else "2"


def cmd_run(args: argparse.Namespace) -> int:
    import pytest

    from harness.report.terminal import print_verdicts
    from harness.spec import load_spec

    spec = load_spec(args.target)  # a bad spec fails here, before anything starts
    out = Path(args.out or ROOT / "runs" / time.strftime("%Y%m%d-%H%M%S")).resolve()
    suites = args.suite or DEFAULT_SUITES
    marker = " or ".join(SUITES[s] for s in suites)
    # --replicas only when given: the load suite runs on 3 replicas unless told otherwise
    replicas = ["--replicas", str(args.replicas)] if args.replicas is not None else []
    load = [*(["--load-users", str(args.users)] if args.users is not None else []),
            *(["--load-duration", str(args.duration)] if args.duration is not None else [])]
    parallel = ["-n", str(args.parallel)] if args.parallel > 1 else []
    parallel += ["--reuse-dependencies", "no"] if args.fresh_dependencies else []
    pytest_args = [str(SCENARIOS), "-m", marker, "--target", str(args.target), *replicas, *load, *parallel,
                   "--seed", str(args.seed), "--backend", args.backend, "--harness-out", str(out),
                   "-p", "no:cacheprovider", "--rootdir", str(ROOT), "-q" if not args.verbose else "-v",
                   # harness is imported before pytest starts, so pytest cannot rewrite its asserts: expected.
                   "-W", "ignore::pytest.PytestAssertRewriteWarning",
                   *args.pytest_args]
    console.print(f"[bold]harness run[/]: suites {', '.join(suites)} on {spec.name} ({args.target}), "
                  f"{_replicas_text(args.replicas, suites)} replicas, {args.backend} backend; results in {out}")
    progress = Progress()
    code = int(pytest.main(pytest_args, plugins=[progress]))
    verdicts = out / "verdicts.json"
    results = json.loads(verdicts.read_text()) if verdicts.exists() else []
    print_verdicts(results, Console(width=None if sys.stdout.isatty() else 160))
    if (out / "report.html").exists():
        console.print(f"HTML report: {out / 'report.html'}\nJUnit XML:   {out / 'junit.xml'}")
    if progress.errors:
        for error in progress.errors:
            console.print(f"[bold red]error:[/] {error}")
        return 2  # the harness could not judge: not the same as a violation
    return code


def cmd_check_spec(args: argparse.Namespace) -> int:
    from harness.report.spec_summary import spec_tree
    from harness.spec import load_spec

    out = Console(width=None if sys.stdout.isatty() else 160)
    for path in args.specs:
        out.print(spec_tree(load_spec(path)))
    out.print(f"[green]{len(args.specs)} spec(s) valid[/]")
    return 0


def cmd_images(args: argparse.Namespace) -> int:
    from harness.backends.docker import docker_client
    from harness.images import build_images

    from harness.spec import load_spec

    specs = [load_spec(t) for t in (args.target or [DEFAULT_TARGET])]
    with console.status("building images") as status:
        built = build_images(docker_client(), progress=lambda m: (status.update(m), console.log(m)),
                             force=args.force, specs=specs)
    console.print(f"built: {', '.join(built)}" if built else "all images up to date")
    return 0


def cmd_sweep(args: argparse.Namespace) -> int:
    from harness.backends import local
    from harness.backends.docker import docker_client
    from harness.cleanup import sweep
    from harness.errors import EngineUnavailable

    swept = local.sweep()
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
the paths of both files. Nothing is run and nothing is judged again.

Secrets are every value under a key named like a secret (token, password, cookie,
authorization, session, ...) in the histories, plus, with --target, the spec's
postgres password and app env values whose names contain PASSWORD, SECRET, TOKEN
or KEY. Redacting twice changes nothing, so this is safe on any folder.

exit status: 0 the reports were written; 2 the folder is not a run folder."""


def cmd_report(args: argparse.Namespace) -> int:
    from harness.report.folder import write_reports
    from harness.report.redact import spec_secrets
    from harness.report.terminal import print_verdicts
    from harness.spec import load_spec

    extra = spec_secrets(load_spec(args.target)) if args.target else []
    paths = write_reports(args.folder.resolve(), extra_secrets=extra)
    results = json.loads(paths["verdicts"].read_text())
    print_verdicts(results, Console(width=None if sys.stdout.isatty() else 160))
    print(f"HTML report: {paths['html']}\nJUnit XML:   {paths['junit']}")
    return 0


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="harness", description="Prove that a web app's acknowledged state survives restarts, redeploys, "
                                    "dependency faults and scale-out, and that its limits hold across replicas. "
                                    "`harness COMMAND --help` explains each command.")
    sub = top.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run scenario suites against a target and print the verdicts",
                         description=RUN_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    run.add_argument("--target", type=Path, default=DEFAULT_TARGET, help="target spec (default: %(default)s)")
    run.add_argument("--backend", choices=BACKENDS, default="auto",
                     help="where deployments run: docker, local processes, or auto: docker when an engine "
                          "answers, else local (default: %(default)s)")
    run.add_argument("--suite", action="append", choices=list(SUITES), help="suite to run (repeatable; default: all but load)")
    run.add_argument("--replicas", type=int, default=None,
                     help="replicas per scenario (default: 2; 3 for the load suite)")
    run.add_argument("--seed", type=int, default=0, help="workload seed (default: %(default)s)")
    run.add_argument("--users", type=int, help="load suite: concurrent locust users (default: 30)")
    run.add_argument("--duration", type=int, metavar="S", help="load suite: seconds of load per scenario (default: 20)")
    run.add_argument("--parallel", type=int, default=1, metavar="N",
                     help="scenarios run at once, each on its own deployment (pytest-xdist workers; default 1)")
    run.add_argument("--fresh-dependencies", action="store_true",
                     help="start postgres and redis anew for every scenario (default: reused, their data "
                          "wiped between scenarios, replaced after a fault)")
    run.add_argument("--out", type=Path, help="folder for histories and verdicts (default: runs/<time>)")
    run.add_argument("-v", "--verbose", action="store_true", help="one line per scenario")
    run.add_argument("pytest_args", nargs="*", help="extra pytest arguments, after --")
    run.set_defaults(func=cmd_run)

    check = sub.add_parser("check-spec", help="validate target specs and print what each will make the harness do",
                           description=CHECK_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    check.add_argument("specs", type=Path, nargs="+", metavar="SPEC", help="target spec file(s)")
    check.set_defaults(func=cmd_check_spec)

    images = sub.add_parser("images", help="build the offline images (Debian base, postgres, redis, target apps)",
                            description=IMAGES_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    images.add_argument("--force", action="store_true", help="rebuild even when up to date")
    images.add_argument("--target", type=Path, action="append", default=[],
                        help="also build the app image of this spec (repeatable; default: the reference app)")
    images.set_defaults(func=cmd_images)

    sweep = sub.add_parser("sweep", help="remove containers and networks left by dead harness runs",
                           description="Remove every container and network labelled by a harness process that no "
                                       "longer runs on this host, and the processes and folders of local-backend "
                                       "runs whose harness died. Objects without the harness's labels, and those of "
                                       "live runs, are never touched.")
    sweep.set_defaults(func=cmd_sweep)

    report = sub.add_parser("report", help="re-render a stored run: redact it, write report.html and junit.xml",
                            description=REPORT_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    report.add_argument("folder", type=Path, metavar="FOLDER", help="run folder holding verdicts.json")
    report.add_argument("--target", type=Path, help="target spec of the run, to redact its passwords and secret env too")
    report.set_defaults(func=cmd_report)
    return top


def main(argv: list[str] | None = None) -> int:
    from harness.errors import HarnessError

    signal.signal(signal.SIGTERM, _terminate_as_interrupt)
    args = parser().parse_args(argv)
    try:
        return args.func(args)
    except HarnessError as exc:
        console.print(f"[bold red]error:[/] {exc}")
        return 2
    except KeyboardInterrupt:
        console.print("[yellow]interrupted; deployments were removed[/]")
        return 130


if __name__ == "__main__":
    sys.exit(main())
