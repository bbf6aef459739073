"""JUnit XML for CI: one testsuite per run, one testcase per scenario verdict.

CI servers (Jenkins, GitLab, GitHub annotations) understand JUnit and nothing of ours,
so a nightly resilience job shows each scenario as a test: a violation is a
``failure`` whose message and text start with the cause of the violations
(``harness.report.causes``: "crash of app-0: nothing lost on app-0; replicas do not share
sessions (12 never seen on another replica)"), the text then holding the whole evidence
and the command that replays it; the kinds the target lacks are the ``not_in_spec``
property; an
unknown verdict is an ``error`` (type ``unknown``): the run could not judge, which is
not a pass, and not proof of a bug either. A scenario that errored before any verdict
(``harness.report.errors``) is an ``error`` of the exception's type, its cause as the
message; one with nothing to check on this target is ``skipped``, with that reason. A finding of the declared model (e.g. a
client-side session still accepted after logout) does not fail a test: it is counted in
the testcase's ``findings`` property and written to its ``system-out``.
"""

from __future__ import annotations

import json
import re
import socket
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any, Iterable, Sequence

from harness import bundled
from harness.report import causes
from harness.redaction import Redactor

# Characters XML 1.0 cannot carry at all (app responses may contain them).
_NOT_XML = re.compile("[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _clean(text: Any) -> str:
    return _NOT_XML.sub("\ufffd", str(text))


def classname(nodeid: str) -> str:
    """``scenarios/test_restart.py::test_x[a]`` -> ``scenarios.test_restart``, as pytest's own JUnit does."""
    module = nodeid.split("::", 1)[0]
    return module.removesuffix(".py").replace("/", ".").replace("\\", ".") or "harness"


def replay_command(nodeid: str, spec: str | None, seed: int) -> str:
    """The command that replays one scenario against the same target spec with the same workload seed:
    the one wording of it, in the terminal, JUnit and HTML alike.

    A bundled scenario of an installed harness has no file in the user's folder: it is named
    as a module of the package (``pytest --pyargs``), which pytest finds from any folder.
    """
    target = f" --target {spec}" if spec else ""
    module, _, test = nodeid.partition("::")
    if bundled.SOURCE_TREE is None and module.startswith("scenarios/") and not Path(module).exists():
        selector = f"--pyargs 'harness.scenarios.{Path(module).stem}::{test}'"
    else:
        selector = f"'{nodeid}'"
    return f"replay: pytest {selector}{target} --seed {seed}"


def replay_hint(record: dict[str, Any]) -> str:
    """``replay_command`` for a record of verdicts.json."""
    return replay_command(str(record.get("nodeid", "?")), record.get("spec"), record.get("seed", 0))


def failure_text(record: dict[str, Any]) -> str:
    """The cause first (``harness.report.causes``), then every violation with its evidence, the notes,
    and the replay command."""
    lines = causes.cause_lines(record)
    for i, v in enumerate(record.get("violations", []), 1):
        where = f" on {v['replica']}" if v.get("replica") else ""
        lines.append(f"{i}. [{v.get('checker', '?')}/{v.get('kind', '?')}]{where} {v.get('message', '')}")
        if v.get("op_ids"):
            lines.append(f"   operations: {', '.join(str(o) for o in v['op_ids'])}")
        if v.get("evidence"):
            lines.append(f"   evidence: {json.dumps(v['evidence'], sort_keys=True, default=str, ensure_ascii=False)}")
    lines += findings_lines(record)
    lines += [f"note: {n}" for n in record.get("notes", [])]
    lines.append(replay_hint(record))
    return "\n".join(lines)


def findings_lines(record: dict[str, Any]) -> list[str]:
    """Findings of the declared model (not violations): kind, where, why, and the operations behind each."""
    lines = []
    for f in record.get("findings", []):
        where = f" on {f['replica']}" if f.get("replica") else ""
        lines.append(f"finding [{f.get('checker', '?')}/{f.get('kind', '?')}]{where}: {f.get('message', '')}")
        if f.get("op_ids"):
            lines.append(f"   operations: {', '.join(str(o) for o in f['op_ids'])}")
    return lines


def _testcase(record: dict[str, Any], name: str, duration: float | None) -> ET.Element:
    case = ET.Element("testcase", classname=_clean(classname(str(record.get("nodeid", "")))), name=_clean(name),
                      time=f"{duration or 0.0:.3f}")
    props = ET.SubElement(case, "properties")
    for key in ("target", "replicas", "seed", "checker", "nodeid"):
        if record.get(key) is not None:
            ET.SubElement(props, "property", name=key, value=_clean(record[key]))
    if causes.not_in_spec(record):
        ET.SubElement(props, "property", name="not_in_spec", value=_clean(", ".join(causes.not_in_spec(record))))
    validity = record.get("validity", "unknown")
    violations = record.get("violations", [])
    if isinstance(record.get("error"), dict):
        entry = record["error"]
        error = ET.SubElement(case, "error", message=_clean(entry.get("cause", "error")),
                              type=_clean(entry.get("type", "error")))
        error.text = _clean(f"{entry.get('cause', '')}\n\n{entry.get('detail', '')}\n{replay_hint(record)}")
    elif record.get("nothing_to_check") and validity == "unknown":
        notes = record.get("notes", [])
        ET.SubElement(case, "skipped", message=_clean(notes[0] if notes else "nothing to check"))
    elif validity == "fail":
        first = violations[0] if violations else {}
        message = first.get("message", "verdict: fail")
        summary = causes.summary(record)
        failure = ET.SubElement(case, "failure",
                                message=_clean(f"{summary}. First violation: {message}" if summary else message),
                                type=_clean(first.get("kind", "violation")))
        failure.text = _clean(failure_text(record))
    elif validity != "pass":
        notes = record.get("notes", [])
        error = ET.SubElement(case, "error", message=_clean(notes[0] if notes else "verdict unknown: no judgement"),
                              type="interrupted" if validity == "interrupted" else "unknown")
        error.text = _clean(failure_text(record))
    findings = record.get("findings", [])
    if findings:
        # JUnit has no "warning": a count CI can read, and the findings where a passing test's output goes.
        ET.SubElement(props, "property", name="findings", value=str(len(findings)))
        if validity == "pass":
            ET.SubElement(case, "system-out").text = _clean("\n".join(findings_lines(record)))
    return case


def _unique_names(records: Sequence[dict[str, Any]]) -> list[str]:
    """Scenario names, made unique within their class: CI servers merge testcases with equal names."""
    seen: dict[tuple[str, str], int] = {}
    names = []
    for r in records:
        name = str(r.get("scenario", "?"))
        key = (classname(str(r.get("nodeid", ""))), name)
        seen[key] = seen.get(key, 0) + 1
        if seen[key] > 1:
            test = str(r.get("nodeid", "")).rpartition("::")[2]
            name = f"{name} ({test} #{seen[key]})"
        names.append(name)
    return names


def junit_xml(records: Sequence[dict[str, Any]], *, suite: str = "harness", durations: Sequence[float | None] = (),
              redactor: Redactor | None = None) -> ET.ElementTree:
    """The JUnit document for one run; ``durations`` are per record (seconds), when known."""
    if redactor is not None:
        records = [redactor.value(r) for r in records]
    failures = sum(r.get("validity") == "fail" for r in records)
    skipped = sum(bool(r.get("nothing_to_check")) and r.get("validity") == "unknown" and not r.get("error")
                  for r in records)
    errors = sum(r.get("validity") not in ("pass", "fail") for r in records) - skipped
    times = [d or 0.0 for d in durations] + [0.0] * (len(records) - len(durations))
    root = ET.Element("testsuites", name=suite, tests=str(len(records)), failures=str(failures), errors=str(errors),
                      time=f"{sum(times):.3f}")
    testsuite = ET.SubElement(root, "testsuite", name=suite, tests=str(len(records)), failures=str(failures),
                              errors=str(errors), skipped=str(skipped), time=f"{sum(times):.3f}",
                              timestamp=time.strftime("%Y-%m-%dT%H:%M:%S"), hostname=socket.gethostname())
    props = ET.SubElement(testsuite, "properties")
    for key, field in (("targets", "target"), ("seeds", "seed")):
        values = sorted({str(r.get(field)) for r in records})
        ET.SubElement(props, "property", name=key, value=_clean(", ".join(values)))
    for record, name, duration in zip(records, _unique_names(records), times):
        testsuite.append(_testcase(record, name, duration))
    ET.indent(root)
    return ET.ElementTree(root)


def write_junit(records: Iterable[dict[str, Any]], path: Path, **kwargs: Any) -> Path:
    """Write ``junit.xml``; keyword arguments as for ``junit_xml``."""
    junit_xml(list(records), **kwargs).write(path, encoding="utf-8", xml_declaration=True)
    return path
