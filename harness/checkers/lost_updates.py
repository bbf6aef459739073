"""Lost updates: two concurrent updates of one record, both acknowledged with the same version.

The model: when a target's update answers the record's version (``records.update``
extracts ``version``), that version counts the record's writes, as a version column,
Rails' ``lock_version`` or JPA's ``@Version`` do: every applied update raises it. Two
updates that both applied therefore never answer the same version; the second applied
on top of the first and raised it again. Two acknowledged updates of one record, sending
different data, overlapping in time and answering one version mean the app decided the
new version from a read that did not see the other update (a read-modify-write of the
version without a condition), so one of them was silently overwritten though it was
acknowledged: a ``lost-update``. The records checker cannot see it: the data read back
afterwards is the other update's, which may well have been the last one.

What is judged, so that an app without write-counting versions never fails here:

- only updates acknowledged (``ok``) with an integer version; an update of unknown
  outcome, a refused one, or a reply without a version is never one of the pair;
- only pairs that overlap in time (a sequential pair answering one version is either a
  durability loss, judged by the records checker, or not a write counter at all);
- only pairs that sent different data (an app may skip an update that changes nothing
  and keep the version);
- only records whose updates all answered a higher version than their create did (when
  the create answered one): a record whose version an update leaves where the create put
  it does not count writes (a timestamp within the same second); it is left unjudged and
  counted in the stats.

The version must count writes: a timestamp of one-second resolution extracted as
``version`` would make two concurrent updates in the same second look lost. The
operation table says so where it names ``version`` (``harness.operation_table``). A hash
or a random tag differs whenever the data does, so it never makes two updates look lost.

Judging a prefix of a running history (a soak's ``--fail-fast``) finds nothing the whole
history would not: a violation is two acknowledged updates and the create before them,
and no later operation changes what they answered.

A target whose updates answer no version has nothing judged here: the verdict passes
with a note saying so. A pass does not prove updates are never lost: only updates that
overlapped were compared, and only where the app said which version it wrote.

Cost: one pass over the records' operations; only a record that answered some version twice
is sorted (O(k log k) for its k updates) and compared.
"""

from __future__ import annotations

from collections import defaultdict

from harness.checkers.base import Validity, Verdict, Violation, first_time, judges
from harness.history import History, Operation, Outcome

NAME = "lost-updates"
RECORDS = "records"


def _counts_writes(versions: list[int], created: int | None) -> bool:
    """Whether a record's acknowledged versions can count its writes: each above the create's, when it
    answered one (see the module docstring)."""
    return created is None or min(versions) > created


def _lost(rid: str, version: int, same: list[Operation], t0: float) -> Violation | None:
    """One violation for the updates of ``rid`` that answered ``version``, or None when no two overlap."""
    pairs = [(a, b) for i, a in enumerate(same) for b in same[i + 1:]
             if a.start < b.end and b.start < a.end and a.args.get("data") != b.args.get("data")]
    if not pairs:
        return None
    ops = sorted({op.id: op for pair in pairs for op in pair}.values(), key=lambda op: op.start)
    said = "; ".join(f"the update sent to {op.replica} at +{op.start - t0:.2f}s (acknowledged at "
                     f"+{op.end - t0:.2f}s)" for op in ops)
    message = (f"record {rid}: {len(ops)} concurrent updates with different data were all acknowledged with "
               f"version {version}: {said}; each was written over a version that did not count the others, so "
               f"all but one were silently overwritten")
    return Violation(NAME, "lost-update", message, replica=ops[-1].replica, op_ids=tuple(op.id for op in ops),
                     time=ops[0].start, evidence={"record": rid, "version": version,
                                                  "updates": [op.id for op in ops]})


def _versions(ops: list[Operation]) -> tuple[dict[str, int | None], dict[str, list[Operation]]]:
    """Each acknowledged create's version, and each record's acknowledged updates with an integer version.

    Keeps the operations themselves, no tuple per operation: a million new objects would make
    the garbage collector walk the whole history several times over."""
    created: dict[str, int | None] = {}
    updates: dict[str, list[Operation]] = defaultdict(list)
    ok = Outcome.OK
    for op in ops:
        value = op.value
        if op.outcome is not ok or type(value) is not dict:
            continue
        version = value.get("version")
        if type(version) is not int:  # absent, text, a bool: not a version that counts
            version = None
        if op.name == "update":
            rid = op.args.get("id")
            if rid is not None and version is not None:
                updates[rid].append(op)
        elif op.name == "create" and value.get("id"):
            created[value["id"]] = version
    return created, updates


@judges(RECORDS, name=NAME)
def check_lost_updates(history: History) -> Verdict:
    """Concurrent acknowledged updates of one record that answered the same version."""
    created, updates = _versions(history.operations(RECORDS))
    t0: float | None = None
    violations: list[Violation] = []
    repeated = not_counters = 0
    for rid, acknowledged in updates.items():
        versions = [op.value["version"] for op in acknowledged]
        if len(set(versions)) == len(versions):
            continue  # every version answered once: nothing lost here
        repeated += 1
        if not _counts_writes(versions, created.get(rid)):
            not_counters += 1
            continue
        by_version: dict[int, list[Operation]] = defaultdict(list)
        for version, op in zip(versions, acknowledged):
            by_version[version].append(op)
        for version, same in by_version.items():
            if len(same) > 1:
                t0 = first_time(history) if t0 is None else t0
                if (violation := _lost(rid, version, same, t0)) is not None:
                    violations.append(violation)

    stats = {
        "updates_with_version": sum(len(u) for u in updates.values()),
        "records": len(updates),
        "records_with_a_repeated_version": repeated,
        "records_not_write_counters": not_counters,
        "lost_updates": sum(len(v.op_ids) - 1 for v in violations),
    }
    if violations:
        return Verdict(NAME, Validity.FAIL, tuple(violations), stats=stats)
    notes: tuple[str, ...] = ()
    if not updates:
        notes = ("no acknowledged update answered a version: lost updates not judged",)
    elif not_counters:
        notes = ((f"{not_counters} records' versions do not count writes (an update answered one no higher "
                  "than the create's): not judged for lost updates"),)
    return Verdict(NAME, Validity.PASS, notes=notes, stats=stats)
