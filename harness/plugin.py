"""pytest plugin (``pytest11`` entry point): options, fixtures and hooks, nothing else.

Loading it imports no Docker code; the engine is reached only when a fixture that
deploys is used. Scenarios use the ``harness`` fixture::

    def test_sessions_survive_crash(harness):
        result = harness.run(Scenario("crash", SessionWorkload(), [Crash(0)], [check_sessions]))
        harness.assert_pass(result)
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

import pytest

from harness import run_folder
from harness.errors import SpecError
from harness.backends import Deployer
from harness.vocabulary import BackendName, Suite
from harness.run import Result, Scenario, execute, save
from harness.spec import TargetSpec, load_spec
from harness.spec_adapter import make_adapter

if TYPE_CHECKING:
    from harness.capabilities import Capability
    from harness.deployment import Deployment

#: (command-line flag, ini key and option dest, help, ini default)
OPTIONS = (
    ("--target", "harness_target", "path of the target spec (YAML) to deploy", None),
    ("--replicas", "harness_replicas", "app replicas a scenario starts with, unless it sets its own", "2"),
    ("--harness-out", "harness_out", "folder for histories and verdicts (verdicts.json)", None),
    ("--seed", "harness_seed", "seed of the workloads; printed with every failure to replay it", "0"),
    ("--backend", "harness_backend", "where deployments run: auto (docker when an engine answers, else local "
     "processes), docker, local, or attach (an environment that already runs: the spec's attach section)", "auto"),
    ("--attach", "harness_attach", "file with the attach section (replica URLs, a command per fault verb) for "
     "--backend attach; replaces the spec's own", None),
    ("--load-users", "harness_load_users", "locust users of each load scenario (suite load)", "30"),
    ("--load-duration", "harness_load_duration", "seconds of load in each load scenario (suite load)", "20"),
    ("--soak-duration", "harness_soak_duration", "seconds the clients of the soak scenario run (suite soak)", "30"),
    ("--soak-clients", "harness_soak_clients", "concurrent clients of the soak scenario (suite soak)", "2"),
    ("--reuse-dependencies", "harness_reuse_dependencies", "keep postgres and redis running from "
     "one scenario to the next, their data wiped in between (a faulted one is replaced): yes or no", "yes"),
)

BACKENDS = tuple(str(b) for b in BackendName)


class HarnessFinding(UserWarning):
    """A finding of the target's declared model in a passing scenario (e.g. client-side sessions survive logout)."""


@dataclass
class SessionState:
    spec: TargetSpec | None
    replicas: int
    seed: int
    out: Path | None
    results: list[dict] = field(default_factory=list)
    backend: str = "auto"
    load_users: int = 30
    load_duration: int = 20
    soak_duration: int = 30
    soak_clients: int = 2
    reuse_dependencies: bool = True


state_key = pytest.StashKey[SessionState]()
#: the scenario a test runs (name, replicas), kept for its error record if it never reaches a verdict
scenario_key = pytest.StashKey[dict]()
#: set once a test recorded a verdict: an error after it is no longer "an error before any verdict"
verdict_key = pytest.StashKey[bool]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("harness", "persistence verification harness")
    for flag, key, help_text, default in OPTIONS:
        group.addoption(flag, dest=key, default=None, help=f"{help_text} (ini: {key})")
        parser.addini(key, help=help_text, default=default)


def _setting(config: pytest.Config, key: str) -> tuple[str | None, str]:
    """A setting's value and where it came from, for error messages."""
    value = config.getoption(key)
    if value is not None:
        flag = next(f for f, k, _, _ in OPTIONS if k == key)
        return value, flag
    return config.getini(key), f"ini {key}"


def _int_setting(config: pytest.Config, name: str, minimum: int) -> int:
    raw, where = _setting(config, name)
    try:
        value = int(raw)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise pytest.UsageError(f"invalid {name} {raw!r} from {where}: expected an integer") from None
    if value < minimum:
        raise pytest.UsageError(f"invalid {name} {value} from {where}: expected at least {minimum}")
    return value


#: the bundled suites' markers, registered here so scenarios work from any project
MARKERS = {suite.marker: suite.description for suite in Suite}


