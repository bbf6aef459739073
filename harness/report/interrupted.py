"""The "interrupted" mark of a run folder: a run a signal stopped says so in every report.

A folder whose reports list only passes must never be mistaken for a complete, green
run when a signal stopped it halfway. The mark is one more record in ``verdicts.json``,
after the scenarios that finished, with validity ``interrupted``: the verdict table
shows it as a row, JUnit as an ``<error type="interrupted">`` testcase (counted in
``tests``, so CI shows the run as broken), and the HTML report as a card and a notice.
Readers that only know pass, fail and unknown treat it as "not a pass", which is right.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any, Iterable

from harness import run_folder

INTERRUPTED = "interrupted"
NODEID = "harness::interrupted"


def interrupted_record(signal: str, finished: int, selected: int | None = None, target: str = "?") -> dict[str, Any]:
    """The mark: which signal stopped the run, when, and how many scenarios finished before."""
    of = f" of {selected}" if selected else ""
    note = (f"run interrupted by {signal}: {finished}{of} scenario(s) finished and are reported; "
            "the others did not run or did not finish, and have no verdict")
    return {"nodeid": NODEID, "scenario": INTERRUPTED, "target": target, "replicas": "", "seed": "",
            "validity": INTERRUPTED, "violations": [], "notes": [note],
            "interrupted": {"signal": signal, "finished": finished, "selected": selected,
                            "at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")}}


def is_mark(record: dict[str, Any]) -> bool:
    return record.get("validity") == INTERRUPTED and isinstance(record.get("interrupted"), dict)


def interruption(records: Iterable[dict[str, Any]]) -> dict[str, Any] | None:
    """The mark's details if these records carry one, else None."""
    return next((r["interrupted"] for r in records if is_mark(r)), None)


def add_mark(verdicts: Path, signal: str, target: str = "?") -> bool:
    """Append the mark to a written ``verdicts.json`` unless it has one; True when it was added."""
    records = run_folder.read_verdicts(verdicts.parent)
    if interruption(records) is not None:
        return False
    finished = sum(not is_mark(r) for r in records)
    records.append(interrupted_record(signal, finished, target=target))  # type: ignore[arg-type]
    run_folder.write_verdicts(verdicts.parent, records)
    return True
