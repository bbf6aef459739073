"""The attach backend's pure parts: its spec section, the capabilities its verbs make, how a command runs
and fails, the fresh seeds and the listing of an environment that keeps its state (no Docker)."""

from __future__ import annotations

import sys
import textwrap
import threading
from pathlib import Path
from typing import Iterator

import pytest

from harness.attach_spec import AttachSpec, load_attach
from harness.backends import attach_kind, choose_backend
from harness.capabilities import CAPABILITIES, Pausable, capabilities_of, lacking
from harness.checkers.base import Validity
from harness.checkers.durability import check_records
from harness.errors import BackendError, SpecError
from harness.faults import Crash, DependencyRestart, Pause, Redeploy, ScaleTo
from harness.plugin import fresh_seed
from harness.spec import load_spec
from harness.vocabulary import BackendName

from .histories import HistoryBuilder

DURABLE = Path(__file__).resolve().parents[2] / "targets" / "refapp" / "durable.yaml"
CORE = {"crash": "docker kill {replica}", "restart": "docker restart {replica}"}
EVERY = {**CORE, "start": "docker start {replica}", "rolling-restart": "kubectl rollout restart deploy/app",
         "redeploy": "redeploy {replica}", "scale": "kubectl scale statefulset app --replicas={count}",
         "pause": "docker pause {replica}", "resume": "docker unpause {replica}",
         "dependency-restart": "docker restart {dependency}", "dependency-stop": "docker stop {dependency}",
         "dependency-start": "docker start {dependency}", "network-cut": "cut {dependency}",
         "network-heal": "heal {dependency}"}
REPLICAS = [{"name": "app-0", "url": "http://127.0.0.1:18080"}, {"name": "app-1", "url": "http://127.0.0.1:18081/"}]


def section(verbs: dict, **more: object) -> AttachSpec:
    return AttachSpec.model_validate({"replicas": REPLICAS, "verbs": verbs, **more})


def spec_with(tmp_path: Path, verbs: dict, **more: object):
    from harness.spec import load_spec

    return load_spec(DURABLE).model_copy(update={"attach": section(verbs, **more)})


# ---- the section ----------------------------------------------------------------------------
def test_a_spec_section_is_read_with_the_spec(tmp_path: Path) -> None:
    path = tmp_path / "attached.yaml"
    path.write_text(textwrap.dedent(f"""\
        extends: {DURABLE}
        attach:
          replicas: [{{name: app-0, url: "http://127.0.0.1:18080"}}]
          verbs:
            crash: docker kill {{replica}}
            restart: {{run: "docker restart {{replica}}", ready: {{path: /healthz, timeout: 5}}}}
        """))
    spec = load_spec(path)
    assert spec.attach is not None and spec.attach.verbs.crash.run == "docker kill {replica}"
    assert spec.attach.verbs.restart.ready.path == "/healthz"  # type: ignore[union-attr]
    assert spec.attach.replicas[0].base == "http://127.0.0.1:18080"


def test_half_a_capability_is_refused_naming_what_is_missing() -> None:
    with pytest.raises(ValueError, match="the pause capability needs pause, resume; resume not given"):
        section({**CORE, "pause": "docker pause {replica}"})
    with pytest.raises(ValueError, match="dependency-stop, dependency-start not given"):
        section({**CORE, "dependency-restart": "docker restart {dependency}"})


def test_the_core_verbs_are_required() -> None:
    with pytest.raises(ValueError, match="verbs.restart"):
        section({"crash": "docker kill {replica}"})


def test_a_placeholder_the_verb_does_not_give_is_refused() -> None:
    with pytest.raises(ValueError, match=r"crash.run: unknown placeholder \{dependency\}; this verb provides "
                                         r"\{replica\}, \{url\}"):
        section({**CORE, "crash": "docker kill {dependency}"})
    with pytest.raises(ValueError, match=r"scale.run: unknown placeholder \{replica\}"):
        section({**CORE, "scale": "scale {replica}"})