def pytest_configure(config: pytest.Config) -> None:
    if getattr(config, "workerinput", None) is None:  # the controller stops the run; xdist stops its workers
        from harness import interrupt

        interrupt.install()  # SIGINT, SIGTERM and SIGHUP alike: teardown, reports marked interrupted
    for marker, text in MARKERS.items():
        config.addinivalue_line("markers", f"{marker}: {text}")
    target, where = _setting(config, "harness_target")
    spec = None
    if target:
        path = Path(target)
        if not path.is_absolute() and not path.exists():
            path = config.rootpath / path
        try:
            spec = load_spec(path)
            make_adapter(spec)  # a Python adapter that cannot load fails here, before any scenario
        except SpecError as exc:
            raise pytest.UsageError(f"target spec from {where}: {exc}") from None
    backend, where = _setting(config, "harness_backend")
    if backend not in BACKENDS:
        raise pytest.UsageError(f"invalid harness_backend {backend!r} from {where}: expected one of {', '.join(BACKENDS)}")
    spec = _with_attach(config, spec)
    if backend == BackendName.ATTACH and (spec is None or spec.attach is None):
        raise pytest.UsageError(f"harness_backend attach (from {where}) needs a target spec with an 'attach' section, "
                                "or --attach FILE: the replicas' URLs and a command per fault verb")
    out, _ = _setting(config, "harness_out")
    reuse, where = _setting(config, "harness_reuse_dependencies")
    if reuse not in ("yes", "no"):
        raise pytest.UsageError(f"invalid harness_reuse_dependencies {reuse!r} from {where}: expected yes or no")
    config.stash[state_key] = SessionState(
        spec=spec,
        replicas=_int_setting(config, "harness_replicas", 1),
        seed=_int_setting(config, "harness_seed", 0),
        out=Path(out).resolve() if out else None,
        backend=backend,
        load_users=_int_setting(config, "harness_load_users", 1),
        load_duration=_int_setting(config, "harness_load_duration", 1),
        soak_duration=_int_setting(config, "harness_soak_duration", 1),
        soak_clients=_int_setting(config, "harness_soak_clients", 1),
        reuse_dependencies=reuse == "yes",
    )


def _with_attach(config: pytest.Config, spec: TargetSpec | None) -> TargetSpec | None:
    """The spec with the attach file's section in place of its own, when one is given."""
    attach, where = _setting(config, "harness_attach")
    if not attach:
        return spec
    if spec is None:
        raise pytest.UsageError(f"{where} {attach}: an attach file needs a target spec too (--target)")
    from harness.attach_spec import load_attach

    path = Path(attach)
    if not path.is_absolute() and not path.exists():
        path = config.rootpath / path
    try:
        return spec.model_copy(update={"attach": load_attach(path)})
    except SpecError as exc:
        raise pytest.UsageError(f"attach file from {where}: {exc}") from None


def fresh_seed() -> int:
    """A seed no earlier scenario used: the time in milliseconds, then this process's id (mod 1000),
    always above the last one this process drew.

    For an environment whose state is not wiped between scenarios (``--backend attach``): every
    workload key is made from the seed, so each scenario's keys are its own, and no counter, rate
    limit or user name of an earlier run is met again. Other backends keep ``--seed``: their
    deployments start empty, and a seed replays a run exactly.
    """
    global _last_seed
    with _seed_lock:
        _last_seed = max(int(time.time() * 1000) * 1000 + os.getpid() % 1000, _last_seed + 1000)
        return _last_seed


_last_seed = 0
_seed_lock = threading.Lock()


def pytest_report_header(config: pytest.Config) -> str | None:
    state = config.stash.get(state_key, None)
    if state is None or state.spec is None:
        return None
    return f"harness: target {state.spec.name} ({state.spec.source}), replicas {state.replicas}, seed {state.seed}"


