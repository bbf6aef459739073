"""The run folder: its file names, their layout and JSON shapes, read and written here only.

A run folder (``harness run --out``, pytest's ``--harness-out``) is what a run leaves
behind and what CI keeps. Its layout::

    verdicts.json              one record per scenario, in test order (``Record``), then the
                               interrupted mark when a signal stopped the run
    verdicts.<worker>.json     a pytest-xdist worker's records, merged into verdicts.json
                               by the controller at the end of the session, then removed
    <slug>.history.jsonl       the history of one scenario, one event per line, redacted
    <slug>.verdict.json        that scenario's record, as in verdicts.json
    <slug>.load/               a load scenario's locust reports, records and summary
    history.jsonl, soak.json   a soak's folder (``harness soak``): its history, streamed as it grows,
                               and its plan, steps done, verdict and figures; verdicts.json holds its
                               one record
    junit.xml, report.html     the reports, rendered from the files above
    .<name>.tmp                a file being replaced whole (left only by a kill)

``<slug>`` is the scenario's pytest node id with everything but ``[A-Za-z0-9_.-]``
turned into ``_``. A record names its history relative to the folder, so a copied
or moved folder is read from its own files.

The plugin writes the folder and the CLI and the report step read it through this
module; the plugin hands the CLI an error's cause as a field of pytest's report
(``ERROR_PROPERTY`` in ``user_properties``), never as text to be parsed again.
This module knows the history's file format and nothing of checkers or reports.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any, Iterable, Iterator, Protocol, TypedDict

from harness.errors import HarnessError
from harness.history import Event, History

VERDICTS = "verdicts.json"
JUNIT = "junit.xml"
HTML = "report.html"
HISTORY_SUFFIX = ".history.jsonl"
VERDICT_SUFFIX = ".verdict.json"
LOAD_SUFFIX = ".load"
TMP_SUFFIX = ".tmp"
#: a soak's history (streamed as the soak runs) and its plan, steps done and figures (``harness soak``)
SOAK_HISTORY = "history.jsonl"
SOAK = "soak.json"
#: a pytest-xdist worker's part of verdicts.json: ``verdicts.gw0.json``, ...
PART_PATTERN = "verdicts.gw*.json"

#: the key in a pytest report's ``user_properties`` under which the plugin gives an error's cause
#: (redacted, one line) to ``harness run``: a field, serialised by pytest-xdist like the report
ERROR_PROPERTY = "harness_error"


class ErrorEntry(TypedDict):
    """The ``error`` of a record whose scenario reached no verdict (``harness.report.errors``)."""

    type: str  # the exception's class name, e.g. ReadinessTimeout, LoadError
    cause: str  # one line, in words: "load failed: locust exited with code 2"
    detail: str  # the full message, redacted
    phase: str  # setup, call or teardown


class Record(TypedDict, total=False):
    """One entry of verdicts.json (and of a ``<slug>.verdict.json``).

    A verdict's record is ``Verdict.to_dict()`` with the scenario's names around it; an
    error's has ``validity: error`` and ``error``; the interrupted mark has ``validity:
    interrupted`` and ``interrupted``. Readers treat unknown keys as absent.
    """

    nodeid: str
    seed: int | str
    scenario: str
    target: str
    replicas: int | str | None
    checker: str
    validity: str  # pass, fail, unknown, error, interrupted
    violations: list[dict[str, Any]]
    notes: list[str]
    stats: dict[str, Any]
    findings: list[dict[str, Any]]
    nothing_to_check: bool
    #: the violations grouped by cause (``harness.checkers.causes``): ``summary``, ``faults``, ``groups``;
    #: absent when the verdict has no violation
    causes: dict[str, Any]
    not_in_spec: list[str]  # state kinds no checker found an operation of, while others judged
    history: str  # the history file, relative to the folder
    error: ErrorEntry
    load: dict[str, Any]  # a load scenario's figures; ``report``: its locust report, relative to the folder
    interrupted: dict[str, Any]  # signal, finished, selected, at


class Redacting(Protocol):
    """What writing needs of a redactor (``harness.redaction.Redactor``)."""

    def value(self, data: Any) -> Any: ...

    def event(self, event: Event) -> Event: ...


# ---- names ---------------------------------------------------------------------------


def slug(nodeid: str) -> str:
    """A scenario's file-name stem, from its pytest node id."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", nodeid)


def history_path(out: Path, name: str) -> Path:
    return out / f"{name}{HISTORY_SUFFIX}"


def verdict_path(out: Path, name: str) -> Path:
    return out / f"{name}{VERDICT_SUFFIX}"


def verdict_beside(history: Path) -> Path:
    """The verdict file written with a history."""
    return history.with_name(history.name.removesuffix(HISTORY_SUFFIX) + VERDICT_SUFFIX)


def load_folder(out: Path, name: str) -> Path:
    """Where a load scenario's locust outputs go."""
    return out / f"{name}{LOAD_SUFFIX}"


def part_path(out: Path, worker: str) -> Path:
    return out / f"verdicts.{worker}.json"


def tmp_path(path: Path) -> Path:
    return path.with_name(f".{path.name}{TMP_SUFFIX}")


# ---- writing -------------------------------------------------------------------------


