"""Finish a run folder: redact everything in it, then write ``junit.xml`` and ``report.html``.

A run folder (``--harness-out``) is what leaves the machine: CI keeps it as an
artifact, people open its report. So before any report is written, every file in it
that holds run data is rewritten redacted, in place: each ``<slug>.history.jsonl``,
each ``<slug>.verdict.json`` and ``verdicts.json``. Redacting is idempotent, so
re-rendering a folder (``harness report FOLDER``) is always safe.

A run folder is self-contained: ``verdicts.json`` names each history relative to the
folder, and a report is made from the folder's own files only, so a copied or moved
folder (an artifact downloaded elsewhere) is re-rendered where it is and the original
is never touched. A history named by an absolute path (written by older versions) is
looked for by its file name in the folder, never at that path. A history that cannot
be found or read is reported as such in the HTML, never a crash.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Iterable, Iterator

from harness import run_folder
from harness.history import History
from harness.report.html import write_html
from harness.report.junit import write_junit
from harness.report.interrupted import interruption, is_mark
from harness.redaction import Redactor, process_redactor
from harness.run_folder import HTML, JUNIT, VERDICTS, find_history, tmp_path, write_atomically, write_json

def _redacted_lines(path: Path, redactor: Redactor) -> Iterator[tuple[str, str]]:
    """Each line of a JSON-lines (or plain text) file, as it is and as it is redacted; a line already
    redacted comes back unchanged, byte for byte."""
    with path.open(encoding="utf-8", errors="replace") as fh:
        for line in fh:
            raw = line.rstrip("\n")
            if not raw.strip():
                yield raw, raw
                continue
            try:
                data = json.loads(raw)
            except json.JSONDecodeError:
                yield raw, redactor.text(raw)
                continue
            redacted = redactor.value(data)
            yield raw, raw if redacted == data else json.dumps(redacted, default=str)


def _rewrite_if_changed(path: Path, redactor: Redactor) -> bool:
    """Rewrite a file redacted, line by line, only when redacting changes it (a history saved by a run
    is redacted already): no temporary file is made for nothing, none is left if interrupted."""
    if all(raw == red for raw, red in _redacted_lines(path, redactor)):
        return False
    tmp = tmp_path(path)
    try:
        with tmp.open("w", encoding="utf-8") as fh:
            for _, red in _redacted_lines(path, redactor):
                fh.write(red + "\n")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return True


def _span(path: Path) -> tuple[float, float] | None:
    """A history's first start and last end."""
    first, last = float("inf"), float("-inf")
    for x in run_folder.events(path):
        if isinstance(x, dict):
            first, last = min(first, x.get("start", first)), max(last, x.get("end", last))
    return (first, last) if first <= last else None


def _redact_lines(path: Path, redactor: Redactor) -> tuple[float, float] | None:
    """Redact a history in place (if it needs it); returns its first start and last end."""
    _rewrite_if_changed(path, redactor)
    return _span(path)


#: Files of a run folder that are redacted as text, with the secrets the histories revealed.
TEXT_FILES = (".json", ".jsonl", ".csv", ".tsv", ".log", ".txt", ".html", ".xml", ".yaml", ".yml")


def _redact_rest(out: Path, redactor: Redactor, done: set[Path]) -> None:
    """Every other text file of the folder (a load scenario's locust outputs and records, say) redacted
    too. HTML pages are searched for known secrets only: their embedded fonts and scripts look random."""
    known_only = Redactor(redactor.known(), min_length=redactor.min_length, shapes=False)
    for path in sorted(out.rglob("*")):
        if path in done or not path.is_file() or path.suffix not in TEXT_FILES or path.name.startswith("."):
            continue
        _rewrite_if_changed(path, known_only if path.suffix == ".html" else redactor)


def _redact_json(path: Path, redactor: Redactor) -> None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        write_atomically(path, redactor.text(path.read_text(encoding="utf-8")))
        return
    write_json(path, redactor.value(data))


def write_reports(out: Path, extra_secrets: Iterable[str] = ()) -> dict[str, Path]:
    """Redact the run folder ``out`` in place and write its JUnit XML and HTML report.

    ``extra_secrets`` are secrets no history shows under a secret-named key: the
    target's database password, secret-named env values. Returns the paths written,
    by name: ``verdicts``, ``junit``, ``html``.
    """
    out = Path(out)
    verdicts = out / VERDICTS
    records: list[dict[str, Any]] = list(run_folder.read_verdicts(out))

    run_folder.remove_stale_tmp(out)
    # First learn every secret of every history, so a token of one scenario that shows up
    # in another one's messages is redacted there too; then rewrite.
    redactor = process_redactor(extra_secrets)
    paths: list[Path | None] = []
    for record in records:
        redactor.collect(record)
        path = find_history(out, record)
        for event in run_folder.events(path) if path is not None else ():
            if isinstance(event, dict) and event.get("type") == "op":
                redactor.collect(event.get("args"))
                redactor.collect(event.get("value"))
        paths.append(path)
        if path is not None:  # named relative to the folder from now on (older runs named absolute paths)
            record["history"] = run_folder.relative(out, path)
    durations: list[float | None] = []
    for path in paths:
        if path is None:
            durations.append(None)
            continue
        span = _redact_lines(path, redactor)
        durations.append(span[1] - span[0] if span else None)
        verdict = run_folder.verdict_beside(path)
        if verdict.is_file():
            _redact_json(verdict, redactor)
    _redact_rest(out, redactor, {p for p in paths if p is not None} | {verdicts, out / JUNIT, out / HTML})

    def histories() -> Iterator[History | str]:
        """One history at a time, as the HTML report renders them."""
        for record, path in zip(records, paths):
            if path is None and is_mark(record):
                yield "the run was stopped by a signal here: no history"
                continue
            if path is None:
                named = record.get("history")
                yield f"history not found: {Path(str(named)).name if named else 'this record names none'}"
                continue
            try:
                yield History.from_jsonl(path)
            except (ValueError, TypeError, KeyError) as exc:
                yield f"history unreadable: {path.name}: {exc}"

    records = [redactor.value(r) for r in records]
    run_folder.write_verdicts(out, records)

    notices = [f"{len(redactor)} secret(s) redacted: each is shown as ‹secret:…›, a short sha256 of it, "
               "so equal secrets show equal."]
    if redactor.too_short:
        notices.append(f"{redactor.too_short} secret(s) shorter than {redactor.min_length} characters were replaced "
                       "only where they stood under a secret-named key, not inside other text.")
    junit = write_junit(records, out / JUNIT, suite=f"harness {out.name}", durations=durations)
    stopped = interruption(records)
    if stopped is not None:  # first: a partial run must not read as a complete one
        notices.insert(0, f"INTERRUPTED by {stopped.get('signal', 'a signal')} at {stopped.get('at', '?')}: only the "
                          f"{stopped.get('finished', '?')} scenario(s) that finished are reported.")
    html = write_html(out / HTML, records, histories(), title=f"harness report: {out.name}", notices=notices)
    return {"verdicts": verdicts, "junit": junit, "html": html}
