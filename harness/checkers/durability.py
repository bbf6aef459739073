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
A ``list`` recorded with ``own_nonces`` (a prefix) was made in an environment that keeps
its state between runs (``--backend attach``): records whose nonce lacks that prefix are
earlier runs' and are not judged.

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
from bisect import bisect_left
from dataclasses import dataclass
from functools import cached_property
from itertools import accumulate
from typing import Any, Hashable, Iterator

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


def _frozen(data: Any) -> Hashable:
    """``data`` as a hashable value equal to another's exactly when the data are equal (``==``).

    Raises TypeError for data JSON never holds (a set): callers then compare one by one.
    """
    if isinstance(data, dict):
        return frozenset((key, _frozen(value)) for key, value in data.items())
    if isinstance(data, (list, tuple)):
        return (type(data), tuple(_frozen(value) for value in data))
    hash(data)
    return data


class _RecordWrites:
    """One record's writes, indexed by time, so that a read finds the states it may see without a scan
    of every write (a record that several clients update all through a soak has thousands).

    The model (see the module): the states a read over [start, end] may see are those of the
    writes that started before it ended and either are of unknown outcome or were not surely
    replaced before it began. An acknowledged write ``w`` is surely replaced when another
    acknowledged write started after ``w`` ended and ended before the read began; so with ``M``
    the latest start of the acknowledged writes that ended before the read began, the
    acknowledged candidates are those that ended at or after ``M``.
    """

    def __init__(self, writes: list[_Write]) -> None:
        self.writes = writes
        ok = sorted((w for w in writes if w.op.outcome is Outcome.OK), key=lambda w: w.op.end)
        self.ok = ok
        self.ok_ends = [w.op.end for w in ok]
        self.latest_start = list(accumulate((w.op.start for w in ok), max))  # M, by how many ended
        self.longest = max((w.op.end - w.op.start for w in ok), default=0.0)
        unknown = sorted((w for w in writes if w.op.outcome is Outcome.UNKNOWN), key=lambda w: w.op.start)
        self.unknown = unknown
        self.unknown_starts = [w.op.start for w in unknown]
        self.created = min((w.op.end for w in ok if w.op.name == "create"), default=float("inf"))

    def _replaced_before(self, start: float) -> float:
        """M: acknowledged writes that ended before this moment are candidates only if they ended at or after it."""
        done = bisect_left(self.ok_ends, start)
        return self.latest_start[done - 1] if done else float("-inf")

    def _ok_candidates(self, start: float, end: float) -> Iterator[_Write]:
        """The acknowledged writes a read over [start, end] may see, by end time."""
        ok, stop = self.ok, end + self.longest
        for i in range(bisect_left(self.ok_ends, self._replaced_before(start)), len(ok)):
            w = ok[i]
            if w.op.end > stop:
                break
            if w.op.start < end:
                yield w

    def absent_possible(self, start: float) -> bool:
        """Absent may be seen while the create may not yet have applied."""
        return not self.created < start

    def ambiguous(self, start: float, end: float) -> bool:
        """A main-phase read is ambiguous if an unknown write may apply or an ok write overlaps it."""
        if self.unknown_starts and self.unknown_starts[0] < end:
            return True
        ok, stop = self.ok, end + self.longest
        for i in range(bisect_left(self.ok_ends, start), len(ok)):
            w = ok[i]
            if w.op.end > stop:
                return False
            if w.op.start < end:
                return True
        return False

    def explains(self, seen: State, start: float, end: float) -> bool:
        """Whether a read over [start, end] that saw ``seen`` saw the effect of a write it may see."""
        if seen is None and self.absent_possible(start):
            return True
        done = bisect_left(self.ok_ends, start)
        if done and self.ok[done - 1].state == seen:  # the last to end before the read: always a candidate
            return True
        if any(w.state == seen for w in self._ok_candidates(start, end)):
            return True
        started = bisect_left(self.unknown_starts, end)
        if not started:
            return False
        firsts, key = self._unknown_firsts, _key(seen)
        if firsts is not None and key is not _UNFROZEN:
            return key in firsts and firsts[key] < end
        return any(w.state == seen for w in self.unknown[:started])

    @cached_property
    def _unknown_firsts(self) -> dict[Hashable, float] | None:
        """Each state an unknown write sends, and the earliest start of one sending it (None: a state
        does not freeze, so compare one by one)."""
        return _firsts((w.state, w.op.start) for w in self.unknown)

    @cached_property
    def position(self) -> dict[int, int]:
        """Where each write is in ``writes`` (asked only to explain a violation)."""
        return {id(w): i for i, w in enumerate(self.writes)}

    def candidates(self, start: float, end: float) -> list[_Write]:
        """Every write whose effect a read over [start, end] may see, in the history's order."""
        started = bisect_left(self.unknown_starts, end)
        found = list(self._ok_candidates(start, end)) + self.unknown[:started]
        return sorted(found, key=lambda w: self.position[id(w)])

    def first_with(self, seen: State) -> _Write | None:
        """The first write (in the history's order) that sent ``seen``."""
        firsts, key = self._firsts, _key(seen)
        if firsts is not None and key is not _UNFROZEN:
            return firsts.get(key)
        return next((w for w in self.writes if w.state == seen), None)

    @cached_property
    def _firsts(self) -> dict[Hashable, _Write] | None:
        return _firsts((w.state, w) for w in self.writes)

    @cached_property
    def create(self) -> _Write:
        return next(w for w in self.writes if w.op.name == "create")