class Harness:
    """What a scenario test gets: run a scenario on a fresh deployment, assert its verdict."""

    def __init__(self, state: SessionState, node: pytest.Item, backend: "Backend") -> None:
        if state.spec is None:
            raise pytest.UsageError("no target spec: pass --target PATH or set harness_target in the ini file")
        self.spec = state.spec
        #: the workloads' seed: --seed, or a fresh one on an environment that keeps its state (``fresh_seed``)
        self.seed = state.seed if backend.kind.owns_state else fresh_seed()
        self.replicas = state.replicas
        self.load_users = state.load_users
        self.load_duration = state.load_duration
        self.soak_duration = state.soak_duration
        self.soak_clients = state.soak_clients
        self.out = state.out
        self.backend = backend.name
        self.deployer = backend.deployer
        #: the backend's deployment class: what it can do is what it inherits (``harness.capabilities``)
        self.kind = backend.kind
        self.slug = run_folder.slug(node.nodeid)
        self._state = state
        self._node = node

    @property
    def load_folder(self) -> Path | None:
        """Where this scenario's locust outputs go in the run folder (None without --harness-out)."""
        return run_folder.load_folder(self.out, self.slug) if self.out is not None else None

    def run(self, scenario: Scenario) -> Result:
        """Run ``scenario`` on a fresh deployment; skipped, before deploying, when its faults need a
        capability this backend lacks (``harness.capabilities``)."""
        from harness.capabilities import lacking
        from harness.errors import MissingCapability

        self._skip_if(lacking(self.kind, scenario.faults, self.spec))
        self.begin(scenario.name, scenario.replicas or self.replicas)
        try:
            result = execute(self.spec, scenario, self.replicas, deployer=self.deployer)
        except MissingCapability as exc:  # a deployer of another kind than the session's (run.drive checks)
            self._skip_if(str(exc))
            raise
        return self.record(result)

    def soak(self, name: str = "soak") -> Result:
        """Run one short soak (``harness.soak``) on a fresh deployment and save it like any scenario:
        ``--soak-clients`` clients for ``--soak-duration`` seconds under a fault schedule drawn from the
        seed, among every fault this backend and target support, then every checker over the history."""
        from harness.soak.driver import run_soak
        from harness.soak.nemesis import dependencies_for, faults_for
        from harness.soak.plan import DEFAULT_RATE, default_mean_gap, draw_plan

        duration = float(self.soak_duration)
        plan = draw_plan(self.seed, duration, self.soak_clients, self.replicas,
                         faults_for(self.kind, self.spec, self.replicas), default_mean_gap(duration),
                         dependencies_for(self.kind, self.spec), DEFAULT_RATE)
        scenario = f"{name}: {plan.clients} clients for {duration:g}s, {len(plan.schedule)} faults, seed {plan.seed}"
        self.begin(scenario, plan.replicas)
        soak = run_soak(self.spec, plan, self.deployer)
        kinds = tuple(str(k) for k in make_adapter(self.spec).kinds())
        record = soak.to_dict()
        result = Result(scenario, soak.target, soak.verdict, soak.history, plan.replicas, kinds)
        return self.record(result, soak={k: record[k] for k in ("plan", "done", "stopped_early", "figures")})

    def begin(self, scenario: str, replicas: int) -> None:
        """Name the scenario this test runs (``run`` does it): an error before its verdict is reported under it."""
        self._node.stash[scenario_key] = {"scenario": scenario, "replicas": replicas}

    def record(self, result: Result, **extra: object) -> Result:
        """Save a result driven some other way (e.g. the load suite's locust run) like any scenario's.

        ``extra`` goes into its entry of verdicts.json (the load suite puts its figures there).
        """
        from harness.redaction import process_redactor
        from harness.spec import spec_secrets

        # Redacted before anything is written: no raw history or verdict is ever on disk.
        redactor = process_redactor(spec_secrets(self.spec)).collect_history(result.history)
        record = redactor.value({"nodeid": self._node.nodeid, "seed": self.seed, "spec": self.spec.source,
                                 **result.to_dict(), **extra})
        if self._state.out is not None:
            # relative to the run folder, so a copied or moved folder is reported from its own files
            record["history"] = save(result, self._state.out, self.slug, redactor=redactor).name
        self._state.results.append(record)
        self._node.stash[verdict_key] = True
        return result

    def require_dependency(self, name: str) -> None:
        """Skip a scenario that faults a dependency this target does not have (or this backend cannot fault)."""
        from harness.capabilities import dependency_unfaultable

        if not self.spec.has_dependency(name):
            pytest.skip(f"{self.spec.name} has no {name} dependency")
        self._skip_if(dependency_unfaultable(self.kind, self.spec, name))

    def require(self, capability: "type[Capability]", what: str = "this scenario") -> None:
        """Skip unless this session's backend has ``capability`` (``harness.capabilities``)."""
        from harness.capabilities import missing

        self._skip_if(missing(self.kind, capability, what))

    def require_network_cut(self) -> None:
        """Skip unless this backend can cut the network (``NetworkCuttable``; ``run`` checks it as well)."""
        from harness.capabilities import NetworkCuttable

        self.require(NetworkCuttable, "a network cut")

    def _skip_if(self, reason: str | None) -> None:
        if reason is not None:
            pytest.skip(f"{self.backend} backend: {reason}")

    def assert_pass(self, result: Result) -> None:
        if result.verdict.nothing_to_check:
            # Not a pass, and no fault of the target either: skipped, and reported as unknown with the reason.
            pytest.skip(f"{result.scenario} on {result.target}: {result.verdict.notes[0]}")
        if not result.verdict.ok:
            from harness.report.junit import replay_command
            from harness.redaction import Redactor
            from harness.spec import spec_secrets

            replay = replay_command(self._node.nodeid, self.spec.source, self.seed)
            # The terminal is a report too: the same secrets are redacted as in the run folder.
            redactor = Redactor(spec_secrets(self.spec)).collect_history(result.history)
            from harness.checkers.causes import causes

            explained = causes(result.verdict, result.history)
            cause = f"cause: {explained['summary']}\n" if explained else ""
            text = f"{result.scenario} on {result.target}: {cause}{result.verdict.explain()}\n{replay}"
            pytest.fail(redactor.text(text), pytrace=False)
        if result.verdict.findings:
            import warnings

            from harness.redaction import Redactor
            from harness.spec import spec_secrets

            # A pass with findings of the declared model: pytest's warnings summary shows them.
            redactor = Redactor(spec_secrets(self.spec)).collect_history(result.history)
            for f in result.verdict.findings:
                warnings.warn(HarnessFinding(redactor.text(f"{result.scenario} on {result.target}: "
                                                           f"[{f.checker}/{f.kind}] {f.message}")), stacklevel=2)