def test_replicas_are_distinct_and_given_by_a_base_url() -> None:
    with pytest.raises(ValueError, match="replicas.1.name 'app-0' is given twice|given twice"):
        AttachSpec.model_validate({"replicas": [REPLICAS[0], {**REPLICAS[1], "name": "app-0"}], "verbs": CORE})
    with pytest.raises(ValueError, match="url"):
        AttachSpec.model_validate({"replicas": [{"name": "a", "url": "127.0.0.1:80/x"}], "verbs": CORE})


def test_an_attach_file_error_names_the_file_and_the_field(tmp_path: Path) -> None:
    path = tmp_path / "staging.yaml"
    path.write_text("replicas: [{name: app-0, url: 'http://127.0.0.1:1'}]\nverbs: {crash: x}\n")
    with pytest.raises(SpecError, match=r"staging.yaml: invalid attach file\n  field 'verbs.restart': Field required"):
        load_attach(path)
    with pytest.raises(SpecError, match="attach file not found"):
        load_attach(tmp_path / "absent.yaml")


# ---- capabilities from the verbs given ------------------------------------------------------
def test_capabilities_are_the_verbs_given(tmp_path: Path) -> None:
    core = attach_kind(spec_with(tmp_path, CORE))
    every = attach_kind(spec_with(tmp_path, EVERY))
    assert capabilities_of(core) == []
    assert capabilities_of(every) == list(CAPABILITIES)
    assert core.owns_state is False and every.owns_state is False
    paused = attach_kind(spec_with(tmp_path, {**CORE, "pause": "p {replica}", "resume": "r {replica}"}))
    assert capabilities_of(paused) == [Pausable]
    assert attach_kind(spec_with(tmp_path, CORE)) is core  # one class per set of verbs


def test_a_scenario_needing_a_verb_not_given_is_skipped_with_that_reason(tmp_path: Path) -> None:
    core = attach_kind(spec_with(tmp_path, CORE))
    assert lacking(core, [Crash(0)]) is None
    assert lacking(core, [Pause(0)]) == ("fault pause needs the pause capability (freeze a replica's processes and "
                                         "thaw them), which AttachDeployment lacks")
    for fault in (Redeploy(0), ScaleTo(3), DependencyRestart("postgres")):
        assert lacking(core, [fault]) is not None
        assert lacking(attach_kind(spec_with(tmp_path, EVERY)), [fault]) is None


def test_choose_backend_attach_needs_the_section(tmp_path: Path) -> None:
    with pytest.raises(BackendError, match="--backend attach needs an 'attach' section"):
        choose_backend("attach", load_spec(DURABLE))
    chosen = choose_backend("attach", spec_with(tmp_path, {**CORE, "scale": "s {count}"}))
    assert chosen.name is BackendName.ATTACH and "capabilities: scale" in chosen.reason


# ---- running a verb -------------------------------------------------------------------------
def deployment(tmp_path: Path, verbs: dict, replicas: list[dict] | None = None):
    spec = spec_with(tmp_path, verbs, **({"replicas": replicas} if replicas else {}))
    return attach_kind(spec)(spec, replicas=2)