def write_atomically(path: Path, text: str) -> None:
    """Replace a file whole: a crash halfway must not leave half a file behind."""
    tmp = tmp_path(path)
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)  # an interrupt between the two: no stray file


def _dumps(data: Any) -> str:
    return json.dumps(data, indent=2, default=str)


def write_verdicts(out: Path, records: Iterable[Record]) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    path = out / VERDICTS
    write_atomically(path, _dumps(list(records)))
    return path


def write_json(path: Path, data: Any) -> None:
    """A JSON file of the folder (a verdict file, verdicts.json rewritten redacted), replaced whole."""
    write_atomically(path, _dumps(data))


def write_part(out: Path, worker: str, records: Iterable[Record]) -> Path:
    """A pytest-xdist worker's records, for the controller to merge."""
    out.mkdir(parents=True, exist_ok=True)
    path = part_path(out, worker)
    write_atomically(path, _dumps(list(records)))
    return path


def take_parts(out: Path) -> list[Record]:
    """Every worker's records, read and removed (the controller merges them into verdicts.json)."""
    records: list[Record] = []
    for part in sorted(out.glob(PART_PATTERN)):
        records += json.loads(part.read_text(encoding="utf-8"))
        part.unlink()
    return records


def in_test_order(records: Iterable[Record]) -> list[Record]:
    return sorted(records, key=lambda r: str(r.get("nodeid", "")))


def save_scenario(out: Path, name: str, history: History, record: Record, redactor: Redacting) -> Path:
    """Write one scenario's history (JSON lines) and record, both redacted as they are written.

    Never afterwards: a run folder never holds a raw history. Returns the history's path.
    """
    out.mkdir(parents=True, exist_ok=True)
    path = history_path(out, name)
    history.to_jsonl(path, redactor=redactor)
    write_json(verdict_path(out, name), redactor.value(record))
    return path


def soak_history_path(out: Path) -> Path:
    """Where a soak streams its history, redacted, as it grows."""
    return out / SOAK_HISTORY


def save_soak(out: Path, record: Record, soak: dict[str, Any], redactor: Redacting) -> None:
    """Write a soak's record (verdicts.json, one record naming its history) and ``soak.json`` (the plan,
    the steps done, the verdict, the figures), both redacted; the history is already in the folder."""
    out.mkdir(parents=True, exist_ok=True)
    write_verdicts(out, [redactor.value(record)])
    write_json(out / SOAK, redactor.value(soak))


def remove_stale_tmp(out: Path) -> None:
    """Temporary files a killed earlier step left (``.<name>.tmp``): never data, always partial."""
    for stale in out.rglob(f".*{TMP_SUFFIX}"):
        if stale.is_file():
            stale.unlink(missing_ok=True)


# ---- reading -------------------------------------------------------------------------


def read_verdicts(out: Path) -> list[Record]:
    """The records of a run folder; a clear error when ``out`` is not one or its verdicts.json is cut short."""
    path = out / VERDICTS
    if not path.is_file():
        raise HarnessError(f"{path} not found: is {out} a run folder (the --harness-out of a run)?")
    try:
        records = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise HarnessError(f"{path}: not valid JSON ({exc}); the run may have been interrupted") from None
    if not isinstance(records, list):
        raise HarnessError(f"{path}: expected a JSON list of records, found {type(records).__name__}")
    return records


def read_verdicts_if_any(out: Path) -> list[Record]:
    """The records, or none when the run ended before writing them."""
    return read_verdicts(out) if (out / VERDICTS).is_file() else []


def find_history(out: Path, record: Record) -> Path | None:
    """The history a record names, looked for inside the folder only.

    Never outside it: not at an absolute path (written by older versions; the file name is
    looked for in the folder instead), not through "..".
    """
    named = record.get("history")
    if not named:
        return None
    path = Path(named)
    candidates = [out / path.name] if path.is_absolute() or ".." in path.parts else [out / path, out / path.name]
    return next((p for p in candidates if p.is_file()), None)


def relative(out: Path, path: Path) -> str:
    """How a record names a file of the folder."""
    return path.relative_to(out).as_posix()


def events(path: Path) -> Iterator[Any]:
    """Each line of a history parsed as JSON where possible, kept as text where not (a truncated last line).

    Streamed: a load run's history has hundreds of thousands of lines.
    """
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if not line.strip():
                continue
            try:
                yield json.loads(line)
            except json.JSONDecodeError:
                yield line.rstrip("\n")


def error_cause(report: object) -> str | None:
    """The cause of an error the plugin gave a pytest report (``ERROR_PROPERTY``), else None."""
    return next((str(v) for k, v in getattr(report, "user_properties", None) or () if k == ERROR_PROPERTY), None)


__all__ = ["ERROR_PROPERTY", "HISTORY_SUFFIX", "HTML", "JUNIT", "SOAK", "SOAK_HISTORY", "VERDICTS", "VERDICT_SUFFIX",
           "ErrorEntry", "Record",
           "error_cause", "events", "find_history", "in_test_order", "load_folder", "read_verdicts",
           "read_verdicts_if_any", "relative", "remove_stale_tmp", "save_scenario", "save_soak", "slug",
           "soak_history_path", "take_parts",
           "verdict_beside", "write_atomically", "write_json", "write_part", "write_verdicts"]
