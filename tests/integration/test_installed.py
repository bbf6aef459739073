"""The harness as a team installs it: a wheel built from the project, in a fresh virtual
environment, run from an empty folder with no source tree on ``sys.path``.

One wheel and one environment for the module (about 25 s on an idle machine: 3 s to build
the wheel, 4 s to create the environment, 15 s to install the wheel and its dependencies,
pinned to the versions of the project's own environment so that pip takes the files it
fetched for that one from its cache and resolves nothing new).
The spec is a team's: it names an image already built (the reference app's, built by the
``images`` fixture) and carries its operations in a file beside it.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from .conftest import labelled

pytestmark = pytest.mark.docker
ROOT = Path(__file__).resolve().parents[2]
OPERATIONS = ROOT / "targets" / "refapp" / "parts" / "operations.yaml"

#: a team's spec: an image it built itself, no build section, no source tree of the harness's
SPEC = """\
extends: parts/operations.yaml
name: my-app
app:
  image: harness-refapp:latest
  port: 8000
  readiness_path: /readyz
  env:
    STORAGE: durable
    DATABASE_URL: "{postgres.url}"
    REDIS_URL: "{redis.url}"
dependencies:
  postgres: {}
  redis:
    persistence: true
"""


@dataclass(frozen=True)
class Ran:
    pid: int  # the harness process: its containers, networks and volumes carry it in a label
    returncode: int
    stdout: str
    stderr: str


@dataclass(frozen=True)
class Installed:
    venv: Path
    folder: Path  # an empty folder outside the source tree: the working directory of every command

    def run(self, program: str, *args: str, timeout: float = 600) -> Ran:
        # nothing of the caller's environment may point back at the source tree
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
        env.update(COLUMNS="200", PATH=f"{self.venv / 'bin'}{os.pathsep}{env.get('PATH', '')}")
        with subprocess.Popen([str(self.venv / "bin" / program), *args], cwd=self.folder, env=env, text=True,
                              stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as proc:
            try:
                stdout, stderr = proc.communicate(timeout=timeout)
            except subprocess.TimeoutExpired:
                proc.kill()  # the harness's reaper removes what it deployed
                raise
        return Ran(proc.pid, proc.returncode, stdout, stderr)


def _step(*args: str, timeout: float = 600) -> None:
    proc = subprocess.run(list(args), capture_output=True, text=True, timeout=timeout, check=False)
    assert proc.returncode == 0, f"{' '.join(args)}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"


def _source_copy(dest: Path) -> Path:
    """The files a clone of the repository holds (committed or new, not ignored): what a git URL install builds."""
    listed = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"], cwd=ROOT,
                            capture_output=True, check=True).stdout.decode().split("\0")
    for name in filter(None, listed):
        src = ROOT / name
        if src.is_file():  # a file deleted in the work tree is not there for a build either
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / name)
    return dest


def _pins() -> str:
    """The project environment's versions, as pip constraints (editable and direct-URL installs left out)."""
    frozen = subprocess.run([sys.executable, "-m", "pip", "freeze", "--exclude-editable"], capture_output=True,
                            text=True, check=True).stdout
    return "\n".join(line for line in frozen.splitlines() if re.match(r"^[A-Za-z0-9._-]+==[^ ]+$", line)) + "\n"


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Installed]:
    base = tmp_path_factory.mktemp("installed")
    source = _source_copy(base / "source")
    dist = base / "dist"
    _step(sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(dist), str(source))
    wheel = next(dist.glob("persistence_harness-*.whl"))
    venv = base / "venv"
    _step(sys.executable, "-m", "venv", str(venv))
    constraints = base / "constraints.txt"
    constraints.write_text(_pins())
    # --no-compile: a module is compiled when first imported instead (saves about 6 s of the 20)
    _step(str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--no-compile", "-c", str(constraints),
         str(wheel))
    shutil.rmtree(source)  # gone before anything runs: nothing can read the copy either
    # a project's own pytest settings, above the environment as when it lives in the project's .venv:
    # `harness run` must not take them (it would only collect, and judge nothing)
    (base / "pyproject.toml").write_text('[tool.pytest.ini_options]\naddopts = "--collect-only"\n')
    folder = base / "empty"
    (folder / "parts").mkdir(parents=True)
    shutil.copy(OPERATIONS, folder / "parts" / "operations.yaml")
    (folder / "spec.yaml").write_text(SPEC)
    yield Installed(venv, folder)
    shutil.rmtree(base, ignore_errors=True)  # the environment is some 120 MB


