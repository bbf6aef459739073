"""repro.json: written and read back unchanged; a broken one is refused naming the file and the field."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.checkers.base import Violation
from harness.errors import HarnessError, ReproError
from harness.soak.plan import FaultStep, SoakPlan
from harness.soak.repro import REPRO, read_repro, replay_command, repro_of, write_repro
from harness.vocabulary import FaultName

ORIGINAL = SoakPlan(seed=11, duration=40.0, clients=3, replicas=1, rate=20.0, kinds=("records", "counters"),
                    schedule=(FaultStep(FaultName.PAUSE, 3.5, "0", 1.2), FaultStep(FaultName.CRASH, 9.0, "0"),
                              FaultStep(FaultName.SCALE, 15.0, None, 0.0, 2)))
MINIMAL = SoakPlan(seed=11, duration=14.0, clients=1, replicas=1, rate=20.0, kinds=("records", "counters"),
                   schedule=(FaultStep(FaultName.CRASH, 9.0, "0"),))
LOST = Violation("durability", "lost", "acknowledged record r1 not read back")


def written(tmp_path: Path) -> Path:
    return write_repro(tmp_path / REPRO, repro_of("targets/refapp/memory.yaml", "docker", MINIMAL, ORIGINAL, LOST))


def test_a_repro_reads_back_as_it_was_written(tmp_path: Path) -> None:
    repro = read_repro(written(tmp_path))
    assert repro.plan == MINIMAL and repro.original == ORIGINAL
    assert (repro.target, repro.backend) == ("targets/refapp/memory.yaml", "docker")
    assert repro.signature == {("durability", "lost")} and repro.message == LOST.message
    raw = json.loads((tmp_path / REPRO).read_text())
    assert raw["format"] == 1 and raw["plan"]["schedule"] == [{"fault": "crash", "at": 9.0, "target": "0",
                                                               "hold": 0.0}]
    assert replay_command(tmp_path / REPRO) == f"harness replay {tmp_path / REPRO}"


def test_the_target_is_found_as_given_or_beside_the_repro(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repro = read_repro(written(tmp_path))
    monkeypatch.chdir(tmp_path)
    assert repro.target_path(tmp_path / REPRO) == Path("targets/refapp/memory.yaml")  # not found: as given
    (tmp_path / "keep").mkdir()
    (tmp_path / "keep" / "targets" / "refapp").mkdir(parents=True)
    (tmp_path / "keep" / "targets" / "refapp" / "memory.yaml").write_text("name: x\n")
    assert repro.target_path(tmp_path / "keep" / REPRO) == tmp_path / "keep" / "targets" / "refapp" / "memory.yaml"


def edited(tmp_path: Path, change: object) -> Path:
    path = written(tmp_path)
    raw = json.loads(path.read_text())
    change(raw)  # type: ignore[operator]
    path.write_text(json.dumps(raw))
    return path


@pytest.mark.parametrize(("change", "field", "expected"), [
    (lambda r: r["plan"]["schedule"][0].update(fault="meteor"), "plan.schedule.0.fault", "'crash'"),
    (lambda r: r["plan"].pop("clients"), "plan.clients", "Field required"),
    (lambda r: r["original"].update(duration=-1), "original.duration", "greater than 0"),
    (lambda r: r["plan"]["schedule"][0].update(when=3), "plan.schedule.0.when", "Extra inputs"),
    (lambda r: r.update(backend="cloud"), "backend", "'docker'"),
    (lambda r: r["violation"].pop("kind"), "violation.kind", "Field required"),
    (lambda r: r.pop("target"), "target", "Field required"),
])
def test_a_broken_repro_is_refused_naming_the_file_and_the_field(tmp_path: Path, change: object, field: str,
                                                                expected: str) -> None:
    path = edited(tmp_path, change)
    with pytest.raises(ReproError) as caught:
        read_repro(path)
    text = str(caught.value)
    assert str(path) in text and f"field '{field}'" in text and expected in text


def test_a_file_that_is_no_repro_at_all_is_refused_with_its_name(tmp_path: Path) -> None:
    with pytest.raises(ReproError, match="no such file"):
        read_repro(tmp_path / "gone.json")
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": 1,')
    with pytest.raises(ReproError, match=r"bad.json: not JSON \(line 1"):
        read_repro(bad)
    bad.write_text("[1, 2]")
    with pytest.raises(ReproError, match="expected a JSON object"):
        read_repro(bad)
    newer = edited(tmp_path, lambda r: r.update(format=2))
    with pytest.raises(ReproError, match="field 'format': this harness reads format 1, the file is format 2"):
        read_repro(newer)
    with pytest.raises(HarnessError, match="is a folder"):
        read_repro(tmp_path)


def test_a_secret_in_the_violation_message_is_not_written(tmp_path: Path) -> None:
    leaky = Violation("sessions", "resurrected", "token postgresql://app:hunter2-s3cret@db:5432/app still accepted")
    path = write_repro(tmp_path / REPRO, repro_of("t.yaml", "docker", MINIMAL, ORIGINAL, leaky))
    assert "hunter2-s3cret" not in path.read_text()


def test_replay_refuses_bad_input_with_exit_2_before_deploying_anything(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    def replay(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "harness.cli", "replay", *args], capture_output=True, text=True,
                              cwd=tmp_path, timeout=60, env={**os.environ, "COLUMNS": "200"})

    broken = edited(tmp_path, lambda r: r["plan"].pop("seed"))
    proc = replay(str(broken))
    assert proc.returncode == 2 and "field 'plan.seed'" in proc.stderr and str(broken) in proc.stderr
    missing_target = written(tmp_path)  # names targets/refapp/memory.yaml, absent from tmp_path
    proc = replay(str(missing_target), "--out", str(tmp_path / "out"))
    assert proc.returncode == 2 and "field 'target'" in proc.stderr and "no such file" in proc.stderr
    assert replay(str(missing_target), "--times", "0").returncode == 2  # argparse: at least 1