@pytest.fixture
def ready_replicas() -> Iterator[list[dict]]:
    """Two replicas that answer 200 on every path, on 127.0.0.1: what a readiness wait polls."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Ready(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the handler's name
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    servers = [ThreadingHTTPServer(("127.0.0.1", 0), Ready) for _ in range(2)]
    threads = [threading.Thread(target=s.serve_forever, daemon=True) for s in servers]
    for thread in threads:
        thread.start()
    try:
        yield [{"name": f"app-{i}", "url": f"http://127.0.0.1:{s.server_address[1]}"} for i, s in enumerate(servers)]
    finally:
        for server in servers:
            server.shutdown()
            server.server_close()


def test_a_command_runs_without_a_shell_each_value_one_argument(tmp_path: Path) -> None:
    from harness.backends.attach import render

    dep = deployment(tmp_path, CORE)
    verb = dep.attach.verbs.crash
    assert render(verb, "docker kill {replica}", {"replica": "a b; rm -rf /"}) == ["docker", "kill", "a b; rm -rf /"]
    shell = verb.model_copy(update={"shell": True})
    assert render(shell, "echo {replica} && true", {"replica": "a b; x"}) == ["sh", "-c", "echo 'a b; x' && true"]
    out = dep.command("crash", verb, f"{sys.executable} -c \"import sys; print(sys.argv[1])\" {{replica}}",
                      {"replica": "two words"})
    assert out == "two words"


def test_a_failing_command_names_the_verb_the_command_and_its_status_without_secrets(tmp_path: Path) -> None:
    from harness.redaction import remember

    remember("Zq8vT3kLm9Xw2Rp5")
    dep = deployment(tmp_path, {**CORE, "restart": {"run": "echo token Zq8vT3kLm9Xw2Rp5 >&2; exit 3", "shell": True}})
    with pytest.raises(BackendError) as err:
        dep.restart("app-0")
    text = str(err.value)
    assert "attach verb restart: `sh -c 'echo token" in text and "exited with status 3" in text, text
    assert "Zq8vT3kLm9Xw2Rp5" not in text
    events = dep.history.faults()
    assert [(e.fault, e.target) for e in events] == [("graceful-restart", "app-0")]
    assert events[0].detail.startswith("failed:") and "Zq8vT3kLm9Xw2Rp5" not in events[0].detail
    with pytest.raises(BackendError, match="program 'no-such-program-here' not found"):
        deployment(tmp_path, {**CORE, "crash": "no-such-program-here {replica}"}).crash("app-1")


def test_a_verb_that_outlives_its_timeout_fails(tmp_path: Path) -> None:
    dep = deployment(tmp_path, {**CORE, "crash": {"run": "sleep 5", "timeout": 0.2}})
    with pytest.raises(BackendError, match=r"attach verb crash: `sleep 5` still ran after 0.2 s"):
        dep.crash("app-0")


def test_a_ready_command_is_polled_until_it_exits_0(tmp_path: Path, ready_replicas: list[dict]) -> None:
    flag = tmp_path / "ready"
    dep = deployment(tmp_path, {**CORE, "pause": f"touch {flag}", "resume": {
        "run": "true", "ready": {"command": f"test -e {flag}", "timeout": 2}}}, ready_replicas)
    with pytest.raises(Exception, match="ready.command never exited 0"):
        dep.resume("app-0")
    dep.pause("app-0")
    dep.resume("app-0")
    assert [(e.fault, e.heal) for e in dep.history.faults()] == [("pause", True), ("pause", False), ("pause", True)]


def test_scale_uses_the_first_listed_replicas(tmp_path: Path, ready_replicas: list[dict]) -> None:
    dep = deployment(tmp_path, {**CORE, "scale": "true"}, ready_replicas)
    dep.replicas = ["app-0"]
    dep.scale(2)
    assert dep.replicas == ["app-0", "app-1"]
    with pytest.raises(BackendError, match="attach.replicas lists 2 replicas"):
        dep.scale(3)


# ---- an environment that keeps its state ----------------------------------------------------
def test_fresh_seeds_never_repeat() -> None:
    seeds = [fresh_seed() for _ in range(50)]
    assert len(set(seeds)) == 50 and seeds == sorted(seeds) and min(seeds) > 10**15


def test_a_listing_in_a_kept_environment_judges_only_this_runs_records() -> None:
    def history(own: dict):
        b = HistoryBuilder("records")
        b.op("create", "app-0", args={"data": {"nonce": "r-7-0"}}, value={"id": "r1", "version": 1})
        b.op("list", "app-1", args=own, phase="final",
             value={"records": {"r1": {"nonce": "r-7-0"}, "old": {"nonce": "r-6-0"}}})
        return b.history

    kept = check_records(history({"own_nonces": "r-7-"}))
    assert kept.validity is Validity.PASS, kept.explain()
    fresh = check_records(history({}))
    assert [v.kind for v in fresh.violations] == ["unexpected"] and "no create ever sent" in fresh.violations[0].message


def test_harness_run_refuses_attach_without_a_section_before_anything_starts(tmp_path: Path) -> None:
    import subprocess

    def run(*args: str) -> tuple[int, str]:
        done = subprocess.run([sys.executable, "-m", "harness.cli", "run", "--target", str(DURABLE), "--out",
                               str(tmp_path / "out"), *args], capture_output=True, text=True, timeout=60)
        return done.returncode, " ".join((done.stdout + done.stderr).split())

    code, said = run("--backend", "attach")
    assert code == 2 and "--backend attach needs an 'attach' section in the spec, or --attach FILE" in said, said
    (tmp_path / "bad.yaml").write_text("replicas: [{name: a, url: 'http://127.0.0.1:1'}]\nverbs: {crash: x}\n")
    code, said = run("--backend", "attach", "--attach", str(tmp_path / "bad.yaml"))
    assert code == 2 and "invalid attach file" in said and "'verbs.restart'" in said, said
    assert not (tmp_path / "out").exists()


def test_a_scenario_needing_more_replicas_than_listed_is_a_skip(tmp_path: Path) -> None:
    from harness.errors import MissingCapability

    spec = spec_with(tmp_path, CORE)
    with pytest.raises(MissingCapability, match="the scenario needs 3 replicas, and attach.replicas lists 2"):
        attach_kind(spec)(spec, replicas=3)


def test_a_secret_in_a_verb_or_url_is_one_of_the_specs_secrets(tmp_path: Path) -> None:
    from harness.spec import spec_secrets

    spec = spec_with(tmp_path, {**CORE, "restart": "curl -X POST -H 'Authorization: Bearer Hq7wPz2Lk9Vb4Tn6' "
                                                "https://ops.example/restart/{replica}"},
                     replicas=[{"name": "app-0", "url": "http://ops:Rt5yUi8oPa3sDf6g@127.0.0.1:18080"}])
    assert {"Hq7wPz2Lk9Vb4Tn6", "Rt5yUi8oPa3sDf6g"} <= set(spec_secrets(spec))


# ---- a scale beyond the replicas listed: a skip decided before anything runs ----------------
def test_a_scale_beyond_the_listed_replicas_is_a_skip_reason(tmp_path: Path) -> None:
    from harness.backends import local_kind

    spec = spec_with(tmp_path, {**CORE, "scale": "kubectl scale statefulset app --replicas={count}"})
    kind = attach_kind(spec)
    assert lacking(kind, [ScaleTo(3)], spec) == ("fault scale: scale to 3 needs 3 replicas listed in the attach "
                                                 "section (attach.replicas); it lists 2")
    assert lacking(kind, [Crash(0), ScaleTo(2)], spec) is None and lacking(kind, [ScaleTo(1)], spec) is None
    # the missing verb is said first: the capability is what the scenario lacks before any count
    assert lacking(attach_kind(spec_with(tmp_path, CORE)), [ScaleTo(3)], spec).endswith("AttachDeployment lacks")
    # a backend that deploys its replicas scales to any count
    assert lacking(local_kind(), [ScaleTo(3)], spec) is None


def test_harness_run_skips_the_scale_out_to_more_replicas_than_listed(tmp_path: Path) -> None:
    """The scale-out suite on an environment of 2 listed replicas, at URLs where nothing answers: every
    scenario (1 -> 3, and those that start with 3) is skipped with its reason, none waits for a replica."""
    import subprocess

    attach = tmp_path / "two.yaml"
    attach.write_text("replicas: [{name: a, url: 'http://127.0.0.1:9'}, {name: b, url: 'http://127.0.0.1:9/'}]\n"
                      "verbs: {crash: 'true', restart: 'true', scale: 'false {count}'}\n")
    done = subprocess.run([sys.executable, "-m", "harness.cli", "run", "--target", str(DURABLE), "--backend", "attach",
                           "--attach", str(attach), "--suite", "scale-out", "--replicas", "1", "--out",
                           str(tmp_path / "out"), "--", "-rs"], capture_output=True, text=True, timeout=120)
    said = " ".join((done.stdout + done.stderr).split())
    assert done.returncode == 0, said
    assert ("attach backend: fault scale: scale to 3 needs 3 replicas listed in the attach section "
            "(attach.replicas); it lists 2") in said, said
    assert "the scenario needs 3 replicas, and attach.replicas lists 2" in said and "3 skipped" in said, said


# ---- soak on an environment that keeps its state ----------------------------------------------
def test_soak_keys_are_the_seed_where_state_is_wiped_else_the_runs_own() -> None:
    from harness.soak.workload import soak_keys

    assert soak_keys(7, True, "a1") == soak_keys(7, True, "b2") == "7"  # a replay on a fresh deployment is exact
    assert soak_keys(7, False, "a1") == "7-a1" and soak_keys(7, False, "b2") == "7-b2"


def test_two_soaks_of_one_seed_share_their_choices_but_no_key() -> None:
    """The same seed on a kept environment (``--seed`` again, a replay, a shrink's runs): the same
    operations on the same replicas, and not one key, user or nonce in common."""
    from harness.soak.workload import SoakWorkload

    from .test_soak_workload import REPLICAS, FakeClient

    def soak(keys: str) -> tuple[list[tuple[str, str, str]], set[str]]:
        client = FakeClient()
        workload = SoakWorkload.for_target(7, client.adapter, keys=keys)
        chooser = workload.client(0)
        for _ in range(300):
            chooser.step(client, REPLICAS)
        client.endpoints = type("Kept", (), {"owns_state": False})()
        made = {str(v) for *_, variables, args, _ in client.calls for d in (variables, args)
                for k, v in d.items() if k in ("key", "nonce", "user", "filename")}
        made |= set(workload.counters) | set(workload.list_args(client).values())
        return [(kind, name, replica) for kind, name, replica, *_ in client.calls], made

    first, first_keys = soak("7-a1")
    second, second_keys = soak("7-b2")
    assert first == second and len(first_keys) > 20
    assert first_keys.isdisjoint(second_keys), sorted(first_keys & second_keys)[:5]
    assert "r-7-a1-" in first_keys and "c-7-a1-0" in first_keys


def test_a_soak_scales_out_only_when_the_section_lists_one_more_replica(tmp_path: Path) -> None:
    from harness.soak.nemesis import faults_for, unsupported
    from harness.vocabulary import FaultName

    spec = spec_with(tmp_path, {**CORE, "scale": "kubectl scale statefulset app --replicas={count}"})
    kind = attach_kind(spec)
    assert FaultName.SCALE in faults_for(kind, spec, 1)  # 1 -> 2: both listed
    assert FaultName.SCALE not in faults_for(kind, spec, 2) and FaultName.SCALE_TO_ZERO in faults_for(kind, spec, 2)
    assert unsupported(kind, spec, [FaultName.SCALE], 2) == ("fault scale: scale to 3 needs 3 replicas listed in the "
                                                             "attach section (attach.replicas); it lists 2")


# ---- a spec only ever attached needs no image -----------------------------------------------------
OPERATIONS = DURABLE.parent / "parts" / "operations.yaml"


def imageless(tmp_path: Path, **more: object) -> Path:
    """A spec of an app the harness never deploys: what it does (the reference app's operations), no image."""
    import yaml

    path = tmp_path / "staging.yaml"
    path.write_text(yaml.safe_dump({"extends": str(OPERATIONS), "name": "staging", **more}))
    return path


def test_an_attach_only_spec_needs_no_image_and_the_deploying_backends_say_they_do(tmp_path: Path) -> None:
    spec = load_spec(imageless(tmp_path, app={"readiness_path": "/readyz"},
                               attach={"replicas": REPLICAS, "verbs": CORE}))
    assert spec.app.image is None
    assert choose_backend("attach", spec).name is BackendName.ATTACH
    with pytest.raises(BackendError, match=r"staging.yaml: field 'app.image' is required by the docker backend"):
        choose_backend("docker", spec)
    assert choose_backend("local", spec).name is BackendName.LOCAL  # the local backend runs app.process
    # an image built from a folder needs its tag
    with pytest.raises(SpecError, match=r"field 'app': 'build' needs 'image': the tag given to the built image"):
        load_spec(imageless(tmp_path, app={"build": {"context": str(tmp_path)}}))


def test_harness_run_refuses_docker_for_a_spec_without_image_before_anything_starts(tmp_path: Path) -> None:
    import subprocess

    path = imageless(tmp_path, app={"readiness_path": "/readyz"})
    done = subprocess.run([sys.executable, "-m", "harness.cli", "run", "--target", str(path), "--backend", "docker",
                           "--out", str(tmp_path / "out")], capture_output=True, text=True, timeout=60)
    said = " ".join((done.stdout + done.stderr).split())
    assert done.returncode == 2 and "field 'app.image' is required by --backend docker" in said, said
    assert not (tmp_path / "out").exists()