@dataclass(frozen=True)
class Backend:
    """The session's backend: ``kind``, its deployment class, says what it can do (``harness.capabilities``)."""

    name: str
    deployer: Deployer
    reason: str
    kind: "type[Deployment]"


@pytest.fixture(scope="session")
def harness_backend(pytestconfig: pytest.Config) -> Iterator[Backend]:
    """The backend of this session, chosen once (``auto`` pings Docker) and said out loud.

    Deployments lease postgres and redis from one pool for the whole session
    (``--reuse-dependencies``), which removes them at the end.
    """
    from harness.backends import choose_backend

    state = pytestconfig.stash[state_key]
    chosen = choose_backend(state.backend, state.spec)
    deployer, reason, pool = chosen.deploy, chosen.reason, None
    if state.reuse_dependencies and chosen.poolable:  # an attached environment's are not ours to pool
        pool = chosen.pool()
        deployer = pool.deployer
        reason += "; postgres and redis reused between scenarios, wiped in between"
    reporter = pytestconfig.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line(f"harness backend: {reason}")
    try:
        yield Backend(chosen.name, deployer, reason, chosen.kind)
    finally:
        if pool is not None:
            pool.close()


@pytest.fixture(scope="session")
def harness_images(pytestconfig: pytest.Config, harness_backend: Backend) -> None:
    """Build the offline images this target needs (a no-op when they are up to date)."""
    state = pytestconfig.stash[state_key]
    if state.spec is None or harness_backend.name not in BackendName.from_images():
        return
    from harness.backends import docker_client
    from harness.images import recipes_for, build_images

    ours = {r.name for r in recipes_for([state.spec])}
    deps = state.spec.dependencies
    from harness.reaper import IMAGE as REAPER

    wanted = ({state.spec.app.image, REAPER} | {d.image for d in (deps.postgres, deps.redis) if d}
              | {s.image for s in deps.services.values()})
    if wanted & ours:
        reporter = pytestconfig.pluginmanager.get_plugin("terminalreporter")
        say = (lambda msg: reporter.write_line(f"harness images: {msg}")) if reporter else (lambda msg: None)
        build_images(docker_client(), progress=say, specs=[state.spec])


@pytest.fixture
def harness(request: pytest.FixtureRequest, harness_images: None, harness_backend: Backend) -> Harness:
    return Harness(request.config.stash[state_key], request.node, harness_backend)


#: exceptions that are a test's verdict or outcome, not an error that kept it from one
NOT_ERRORS = (AssertionError, pytest.fail.Exception, pytest.skip.Exception, pytest.xfail.Exception)


