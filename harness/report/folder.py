"""Finish a run folder: redact everything in it, then write ``junit.xml`` and ``report.html``.

A run folder (``--harness-out``) is what leaves the machine: CI keeps it as an
artifact, people open its report. So before any report is written, every file in it
that holds run data is rewritten redacted, in place: each ``<slug>.history.jsonl``,
each ``<slug>.verdict.json`` and ``verdicts.json``. Redacting is idempotent, so
re-rendering a folder (``harness report FOLDER``) is always safe.

The folder may have moved since the run (an artifact downloaded elsewhere): a history
named by an absolute path that no longer exists is looked for in the folder itself.
A history that cannot be found or read is reported as such in the HTML, never a crash.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Iterable, Iterator

from harness.errors import HarnessError
from harness.history import History
from harness.report.html import write_html
from harness.report.junit import write_junit
from harness.report.redact import Redactor

VERDICTS = "verdicts.json"
JUNIT = "junit.xml"
HTML = "report.html"


def _write_atomically(path: Path, text: str) -> None:
    """Replace a file whole: a crash halfway must not leave half a history behind."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _find_history(out: Path, record: dict[str, Any]) -> Path | None:
    named = record.get("history")
    if not named:
        return None
    path = Path(named)
    candidates = [path if path.is_absolute() else out / path, out / path.name]
    return next((p for p in candidates if p.is_file()), None)


def _events(path: Path) -> Iterator[Any]:
    """Each line parsed as JSON where possible, kept as text where not (a truncated last line).

    Streamed: a load run's history has hundreds of thousands of lines, and the report
    step must not hold them all (nor all histories) at once.
    """
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if not line.strip():
                continue
            try:
                yield json.loads(line)
            except json.JSONDecodeError:
                yield line.rstrip("\n")


def _redact_lines(path: Path, redactor: Redactor) -> tuple[float, float] | None:
    """Rewrite a history redacted, line by line; returns its first start and last end."""
    tmp = path.with_name(f".{path.name}.tmp")
    first, last = float("inf"), float("-inf")
    with tmp.open("w", encoding="utf-8") as fh:
        for x in _events(path):
            if isinstance(x, dict):
                first, last = min(first, x.get("start", first)), max(last, x.get("end", last))
                fh.write(json.dumps(redactor.value(x), default=str) + "\n")
            else:
                fh.write(redactor.text(x) + "\n")
    os.replace(tmp, path)
    return (first, last) if first <= last else None


def _redact_json(path: Path, redactor: Redactor) -> None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        _write_atomically(path, redactor.text(path.read_text(encoding="utf-8")))
        return
    _write_atomically(path, json.dumps(redactor.value(data), indent=2, default=str))


def write_reports(out: Path, extra_secrets: Iterable[str] = ()) -> dict[str, Path]:
    """Redact the run folder ``out`` in place and write its JUnit XML and HTML report.

    ``extra_secrets`` are secrets no history shows under a secret-named key: the
    target's database password, secret-named env values. Returns the paths written,
    by name: ``verdicts``, ``junit``, ``html``.
    """
    out = Path(out)
    verdicts = out / VERDICTS
    if not verdicts.is_file():
        raise HarnessError(f"{verdicts} not found: is {out} a run folder (the --harness-out of a run)?")
    try:
        records: list[dict[str, Any]] = json.loads(verdicts.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise HarnessError(f"{verdicts}: not valid JSON ({exc}); the run may have been interrupted") from None

    # First learn every secret of every history, so a token of one scenario that shows up
    # in another one's messages is redacted there too; then rewrite.
    redactor = Redactor(extra_secrets)
    paths: list[Path | None] = []
    for record in records:
        redactor.collect(record)
        path = _find_history(out, record)
        for event in _events(path) if path is not None else ():
            if isinstance(event, dict) and event.get("type") == "op":
                redactor.collect(event.get("args"))
                redactor.collect(event.get("value"))
        paths.append(path)
    durations: list[float | None] = []
    for path in paths:
        if path is None:
            durations.append(None)
            continue
        span = _redact_lines(path, redactor)
        durations.append(span[1] - span[0] if span else None)
        verdict = path.with_name(path.name.removesuffix(".history.jsonl") + ".verdict.json")
        if verdict.is_file():
            _redact_json(verdict, redactor)

    def histories() -> Iterator[History | str]:
        """One history at a time, as the HTML report renders them."""
        for record, path in zip(records, paths):
            if path is None:
                yield f"history not found: {record.get('history') or 'this record names none'}"
                continue
            try:
                yield History.from_jsonl(path)
            except (ValueError, TypeError, KeyError) as exc:
                yield f"history unreadable: {path.name}: {exc}"

    records = [redactor.value(r) for r in records]
    _write_atomically(verdicts, json.dumps(records, indent=2, default=str))

    notices = [f"{len(redactor)} secret(s) redacted: each is shown as ‹secret:…›, a short sha256 of it, "
               "so equal secrets show equal."]
    if redactor.too_short:
        notices.append(f"{redactor.too_short} secret(s) shorter than {redactor.min_length} characters were replaced "
                       "only where they stood under a secret-named key, not inside other text.")
    junit = write_junit(records, out / JUNIT, suite=f"harness {out.name}", durations=durations)
    html = write_html(out / HTML, records, histories(), title=f"harness report: {out.name}", notices=notices)
    return {"verdicts": verdicts, "junit": junit, "html": html}
