"""A scenario that errored, told like a verdict: a one-line cause, the full text, both redacted.

An error (the deployment did not start, a replica never became ready, a response
lacked a value the spec extracts, locust failed, an image is missing) means the
harness reached no verdict. It must never look like an empty green run: it becomes a
record of ``verdicts.json`` with ``validity: error`` and an ``error`` entry, so the
verdict table, JUnit (an ``<error>``) and the HTML report (a card) each show it, and
``harness run`` exits 2.

The cause comes first, in words (``readiness timeout: app-0 was not ready on /readyz
after 2s``); the full message (with a replica's last log lines) follows; the library
traceback is left to ``-v``/``--debug``. Every text goes through ``scrub`` first: an
app that prints its environment when it fails must not put its secrets in a CI log.
"""

from __future__ import annotations

from typing import Any, Iterable

from harness.redaction import scrub

#: validity of a record whose scenario ended in an error before any verdict
ERROR = "error"

#: how each error reads in a report, by class name (nearest class in its hierarchy wins)
LABELS = {
    "ReadinessTimeout": "readiness timeout",
    "DeploymentError": "deploy failed",
    "EngineUnavailable": "no container engine",
    "BackendError": "backend error",
    "ExtractionError": "extraction error",
    "SpecError": "spec error",
    "ImageBuildError": "image build failed",
    "LoadError": "load failed",
    "HarnessError": "harness error",
}

#: longest one-line cause; the full text is kept beside it
MAX_CAUSE = 300


def label(exc: BaseException) -> str:
    """The error's name in words: its nearest labelled class, else 'internal error (TypeName)'."""
    for cls in type(exc).__mro__:
        if cls.__name__ in LABELS:
            return LABELS[cls.__name__]
    return f"internal error ({type(exc).__name__})"


def one_line(text: str, limit: int = MAX_CAUSE) -> str:
    """The first non-empty line of ``text``, cut to ``limit`` characters."""
    line = next((ln.strip() for ln in str(text).splitlines() if ln.strip()), "")
    return line if len(line) <= limit else line[: limit - 1] + "…"


def error_entry(exc: BaseException, secrets: Iterable[str] = (), phase: str = "call") -> dict[str, str]:
    """The ``error`` entry of a record: type, one-line cause, full text and the test phase, all redacted."""
    secrets = list(secrets)
    detail = scrub(str(exc), secrets) or type(exc).__name__
    return {"type": type(exc).__name__, "cause": f"{label(exc)}: {one_line(detail) or type(exc).__name__}",
            "detail": detail, "phase": phase}


def error_record(exc: BaseException, *, nodeid: str, scenario: str, target: str, replicas: int | None, seed: int,
                 secrets: Iterable[str] = (), phase: str = "call", spec: str | None = None) -> dict[str, Any]:
    """A ``verdicts.json`` record for a scenario that reached no verdict; shaped like a verdict's."""
    return {"nodeid": nodeid, "seed": seed, "spec": spec, "scenario": scenario, "target": target, "replicas": replicas,
            "checker": "", "validity": ERROR, "violations": [], "notes": [], "stats": {}, "findings": [],
            "error": error_entry(exc, secrets, phase)}


def is_error(record: dict[str, Any]) -> bool:
    return record.get("validity") == ERROR or isinstance(record.get("error"), dict)


def reason(record: dict[str, Any]) -> str:
    """Why a record is not a pass when it names no violation: its error's cause, or its first note."""
    error = record.get("error")
    if isinstance(error, dict):
        return str(error.get("cause", ""))
    if record.get("validity") not in ("pass", "fail") and record.get("notes"):
        return str(record["notes"][0])
    return ""


def console_text(entry: dict[str, str]) -> str:
    """What the console shows for an error without ``--debug``: the cause, then the rest of the full text."""
    rest = entry.get("detail", "").strip().splitlines()[1:]
    return "\n".join([entry.get("cause", ""), *rest]).rstrip()