def _debug(config: pytest.Config) -> bool:
    """Library tracebacks are shown with -v or an explicit --tb (``harness run --debug``); else the cause alone."""
    return config.get_verbosity() > 0 or getattr(config.option, "tbstyle", "auto") not in ("auto", None)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """A scenario that errors before its verdict becomes a record like a verdict's (``validity: error``).

    Runs where the test ran, so under pytest-xdist the record goes into that worker's
    part of verdicts.json like any verdict. The report's text becomes the cause in
    words, redacted (the traceback only with -v or --debug), and the report carries
    the cause in ``user_properties`` for ``harness run`` to count and print.
    """
    outcome = yield
    report = outcome.get_result()
    exc = call.excinfo.value if call.excinfo is not None else None
    if report.outcome != "failed" or not isinstance(exc, Exception) or isinstance(exc, NOT_ERRORS):
        return
    if item.stash.get(verdict_key, False) or "harness" not in getattr(item, "fixturenames", ()):
        # only scenarios (tests that use the harness fixture) have verdicts, hence error records
        _give_harness_error(item, report, exc, call.when)
        return
    from harness.report.errors import console_text, error_record
    from harness.redaction import scrub
    from harness.spec import spec_secrets

    state = item.config.stash.get(state_key, None)
    spec = state.spec if state is not None else None
    secrets = spec_secrets(spec)
    known = item.stash.get(scenario_key, {})
    record = error_record(exc, nodeid=item.nodeid, scenario=known.get("scenario", item.name),
                          target=spec.name if spec is not None else "?",
                          replicas=known.get("replicas", state.replicas if state is not None else None),
                          seed=state.seed if state is not None else 0, secrets=secrets, phase=call.when,
                          spec=spec.source if spec is not None else None)
    item.stash[verdict_key] = True  # one record per test, even when its teardown errs too
    if state is not None:
        state.results.append(record)
    report.user_properties.append((run_folder.ERROR_PROPERTY, record["error"]["cause"]))
    report.longrepr = (scrub(str(report.longrepr), secrets) if _debug(item.config)
                       else console_text(record["error"]))


def _give_harness_error(item: pytest.Item, report: pytest.TestReport, exc: Exception, phase: str) -> None:
    """A harness error that makes no record (a test without the harness fixture, an error after the
    verdict) still reaches ``harness run`` as a field of the report, whatever module raised it
    (``LoadError`` too): the run ends in error, not in a violation."""
    from harness.errors import HarnessError

    if not isinstance(exc, HarnessError):
        return
    from harness.report.errors import error_entry
    from harness.spec import spec_secrets

    state = item.config.stash.get(state_key, None)
    entry = error_entry(exc, spec_secrets(state.spec if state is not None else None), phase)
    report.user_properties.append((run_folder.ERROR_PROPERTY, entry["cause"]))


def pytest_keyboard_interrupt(excinfo: pytest.ExceptionInfo[BaseException]) -> None:
    """pytest's own Ctrl-C (no handler of ours installed): the reports are marked all the same."""
    from harness import interrupt

    interrupt.note("SIGINT")


@pytest.hookimpl(specname="pytest_sessionfinish", wrapper=True)
def hold_session_end(session: pytest.Session) -> Iterator[None]:
    """The end of a session, held whole: a signal meanwhile is noted, not raised.

    The session's teardown (the dependency pool removed) and the reports must not be cut
    off halfway by a signal that came too late to save any time; the run then ends as
    interrupted all the same (``harness.interrupt``).
    """
    from harness import interrupt

    with interrupt.shielded():
        return (yield)


@pytest.hookimpl(trylast=True)  # after the session's fixtures are torn down: the deployments are gone
def pytest_sessionfinish(session: pytest.Session) -> None:
    """Write verdicts.json and the reports, once per run.

    Under pytest-xdist every worker is its own session: each writes its own part
    (``verdicts.<worker>.json``), and the controller, which finishes last, merges the
    parts in test order and renders the reports.

    A run that a signal stopped, before or while they are written, gets the interrupted
    mark (``harness.report.interrupted``) after the scenarios that finished.
    """
    from harness import interrupt

    state = session.config.stash.get(state_key, None)
    if state is None or state.out is None:
        return
    with interrupt.shielded():
        _write_results(session, state)
        if interrupt.received() and getattr(session.config, "workerinput", None) is None:
            from harness.report.interrupted import add_mark

            target = state.spec.name if state.spec is not None else "?"
            if add_mark(state.out / run_folder.VERDICTS, interrupt.received() or "SIGINT", target=target):
                _render(state)


def _render(state: SessionState) -> None:
    from harness.report.folder import write_reports
    from harness.spec import spec_secrets

    write_reports(state.out, extra_secrets=spec_secrets(state.spec))  # type: ignore[arg-type]


def _write_results(session: pytest.Session, state: SessionState) -> None:
    assert state.out is not None
    worker = getattr(session.config, "workerinput", None)
    if worker is not None:
        run_folder.write_part(state.out, worker["workerid"], state.results)
        return
    results = run_folder.in_test_order([*state.results, *run_folder.take_parts(state.out)])
    from harness import interrupt

    if interrupt.received():
        from harness.report.interrupted import interrupted_record

        results.append(interrupted_record(interrupt.received() or "SIGINT", len(results), session.testscollected,
                                          target=state.spec.name if state.spec is not None else "?"))
    run_folder.write_verdicts(state.out, results)
    _render(state)