_UNFROZEN = object()  # what ``_key`` gives for data that does not freeze


def _key(data: Any) -> Hashable:
    """``data`` frozen (``_frozen``), or ``_UNFROZEN`` when it does not freeze."""
    try:
        return _frozen(data)
    except TypeError:
        return _UNFROZEN


def _firsts(pairs: Iterator[tuple[State, Any]]) -> dict[Hashable, Any] | None:
    """Each state's first companion (by frozen state), or None when a state does not freeze."""
    firsts: dict[Hashable, Any] = {}
    for state, companion in pairs:
        key = _key(state)
        if key is _UNFROZEN:
            return None
        firsts.setdefault(key, companion)
    return firsts


def _listed(value: Any) -> dict[str, Any]:
    """A list answer as {id: data}; tolerates a JSON list of {"id", "data"} too."""
    records = (value or {}).get("records") or {}
    if isinstance(records, list):
        return {r["id"]: r.get("data") for r in records}
    return dict(records)


def _observations(op: Operation, known: list[str]) -> Iterator[tuple[str, State]]:
    """(record id, state seen) for an ok read or list; a list omitting a known id (``known``: sorted)
    saw it absent."""
    if op.name == "read" and "id" in op.args:
        value = op.value or {}
        yield op.args["id"], value.get("data") if value.get("found") else None
    elif op.name == "list":
        listed = _listed(op.value)
        for rid in known:
            yield rid, listed.get(rid)


def _at(t: float, t0: float) -> str:
    return f"+{t - t0:.2f}s"


class _Refused:
    """The refused (failed) record writes, by record id: looked up once per unexpected state, built once."""

    def __init__(self, ops: list[Operation]) -> None:
        self.ops = ops

    @cached_property
    def by_id(self) -> dict[Any, list[Operation]]:
        refused: dict[Any, list[Operation]] = {}
        for op in self.ops:
            if op.outcome is Outcome.FAIL and "id" in op.args:
                try:
                    refused.setdefault(op.args["id"], []).append(op)
                except TypeError:  # an id no JSON holds: not a record id
                    continue
        return refused

    def first(self, rid: str, seen: State) -> Operation | None:
        return next((op for op in self.by_id.get(rid, ()) if op.args.get("data") == seen), None)


