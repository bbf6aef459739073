"""``repro.json``: a failing soak's minimal plan, written so ``harness replay`` runs exactly that again.

It is what a developer pastes into a bug report, so it holds everything the replay needs
besides the target's code: the spec path as it was given, the backend, the minimal plan
(seed, duration, clients, replicas, schedule), the original plan it was shrunk from, and the
violation it reproduces. Its shape (``format`` 1)::

    {"format": 1, "target": "targets/refapp/memory.yaml", "backend": "docker",
     "plan": {...SoakPlan.to_dict()...}, "original": {...},
     "violation": {"checker": "durability", "kind": "lost", "message": "..."}}

Read back with errors that name the file and the field (``plan.schedule.0.fault``) and
what was expected, since a hand-edited reproducer is a normal thing to have.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from harness.checkers.base import Violation
from harness.errors import ReproError
from harness.run_folder import write_json
from harness.soak.plan import SoakPlan
from harness.vocabulary import BackendName, FaultName

#: the file name a soak writes into its run folder when it shrank a failure
REPRO = "repro.json"
FORMAT = 1


@dataclass(frozen=True)
class Repro:
    """A reproducer: replay ``plan`` on ``target`` with ``backend``; it reproduces when the soak fails with
    a violation of ``checker``/``kind``. ``original``: the plan the failing soak ran, before shrinking."""

    target: str
    backend: str
    plan: SoakPlan
    original: SoakPlan
    checker: str
    kind: str
    message: str = ""

    @property
    def signature(self) -> frozenset[tuple[str, str]]:
        """What a replay must show to reproduce it (``harness.soak.shrink.matching``)."""
        return frozenset({(self.checker, self.kind)})

    def to_dict(self) -> dict[str, Any]:
        return {"format": FORMAT, "target": self.target, "backend": self.backend, "plan": self.plan.to_dict(),
                "original": self.original.to_dict(),
                "violation": {"checker": self.checker, "kind": self.kind, "message": self.message}}

    def target_path(self, repro_file: Path) -> Path:
        """The spec to replay: ``target`` as given (relative to the working folder, as the soak was run),
        else relative to the folder holding ``repro_file`` (a reproducer kept beside its spec)."""
        given = Path(self.target)
        if given.is_absolute() or given.exists():
            return given
        beside = repro_file.parent / given
        return beside if beside.exists() else given


def repro_of(target: str | Path, backend: str, plan: SoakPlan, original: SoakPlan, violation: Violation) -> Repro:
    """The reproducer of a shrunk soak; the violation's message is scrubbed of secrets (it may quote a response)."""
    from harness.redaction import scrub

    return Repro(str(target), str(backend), plan, original, violation.checker, violation.kind,
                 scrub(violation.message))


def write_repro(path: Path, repro: Repro) -> Path:
    """Write ``repro`` to ``path`` (whole or not at all: ``run_folder.write_json``)."""
    write_json(path, repro.to_dict())
    return path


def replay_command(path: Path | str) -> str:
    """The command that replays a reproducer: what ``harness soak`` prints and a bug report quotes."""
    return f"harness replay {path}"


class _Step(BaseModel):
    model_config = ConfigDict(extra="forbid")
    fault: FaultName
    at: float = Field(ge=0)
    target: str | None = None
    hold: float = Field(0.0, ge=0)
    replicas: int | None = Field(None, ge=0)


class _Plan(BaseModel):
    model_config = ConfigDict(extra="forbid")
    seed: int
    duration: float = Field(gt=0)
    clients: int = Field(ge=1)
    replicas: int = Field(ge=1)
    schedule: list[_Step] = []
    rate: float | None = Field(None, gt=0)
    kinds: list[str] | None = None
    meta: dict[str, Any] = {}

    def plan(self) -> SoakPlan:
        raw = self.model_dump(mode="json")
        raw["schedule"] = [{k: v for k, v in s.items() if v is not None} for s in raw["schedule"]]
        return SoakPlan.from_dict(raw)


class _Violation(BaseModel):
    checker: str
    kind: str
    message: str = ""


class _Repro(BaseModel):
    model_config = ConfigDict(extra="forbid")
    format: Literal[1]
    target: str = Field(min_length=1)
    backend: BackendName
    plan: _Plan
    original: _Plan
    violation: _Violation


def read_repro(path: Path) -> Repro:
    """Read and check a reproducer; ``ReproError`` names the file, the field and what was expected."""
    try:
        raw = json.loads(path.read_text())
    except FileNotFoundError:
        raise ReproError(f"{path}: no such file; expected a repro.json written by `harness soak`") from None
    except IsADirectoryError:
        raise ReproError(f"{path}: is a folder; expected a repro.json file (the run folder of `harness soak` "
                         f"holds one: {path / REPRO})") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ReproError(f"{path}: cannot be read ({exc})") from None
    except json.JSONDecodeError as exc:
        raise ReproError(f"{path}: not JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})") from None
    if not isinstance(raw, dict):
        raise ReproError(f"{path}: expected a JSON object with format, target, backend, plan, original and "
                         f"violation; found {type(raw).__name__}")
    if "format" in raw and raw["format"] != FORMAT and isinstance(raw["format"], int):
        raise ReproError(f"{path}: field 'format': this harness reads format {FORMAT}, the file is format "
                         f"{raw['format']} (written by another harness version)")
    try:
        checked = _Repro.model_validate(raw)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            field = ".".join(str(p) for p in err["loc"]) or "(top level)"
            got = "" if err["type"] == "missing" else f" (found {json.dumps(err.get('input'))[:80]})"
            problems.append(f"  field '{field}': {err['msg']}{got}")
        raise ReproError(f"{path}: not a valid reproducer\n" + "\n".join(problems)) from None
    v = checked.violation
    return Repro(checked.target, str(checked.backend), checked.plan.plan(), checked.original.plan(),
                 v.checker, v.kind, v.message)
