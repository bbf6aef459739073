"""Session models against the reference app's client-side mode (SESSIONS=client-side), in both directions.

- A fixed signing secret (``client-sessions.yaml``) is correct: every scenario of the
  restart, scale-out and dependency suites passes, and the logout scenario reports the
  ``revocation`` finding of the client-side model (a copied token stays valid), not a
  violation.
- A secret drawn at every start (``client-sessions-random-secret.yaml``) is caught as
  lost sessions: after a crash, and on every other replica with no fault at all.
- Undeclared, the same correct app fails the logout scenario with the hint that names
  ``operations.sessions.model``.

The suites run on the local backend (the bundled scenarios, as in
``test_local_detection``); one scenario goes through a real pytest session on Docker,
as a user runs it, to see the finding in verdicts.json, JUnit and the HTML report.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from harness.run import Result, execute
from harness.spec import load_spec

from .suite_runs import run_suites
from .test_local_backend import children, refapp_importable, roots  # noqa: F401 - the same guard on the app's packages
from .test_local_detection import REPLICAS, SEED, deployer, needs_servers, suites

TARGETS = Path(__file__).resolve().parents[2] / "targets" / "refapp"
FIXED = TARGETS / "client-sessions.yaml"
RANDOM = TARGETS / "client-sessions-random-secret.yaml"
LOGOUT = "logout on one replica, honoured by all"
SECRET = "refapp-client-sessions-fixed-signing-secret"


@pytest.fixture(scope="module", autouse=True)
def nothing_left_behind() -> Any:
    yield
    assert children() == [], "child processes left behind"
    assert roots() == [], "temporary roots left behind"


def run_local(spec_path: Path, suite: str, names: tuple[str, ...] | None = None) -> list[Result]:
    spec = load_spec(spec_path)
    return [execute(spec, s, REPLICAS, deployer=deployer("auto")) for s in suites(SEED)[suite]
            if names is None or s.name in names]


def explain(results: list[Result]) -> str:
    return "\n".join(f"{r.scenario}: {r.verdict.explain(5)}" for r in results)


@pytest.mark.local
@pytest.mark.parametrize("suite", ["restart", "scale_out", "dependency"])
def test_fixed_secret_passes_with_the_revocation_finding(suite: str) -> None:
    needs_servers(suite)
    results = run_local(FIXED, suite)
    assert len(results) == len(suites(SEED)[suite])
    assert all(r.verdict.ok for r in results), explain(results)
    sessions = [r.verdict.stats["sessions"] for r in results]
    assert all(s["model"] == "client-side" and s["reads_judged"] > 0 for s in sessions)
    for result in results:
        findings = result.verdict.findings
        if result.scenario == LOGOUT:
            [finding] = findings
            assert finding.kind == "revocation" and "cannot revoke" in finding.message
            # every token logged out (every other one) was still accepted, on every replica
            assert finding.evidence["tokens"] == len(range(0, 12, 2))
        else:
            assert findings == (), result.scenario  # no logout, nothing to find


@pytest.mark.local
def test_random_secret_caught_after_a_crash_and_across_replicas() -> None:
    [crash] = run_local(RANDOM, "restart", ("state survives crash",))
    lost = [v for v in crash.verdict.violations if v.checker == "sessions" and v.kind == "lost"]
    assert lost, explain([crash])
    assert any("crash of app-0" in v.message for v in lost)
    assert any("no fault in between" in v.message for v in lost)  # the other replica never accepted them


@pytest.mark.local
def test_undeclared_model_fails_logout_with_the_hint(tmp_path: Path) -> None:
    spec = tmp_path / "client-sessions-undeclared.yaml"
    spec.write_text(f"extends: {TARGETS / 'base.yaml'}\nname: refapp-client-sessions-undeclared\n"
                    f"app: {{env: {{SESSIONS: client-side, SESSION_SECRET: {SECRET}}}}}\n")
    [logout] = run_local(spec, "scale_out", (LOGOUT,))
    violations = logout.verdict.violations
    assert violations and {v.kind for v in violations} == {"revoked-but-accepted"}, explain([logout])
    hinted = [v for v in violations if "signature of client-side sessions" in v.message]
    assert hinted and all("operations.sessions.model: client-side" in v.message for v in hinted)
    assert logout.verdict.findings == ()


@pytest.mark.docker
def test_docker_logout_scenario_reports_the_finding_everywhere(docker_engine: Any, images: None,
                                                                tmp_path: Path) -> None:
    run = run_suites(FIXED, tmp_path, "-k", "logout_honoured")
    assert run.code == 0, run.tail()
    assert "HarnessFinding" in run.output and "[sessions/revocation]" in run.output  # pytest's warnings summary
    verdict = run.scenario(LOGOUT)
    assert verdict["validity"] == "pass" and verdict["violations"] == []
    assert [f["kind"] for f in verdict["findings"]] == ["revocation"]
    junit = ET.parse(run.out / "junit.xml")
    [case] = list(junit.iter("testcase"))
    assert {p.get("name"): p.get("value") for p in case.iter("property")}["findings"] == "1"
    assert "finding [sessions/revocation]" in (case.findtext("system-out") or "")
    html = (run.out / "report.html").read_text()
    assert "findings of the declared model" in html
    everything = run.output + html + ET.tostring(junit.getroot(), encoding="unicode") + str(run.verdicts)
    assert SECRET not in everything
