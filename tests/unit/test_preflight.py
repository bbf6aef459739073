"""Bad runs refused before anything starts, each message naming the flag the user typed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Iterator

import pytest

from harness import preflight
from harness.cli import parser
from harness.errors import HarnessError
from harness.preflight import Machine, check_replicas, check_target, claim_out, replica_capacity

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _release() -> Iterator[None]:
    yield
    preflight.release_all()


@pytest.mark.parametrize("flag, value", [("--duration", "-5"), ("--parallel", "0"), ("--replicas", "0"),
                                         ("--users", "-1"), ("--duration", "ten")])
def test_a_bad_number_names_the_flag_typed(flag: str, value: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        parser().parse_args(["run", flag, value])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert f"argument {flag}: expected a whole number of at least 1" in err
    assert "--load-duration" not in err


def test_a_folder_as_target_names_the_flag(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("x: 1\n")
    with pytest.raises(HarnessError, match=r"^--target .*: is a folder; expected a target spec file \(YAML\) "
                                           r"\(it holds a\.yaml\)"):
        check_target(tmp_path)
    with pytest.raises(HarnessError, match=r"^--target .*absent\.yaml: no such file"):
        check_target(tmp_path / "absent.yaml")
    check_target(ROOT / "targets" / "refapp" / "durable.yaml")


def test_out_must_be_a_folder_new_or_empty(tmp_path: Path) -> None:
    file = tmp_path / "f"
    file.write_text("x")
    with pytest.raises(HarnessError, match=r"^--out .*/f: is a file; expected a new or empty folder"):
        claim_out(file)
    old = tmp_path / "old"
    old.mkdir()
    (old / "verdicts.json").write_text("[]")
    with pytest.raises(HarnessError, match=r"^--out .*/old: the folder is not empty \(verdicts\.json\)"):
        claim_out(old)
    assert claim_out(tmp_path / "new" / "run").is_dir()  # created, parents too
    empty = tmp_path / "empty"
    empty.mkdir()
    assert claim_out(empty) == empty


def test_out_is_locked_for_the_run_and_freed_after(tmp_path: Path) -> None:
    out = claim_out(tmp_path / "run")
    assert (out / preflight.LOCK).is_file()
    code = (f"import sys; sys.path.insert(0, {str(ROOT)!r})\nfrom harness.preflight import claim_out\n"
            f"claim_out(__import__('pathlib').Path({str(out)!r}))")
    second = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert second.returncode != 0
    assert f"--out {out}: another harness run (pid " in second.stderr and "own --out" in second.stderr
    preflight.release_all()
    assert not (out / preflight.LOCK).exists()
    again = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert again.returncode == 0, again.stderr  # free again, and still empty


def test_a_stale_lock_of_a_killed_run_does_not_block(tmp_path: Path) -> None:
    out = tmp_path / "run"
    out.mkdir()
    (out / preflight.LOCK).write_text("12345")  # a SIGKILLed run's: the kernel dropped its flock
    assert claim_out(out) == out


def test_replica_capacity_comes_from_cpus_and_memory() -> None:
    two_cpus = Machine(cpus=2, memory=24 * 2**30)
    capacity, why = replica_capacity(two_cpus, ready_timeout=30)
    assert capacity == int(2 * 30 / preflight.START_CPU_SECONDS)
    assert "2 CPU(s)" in why and "app.ready_timeout (30s)" in why
    small = Machine(cpus=64, memory=1 * 2**30)
    capacity, why = replica_capacity(small, ready_timeout=30)
    assert capacity == 10 and "GiB of memory available" in why


def test_too_many_replicas_are_refused_with_the_figure() -> None:
    machine = Machine(cpus=2, memory=24 * 2**30)
    check_replicas(3, 1, 30, machine)
    check_replicas(2, 4, 30, machine)
    with pytest.raises(HarnessError) as info:
        check_replicas(200, 1, 30, machine)
    text = str(info.value)
    assert text.startswith("--replicas 200 at once is more than this machine can plausibly start: about 100")
    assert "app.ready_timeout" in text
    with pytest.raises(HarnessError, match=r"^--replicas 30 x --parallel 4 = 120 replicas"):
        check_replicas(30, 4, 30, machine)
    check_replicas(200, 1, 90, machine)  # an app given longer to start may start more


def test_cli_refuses_before_starting_anything(tmp_path: Path) -> None:
    """End to end: exit 2 and one line naming the flag, in about a second, no traceback."""
    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "harness.cli", "run", *args], cwd=ROOT, capture_output=True,
                              text=True, timeout=60, env={"COLUMNS": "300", "PATH": "/usr/bin:/bin"})

    proc = run("--target", str(tmp_path))
    assert proc.returncode == 2 and "--target" in proc.stderr and "is a folder" in proc.stderr
    (tmp_path / "file").write_text("")
    proc = run("--out", str(tmp_path / "file"))
    assert proc.returncode == 2 and f"--out {tmp_path / 'file'}: is a file" in proc.stderr
    proc = run("--replicas", "100000", "--out", str(tmp_path / "r"))
    assert proc.returncode == 2 and "--replicas 100000 at once is more than" in proc.stderr
    assert not (tmp_path / "r").exists()  # refused before the folder was made
    for proc in (run("--duration", "-5"), run("--parallel", "0")):
        assert proc.returncode == 2 and "Traceback" not in proc.stderr


def test_runs_started_in_the_same_second_get_folders_of_their_own(tmp_path: Path) -> None:
    base = tmp_path / "runs" / "20261129-120000"
    assert preflight.claim_default_out(base) == base
    assert preflight.claim_default_out(base) == base.with_name("20261129-120000-2")  # the first one is held
    (tmp_path / "runs" / "20261129-120000-3").mkdir()
    (tmp_path / "runs" / "20261129-120000-3" / "verdicts.json").write_text("{}")  # an earlier run's
    assert preflight.claim_default_out(base) == base.with_name("20261129-120000-4")
    with pytest.raises(HarnessError, match="another harness run"):
        preflight.claim_default_out(base, tries=2)