def test_the_installed_harness_runs_from_its_own_package(installed: Installed) -> None:
    probe = ("import json, sys, harness, harness.bundled as b\n"
             "print(json.dumps({'harness': harness.__file__, 'path': sys.path, 'tree': str(b.SOURCE_TREE),\n"
             "                  'scenarios': str(b.SCENARIOS), 'locustfile': str(b.LOCUSTFILE),\n"
             "                  'target': str(b.default_target())}))")
    proc = installed.run("python", "-c", probe)
    assert proc.returncode == 0, proc.stderr
    found = json.loads(proc.stdout)
    site = installed.venv / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}" / "site-packages"
    assert Path(found["harness"]).is_relative_to(site), found
    assert not any(p and Path(p).resolve().is_relative_to(ROOT) for p in found["path"]), found["path"]
    assert found["tree"] == "None" and found["target"] == "None"
    assert Path(found["scenarios"]) == site / "harness" / "scenarios"
    assert Path(found["locustfile"]) == site / "harness" / "locust" / "locustfile.py"
    assert {p.name for p in Path(found["scenarios"]).glob("test_*.py")} == \
        {p.name for p in (ROOT / "scenarios").glob("test_*.py")}
    assert Path(found["locustfile"]).read_bytes() == (ROOT / "locustfile.py").read_bytes()


def test_check_spec_and_a_clear_error_without_target(installed: Installed) -> None:
    proc = installed.run("harness", "check-spec", "spec.yaml")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "1 spec(s) valid" in proc.stdout and "login: POST /sessions/login" in proc.stdout

    proc = installed.run("harness", "run")
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "no --target given" in proc.stderr and "harness run --target my-app.yaml" in " ".join(proc.stderr.split())


def test_shipped_image_files_match_the_built_images(images: None, installed: Installed) -> None:
    """The Dockerfiles ship in the wheel byte for byte: the images the source tree built are up to date."""
    proc = installed.run("harness", "images")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "all images up to date" in proc.stderr, proc.stderr


def test_a_restart_scenario_from_an_empty_folder(images: None, docker_engine: Any, installed: Installed) -> None:
    proc = installed.run("harness", "run", "--target", "./spec.yaml", "--suite", "restart", "--", "-k", "crash")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    runs = list((installed.folder / "runs").iterdir())  # the default --out: runs/<time> in the current folder
    assert len(runs) == 1, runs
    verdicts = json.loads((runs[0] / "verdicts.json").read_text())
    assert [(v["scenario"], v["validity"]) for v in verdicts] == [("state survives crash", "pass")]
    assert (runs[0] / "junit.xml").is_file() and (runs[0] / "report.html").is_file()
    assert labelled(docker_engine, proc.pid) == []


def test_a_load_scenario_from_an_empty_folder(images: None, docker_engine: Any, installed: Installed) -> None:
    out = installed.folder / "load-run"
    proc = installed.run("harness", "run", "--target", "./spec.yaml", "--suite", "load", "--duration", "5",
                         "--users", "10", "--out", str(out), "--", "-k", "not crash and not restart")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    verdicts = json.loads((out / "verdicts.json").read_text())
    assert [(v["scenario"], v["validity"]) for v in verdicts] == [("rate-limit under load", "pass")]
    summary = json.loads(next(out.glob("*.load/summary.json")).read_text())
    assert summary["duration"] == 5 and summary["responses"] > 0 and summary["locust"]["failures"] == 0, summary
    assert labelled(docker_engine, proc.pid) == []


def test_the_pytest_form_finds_the_bundled_suites(installed: Installed) -> None:
    proc = installed.run("pytest", "--pyargs", "harness.scenarios", "--target", "spec.yaml", "-m", "restart",
                         "--collect-only", "-q", "-p", "no:cacheprovider")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    collected = [line for line in proc.stdout.splitlines() if "::test_" in line]
    assert len(collected) == 5 and all("test_restart.py::test_state_survives[" in c for c in collected), proc.stdout
    # the replay line of an installed harness names a bundled scenario as a module (report/junit.py)
    proc = installed.run("pytest", "--pyargs", "harness.scenarios.test_restart::test_state_survives[crash]",
                         "--target", "spec.yaml", "--collect-only", "-q", "-p", "no:cacheprovider")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    [only] = [line for line in proc.stdout.splitlines() if "::test_" in line]
    assert only.endswith("harness/scenarios/test_restart.py::test_state_survives[crash]"), proc.stdout
