"""Durability of records and files: Jepsen's set checker, extended to updates and deletes.

The model: every write the app acknowledged must be visible afterwards, on every
replica. For a record that means its state (its data, or its absence after a delete)
must be the effect of one of the writes that could have been the last one applied:

- an acknowledged write is a candidate unless another acknowledged write to the same
  record started after it ended (and ended before the read began): that one surely
  came later and replaced it;
- a write whose outcome is unknown may take effect at any moment after it started, so
  its effect is always a candidate; it is never required.

A read (or a ``list``) that sees none of the candidate states is a violation:
``lost`` when it sees an absent record, an older state, or a deleted record, and
``unexpected`` when it sees data no request ever wrote to that record. A create whose
outcome is unknown has no id known to the client; it can only appear in a ``list``,
where it is matched by its ``nonce`` and counted as *recovered* (not a violation).

Final reads (phase ``final``, after every fault healed) are always judged. Reads in
the main phase are judged only where they are unambiguous: no write to that record of
unknown outcome started before the read ended and no acknowledged write overlapped it.

Files are simpler (never updated or deleted): an acknowledged upload must download,
from every replica, with the sha256 it was uploaded with (``corrupt`` otherwise).

A pass means no acknowledged write was observed missing or altered in this history;
it does not prove the app is durable: writes never read back were not checked, and
one run covers only the faults it injected. Data is compared for equality, so a
target that rewrites stored data (adds fields, reorders lists) needs its workload to
record what the app returned.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Iterator

from harness.checkers.base import Validity, Verdict, Violation, describe_faults, faults_between, first_time
from harness.checkers.base import judges
from harness.history import History, Operation, Outcome

RECORDS = "records"
FILES = "files"

State = dict[str, Any] | None  # a record's data, or None: absent (never created, or deleted)


@dataclass(frozen=True)
class _Write:
    """One write to one record that may have taken effect, and the state it leaves behind."""

    op: Operation
    state: State


def _show(data: Any, limit: int = 80) -> str:
    """Data as a short, stable string for a message."""
    text = json.dumps(data, sort_keys=True, default=str)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _phase(op: Operation) -> str:
    """How a reading operation is named in a message: "final read", "list", ..."""
    return f"final {op.name}" if op.phase == "final" else op.name


# ---- records --------------------------------------------------------------------


def _record_writes(ops: list[Operation]) -> dict[str, list[_Write]]:
    """Every write per record id that may have applied: ok and unknown, never fail.

    Only acknowledged creates give an id; updates and deletes name their id in args.
    """
    writes: dict[str, list[_Write]] = {}
    for op in ops:
        if op.outcome is Outcome.FAIL:
            continue
        if op.name == "create" and op.outcome is Outcome.OK and (op.value or {}).get("id"):
            writes.setdefault(op.value["id"], []).append(_Write(op, op.args.get("data")))
        elif op.name == "update" and "id" in op.args:
            writes.setdefault(op.args["id"], []).append(_Write(op, op.args.get("data")))
        elif op.name == "delete" and "id" in op.args:
            writes.setdefault(op.args["id"], []).append(_Write(op, None))
    return {rid: ws for rid, ws in writes.items() if any(w.op.name == "create" for w in ws)}


def _candidates(writes: list[_Write], start: float, end: float) -> tuple[list[_Write], bool]:
    """The writes whose effect a read over [start, end] may see, and whether 'absent' may be seen.

    Absent is possible while the create may not yet have applied.
    """
    relevant = [w for w in writes if w.op.start < end]
    done = [w for w in relevant if w.op.outcome is Outcome.OK and w.op.end < start]
    possible = [
        w for w in relevant
        if w.op.outcome is Outcome.UNKNOWN or not any(d.op.start > w.op.end for d in done)
    ]
    create_done = any(w.op.name == "create" for w in done)
    return possible, not create_done


def _ambiguous(writes: list[_Write], start: float, end: float) -> bool:
    """A main-phase read is ambiguous if an unknown write may apply or an ok write overlaps it."""
    return any(
        w.op.start < end and (w.op.outcome is Outcome.UNKNOWN or w.op.end >= start) for w in writes
    )


def _listed(value: Any) -> dict[str, Any]:
    """A list answer as {id: data}; tolerates a JSON list of {"id", "data"} too."""
    records = (value or {}).get("records") or {}
    if isinstance(records, list):
        return {r["id"]: r.get("data") for r in records}
    return dict(records)


def _observations(op: Operation, known: set[str]) -> Iterator[tuple[str, State]]:
    """(record id, state seen) for an ok read or list; a list omitting a known id saw it absent."""
    if op.name == "read" and "id" in op.args:
        value = op.value or {}
        yield op.args["id"], value.get("data") if value.get("found") else None
    elif op.name == "list":
        listed = _listed(op.value)
        for rid in sorted(known):
            yield rid, listed.get(rid)


def _at(t: float, t0: float) -> str:
    return f"+{t - t0:.2f}s"


def _lost_or_unexpected(history: History, t0: float, rid: str, writes: list[_Write], read: Operation,
                        seen: State, expected: list[_Write]) -> Violation:
    """Explain a read that saw none of the candidate states."""
    latest = max((w for w in expected if w.op.outcome is Outcome.OK), key=lambda w: w.op.end, default=None)
    create = next(w for w in writes if w.op.name == "create")
    when = f"{read.replica} at {_at(read.start, t0)} ({_phase(read)})"
    evidence: dict[str, Any] = {"record": rid, "read": read.id, "seen": seen, "status": read.status}
    if seen is not None and not any(w.state == seen for w in writes):
        refused = [op for op in history.operations(RECORDS) if op.outcome is Outcome.FAIL
                   and op.args.get("id") == rid and op.args.get("data") == seen]
        source = (f"only the {refused[0].name} that {refused[0].replica} refused at {_at(refused[0].start, t0)} "
                  "sent it" if refused else "no request ever wrote it to this record")
        return Violation(
            RECORDS, "unexpected",
            f"record {rid}: {when} returned data {_show(seen)}; {source}",
            replica=read.replica, op_ids=(read.id,), time=read.start, evidence=evidence,
        )
    assert latest is not None, "a lost verdict needs an acknowledged write"
    wrote = f"{latest.op.name} acknowledged by {latest.op.replica} at {_at(latest.op.end, t0)}"
    in_between = describe_faults(faults_between(history, latest.op.end, read.start), t0)
    if seen is None:
        origin = f"created by {create.op.replica} at {_at(create.op.end, t0)}"
        last = "" if latest is create else f", last {wrote} with data {_show(latest.state)}"
        what = f"record {rid} ({origin}{last}) was not found by {when}"
    elif latest.state is None:
        what = f"record {rid}: {wrote}, but {when} still found it, with data {_show(seen)}"
    else:
        older = next(w for w in writes if w.state == seen)
        what = (f"record {rid}: {wrote} set data {_show(latest.state)}, but {when} returned "
                f"{_show(seen)}, the data of the {older.op.name} sent to {older.op.replica} "
                f"at {_at(older.op.start, t0)}")
    return Violation(
        RECORDS, "lost", f"{what}; in between: {in_between}",
        replica=read.replica, op_ids=(latest.op.id, read.id), time=read.start,
        evidence={**evidence, "write": latest.op.id, "expected": latest.state},
    )


def _stranger(t0: float, op: Operation, rid: str, data: Any, creates: dict[str, Operation]) -> Violation | None:
    """Judge a listed record whose id no acknowledged create returned: None when it is recovered.

    Such a record is fine only if a create of unknown outcome sent its nonce.
    """
    nonce = data.get("nonce") if isinstance(data, dict) else None
    create = creates.get(nonce) if nonce is not None else None
    if create is not None and create.outcome is Outcome.UNKNOWN and data == create.args["data"]:
        return None
    if create is not None and create.outcome is Outcome.UNKNOWN:
        why = f"sent by a create of unknown outcome on {create.replica}, but with other data than it sent"
    elif create is None:
        why = "whose nonce no create ever sent" if nonce is not None else "without a nonce"
    elif create.outcome is Outcome.FAIL:
        why = f"sent by a create that {create.replica} refused at {_at(create.start, t0)}"
    else:
        why = f"a second copy of record {create.value['id']}"
    message = f"{op.replica} listed record {rid} at {_at(op.start, t0)} ({_phase(op)}), {why}: data {_show(data)}"
    return Violation(RECORDS, "unexpected", message, replica=op.replica, op_ids=(op.id,), time=op.start,
                     evidence={"record": rid, "read": op.id, "seen": data})


def _unknown_id(t0: float, op: Operation, rid: str) -> Violation:
    """A record found under an id that no acknowledged create returned."""
    message = f"{op.replica} found record {rid} at {_at(op.start, t0)}, which no acknowledged create returned"
    return Violation(RECORDS, "unexpected", message, replica=op.replica, op_ids=(op.id,), time=op.start,
                     evidence={"record": rid, "read": op.id})


@judges("records", name=RECORDS)
def check_records(history: History) -> Verdict:
    """Lost, recovered and unexpected records, judged on final reads and unambiguous main reads."""
    ops = history.operations(RECORDS)
    t0 = first_time(history)
    writes = _record_writes(ops)
    known = set(writes)
    creates = {op.args["data"]["nonce"]: op for op in ops
               if op.name == "create" and isinstance(op.args.get("data"), dict) and "nonce" in op.args["data"]}

    violations: list[Violation] = []
    recovered: set[str] = set()
    judged = skipped = 0
    final_seen: set[str] = set()
    for op in ops:
        if op.outcome is not Outcome.OK or op.name not in ("read", "list"):
            continue
        for rid, seen in _observations(op, known):
            if rid not in writes:
                if seen is not None:
                    violations.append(_unknown_id(t0, op, rid))
                continue
            if op.phase != "final" and _ambiguous(writes[rid], op.start, op.end):
                skipped += 1
                continue
            judged += 1
            if op.phase == "final":
                final_seen.add(rid)
            possible, absent_ok = _candidates(writes[rid], op.start, op.end)
            if seen in [w.state for w in possible] or (seen is None and absent_ok):
                continue
            violations.append(_lost_or_unexpected(history, t0, rid, writes[rid], op, seen, possible))
        if op.name == "list":
            for rid, data in _listed(op.value).items():
                if rid in known:
                    continue
                violation = _stranger(t0, op, rid, data, creates)
                if violation is not None:
                    violations.append(violation)
                else:
                    recovered.add(data["nonce"])

    acknowledged = [op for op in ops if op.name == "create" and op.outcome is Outcome.OK]
    stats = {
        "acknowledged": len(acknowledged),
        "acknowledged_writes": sum(w.op.outcome is Outcome.OK for ws in writes.values() for w in ws),
        "unknown_writes": sum(op.outcome is Outcome.UNKNOWN for op in ops if op.name in ("create", "update", "delete")),
        "lost": len({v.evidence["record"] for v in violations if v.kind == "lost"}),
        "recovered": len(recovered),
        "unexpected": sum(v.kind == "unexpected" for v in violations),
        "observations_judged": judged,
        "observations_ambiguous": skipped,
        "unjudged": len(known - final_seen),
    }
    return _verdict(RECORDS, violations, stats, bool(known), bool(final_seen), len(known - final_seen))


def _verdict(name: str, violations: list[Violation], stats: dict[str, Any], written: bool,
             final_read: bool, unjudged: int) -> Verdict:
    """FAIL on a violation; UNKNOWN when acknowledged writes exist but no final read answered."""
    if violations:
        return Verdict(name, Validity.FAIL, tuple(violations), stats=stats)
    if written and not final_read:
        return Verdict(name, Validity.UNKNOWN, notes=("no final read answered: durability not judged",), stats=stats)
    notes = (f"{unjudged} acknowledged {name} had no final read that answered",) if written and unjudged else ()
    return Verdict(name, Validity.PASS, notes=notes, stats=stats)


# ---- files ----------------------------------------------------------------------


def _file_violation(kind: str, message: str, upload: Operation | None, read: Operation, **evidence: Any) -> Violation:
    op_ids = (upload.id, read.id) if upload is not None else (read.id,)
    extra = {"write": upload.id} if upload is not None else {}
    return Violation(FILES, kind, message, replica=read.replica, op_ids=op_ids, time=read.start,
                     evidence={"read": read.id, "status": read.status, **extra, **evidence})


def _judge_upload(t0: float, up: Operation) -> Violation | None:
    """An upload acknowledged with a sha256 other than the one sent was stored corrupt."""
    sent, stored = up.args.get("sha256"), (up.value or {}).get("sha256")
    if stored is None or sent is None or sent == stored:
        return None
    return _file_violation(
        "corrupt", f"file {up.value['id']} uploaded to {up.replica} at {_at(up.start, t0)} with sha256 "
        f"{sent[:12]}… was acknowledged with sha256 {stored[:12]}…", None, up, sent=sent, stored=stored)


def _judge_download(history: History, t0: float, up: Operation | None, read: Operation) -> Violation | None:
    """A download after its upload was acknowledged must find the file with the same sha256."""
    fid = read.args["id"]
    found, sha = bool((read.value or {}).get("found")), (read.value or {}).get("sha256")
    when = f"{read.replica} at {_at(read.start, t0)} ({_phase(read)})"
    if up is None:
        if not found:
            return None
        return _file_violation("unexpected", f"{when} served file {fid}, which no acknowledged upload returned",
                               None, read)
    if read.start < up.end:
        return None  # concurrent with its own upload: either answer is fine
    written = (f"file {fid} ({up.args.get('size')} bytes, sha256 {up.args.get('sha256', '?')[:12]}…) "
               f"acknowledged by {up.replica} at {_at(up.end, t0)}")
    if not found:
        in_between = describe_faults(faults_between(history, up.end, read.start), t0)
        return _file_violation("lost", f"{written} was not found by {when}; in between: {in_between}", up, read)
    if sha != up.args.get("sha256"):
        return _file_violation("corrupt", f"{written} was served by {when} with sha256 {str(sha)[:12]}…",
                               up, read, sent=up.args.get("sha256"), served=sha)
    return None


@judges("files", name=FILES)
def check_files(history: History) -> Verdict:
    """Lost, corrupt and unexpected files, on every download after the upload was acknowledged."""
    ops = history.operations(FILES)
    t0 = first_time(history)
    uploads = {op.value["id"]: op for op in ops
               if op.name == "upload" and op.outcome is Outcome.OK and (op.value or {}).get("id")}
    violations = [v for up in uploads.values() if (v := _judge_upload(t0, up)) is not None]
    judged, final_seen = 0, set()
    for read in ops:
        if read.name != "download" or read.outcome is not Outcome.OK or "id" not in read.args:
            continue
        up = uploads.get(read.args["id"])
        judged += up is not None and read.start >= up.end
        if up is not None and read.phase == "final":
            final_seen.add(read.args["id"])
        if (violation := _judge_download(history, t0, up, read)) is not None:
            violations.append(violation)
    stats = {
        "acknowledged": len(uploads),
        "unknown_uploads": sum(op.name == "upload" and op.outcome is Outcome.UNKNOWN for op in ops),
        "lost": len({v.evidence["write"] for v in violations if v.kind == "lost"}),
        "corrupt": sum(v.kind == "corrupt" for v in violations),
        "unexpected": sum(v.kind == "unexpected" for v in violations),
        "recovered": 0,  # an upload of unknown outcome has no id to download: never observable
        "reads_judged": judged,
        "unjudged": len(set(uploads) - final_seen),
    }
    return _verdict(FILES, violations, stats, bool(uploads), bool(final_seen), stats["unjudged"])