def _lost_or_unexpected(history: History, t0: float, rid: str, writes: _RecordWrites, read: Operation,
                        seen: State, expected: list[_Write], refused_writes: _Refused) -> Violation:
    """Explain a read that saw none of the candidate states."""
    latest = max((w for w in expected if w.op.outcome is Outcome.OK), key=lambda w: w.op.end, default=None)
    create = writes.create
    when = f"{read.replica} at {_at(read.start, t0)} ({_phase(read)})"
    evidence: dict[str, Any] = {"record": rid, "read": read.id, "seen": seen, "status": read.status}
    older = writes.first_with(seen) if seen is not None else None
    if seen is not None and older is None:
        refused = refused_writes.first(rid, seen)
        source = (f"only the {refused.name} that {refused.replica} refused at {_at(refused.start, t0)} "
                  "sent it" if refused is not None else "no request ever wrote it to this record")
        return Violation(
            RECORDS, "unexpected",
            f"record {rid}: {when} returned data {_show(seen)}; {source}",
            replica=read.replica, op_ids=(read.id,), time=read.start, evidence=evidence,
        )
    if latest is None:  # no acknowledged write it may see: it saw the data of a write sent only after it ended
        assert older is not None
        return Violation(
            RECORDS, "unexpected",
            f"record {rid}: {when} returned data {_show(seen)}, that of the {older.op.name} sent to "
            f"{older.op.replica} at {_at(older.op.start, t0)}, after this read had ended",
            replica=read.replica, op_ids=(older.op.id, read.id), time=read.start, evidence=evidence,
        )
    wrote = f"{latest.op.name} acknowledged by {latest.op.replica} at {_at(latest.op.end, t0)}"
    in_between = describe_faults(faults_between(history, latest.op.end, read.start), t0)
    if seen is None:
        origin = f"created by {create.op.replica} at {_at(create.op.end, t0)}"
        last = "" if latest is create else f", last {wrote} with data {_show(latest.state)}"
        what = f"record {rid} ({origin}{last}) was not found by {when}"
    elif latest.state is None:
        what = f"record {rid}: {wrote}, but {when} still found it, with data {_show(seen)}"
    else:
        assert older is not None
        what = (f"record {rid}: {wrote} set data {_show(latest.state)}, but {when} returned "
                f"{_show(seen)}, the data of the {older.op.name} sent to {older.op.replica} "
                f"at {_at(older.op.start, t0)}")
    return Violation(
        RECORDS, "lost", f"{what}; in between: {in_between}",
        replica=read.replica, op_ids=(latest.op.id, read.id), time=read.start,
        evidence={**evidence, "write": latest.op.id, "expected": latest.state},
    )


def _nonce_of(data: Any) -> str:
    nonce = data.get("nonce") if isinstance(data, dict) else None
    return nonce if isinstance(nonce, str) else ""


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
    writes = {rid: _RecordWrites(ws) for rid, ws in _record_writes(ops).items()}
    known = set(writes)
    in_order = sorted(known)
    refused = _Refused(ops)
    creates = {op.args["data"]["nonce"]: op for op in ops
               if op.name == "create" and isinstance(op.args.get("data"), dict) and "nonce" in op.args["data"]}

    violations: list[Violation] = []
    recovered: set[str] = set()
    judged = skipped = 0
    final_seen: set[str] = set()
    for op in ops:
        if op.outcome is not Outcome.OK or op.name not in ("read", "list"):
            continue
        for rid, seen in _observations(op, in_order):
            record = writes.get(rid)
            if record is None:
                if seen is not None:
                    violations.append(_unknown_id(t0, op, rid))
                continue
            if op.phase != "final" and record.ambiguous(op.start, op.end):
                skipped += 1
                continue
            judged += 1
            if op.phase == "final":
                final_seen.add(rid)
            if record.explains(seen, op.start, op.end):
                continue
            possible = record.candidates(op.start, op.end)
            violations.append(_lost_or_unexpected(history, t0, rid, record, op, seen, possible, refused))
        if op.name == "list":
            own = op.args.get("own_nonces")
            for rid, data in _listed(op.value).items():
                if rid in known or (own and not _nonce_of(data).startswith(own)):
                    continue  # known, or another run's record in an environment that keeps its state
                violation = _stranger(t0, op, rid, data, creates)
                if violation is not None:
                    violations.append(violation)
                else:
                    recovered.add(data["nonce"])

    acknowledged = [op for op in ops if op.name == "create" and op.outcome is Outcome.OK]
    stats = {
        "acknowledged": len(acknowledged),
        "acknowledged_writes": sum(len(record.ok) for record in writes.values()),
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
