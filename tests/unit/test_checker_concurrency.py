"""The state checkers on hand-written CONCURRENT histories, as a soak's clients make them.

Several clients at once: one record updated from two replicas at the same moment, one counter
incremented by three clients while a fourth reads it, a session logged out on one replica while
others read it, a download racing its upload. Each request takes effect at one instant inside
its [start, end] (a correct app behind a shared store), and one whose outcome is unknown may take
effect at any moment after it started, or never. For each checker: a history a correct app can
produce, which must pass, and one no order of effects explains, which must fail.

The second half checks the indexed checkers against the plain definition of their model (every
write, every increment, looked at for every read) on random concurrent histories.
"""

from __future__ import annotations

import random
from typing import Any

from harness.checkers.base import Validity
from harness.checkers.counters import check_counters
from harness.checkers.durability import check_files, check_records
from harness.checkers.fail_loud import check_fail_loud
from harness.checkers.sessions import check_sessions
from harness.history import History, Operation, Outcome
from tests.unit.histories import OK, UNKNOWN, HistoryBuilder

T = 1000.0


def at(t: float) -> float:
    return T + t


# ---- records: updates of one record from several replicas at once ---------------------------------


class Records(HistoryBuilder):
    def __init__(self) -> None:
        super().__init__("records")

    def create(self, replica: str, rid: str, start: float, end: float) -> Operation:
        return self.op("create", replica, OK, {"data": {"nonce": rid, "v": 0}}, {"id": rid},
                       at=at(start), duration=end - start)

    def update(self, replica: str, rid: str, v: int, start: float, end: float, outcome: Outcome = OK) -> Operation:
        return self.op("update", replica, outcome, {"id": rid, "data": {"nonce": rid, "v": v}}, {},
                       at=at(start), duration=end - start)

    def read(self, replica: str, rid: str, v: int | None, start: float, end: float, phase: str = "main") -> Operation:
        value = {"found": True, "data": {"nonce": rid, "v": v}} if v is not None else {"found": False}
        return self.op("read", replica, OK, {"id": rid}, value, phase=phase, at=at(start), duration=end - start)


def concurrent_updates() -> Records:
    """Two replicas update r1 at once (1 and 2 overlap), then a third update (3) starts after both ended."""
    b = Records()
    b.create("app-0", "r1", 0.0, 0.1)
    b.update("app-0", "r1", 1, 1.0, 1.5)
    b.update("app-1", "r1", 2, 1.2, 1.4)
    return b


def test_records_concurrent_updates_either_order_passes() -> None:
    b = concurrent_updates()
    b.read("app-2", "r1", 0, 1.1, 1.3)                 # during both: neither applied yet
    b.read("app-2", "r1", 1, 2.0, 2.1, phase="final")  # both ended: 2 applied first, then 1
    b.read("app-0", "r1", 1, 2.2, 2.3, phase="final")
    b.read("app-1", "r1", 1, 2.4, 2.5, phase="final")
    verdict = check_records(b.history)
    assert verdict.ok, verdict.explain()


def test_records_concurrent_updates_the_other_order_passes_too() -> None:
    b = concurrent_updates()
    for replica in ("app-0", "app-1", "app-2"):
        b.read(replica, "r1", 2, 2.0, 2.1, phase="final")
    assert check_records(b.history).ok


def test_records_state_both_concurrent_updates_replaced_fails() -> None:
    """Either concurrent update may have applied last, but the create's data was replaced by both:
    a read after both ended that still sees it lost them."""
    b = concurrent_updates()
    b.read("app-0", "r1", 1, 2.0, 2.1, phase="final")
    b.read("app-1", "r1", 0, 2.2, 2.3, phase="final")  # the create's data: replaced by both updates
    verdict = check_records(b.history)
    assert verdict.validity is Validity.FAIL
    [violation] = verdict.violations
    assert violation.kind == "lost" and violation.replica == "app-1"


def test_records_update_started_after_both_ended_replaces_them() -> None:
    b = concurrent_updates()
    b.update("app-2", "r1", 3, 1.6, 1.7)
    b.read("app-0", "r1", 3, 2.0, 2.1, phase="final")
    b.read("app-1", "r1", 2, 2.2, 2.3, phase="final")  # 3 surely came after 2: lost
    verdict = check_records(b.history)
    assert [v.kind for v in verdict.violations] == ["lost"]
    assert verdict.violations[0].replica == "app-1"


def test_records_unknown_update_may_apply_any_time_after_it_started() -> None:
    """An update that timed out at 1.0 may take effect after an acknowledged one at 2.0 (a request
    stuck in a queue, a retry): its data in the final read is no loss."""
    b = Records()
    b.create("app-0", "r1", 0.0, 0.1)
    b.update("app-0", "r1", 1, 1.0, 1.5, outcome=UNKNOWN)
    b.update("app-1", "r1", 2, 2.0, 2.1)
    b.read("app-2", "r1", 1, 3.0, 3.1, phase="final")
    b.read("app-0", "r1", 2, 3.2, 3.3, phase="final")
    assert check_records(b.history).ok


def test_records_unknown_update_does_not_apply_before_it_started() -> None:
    b = Records()
    b.create("app-0", "r1", 0.0, 0.1)
    b.update("app-1", "r1", 2, 1.0, 1.1)
    b.read("app-2", "r1", 1, 1.5, 1.6, phase="final")  # the data of an update sent only later
    b.update("app-0", "r1", 1, 2.0, 2.5, outcome=UNKNOWN)
    verdict = check_records(b.history)
    assert verdict.validity is Validity.FAIL
    assert [v.kind for v in verdict.violations] == ["lost"]


def test_records_main_read_concurrent_with_an_update_is_not_judged() -> None:
    b = concurrent_updates()
    b.read("app-2", "r1", 0, 1.3, 1.35)  # overlaps both updates: ambiguous, skipped
    b.read("app-2", "r1", 2, 2.0, 2.1, phase="final")
    verdict = check_records(b.history)
    assert verdict.ok and verdict.stats["observations_ambiguous"] == 1


# ---- counters: increments by several clients at once, reads overlapping them ------------------------


class Counters(HistoryBuilder):
    def __init__(self) -> None:
        super().__init__("counters")

    def inc(self, replica: str, start: float, end: float, answered: int | None = None,
            outcome: Outcome = OK) -> Operation:
        value = {"value": answered} if answered is not None else None
        return self.op("increment", replica, outcome, {"name": "total", "by": 1}, value, at=at(start),
                       duration=end - start)

    def read(self, replica: str, value: int, start: float, end: float, phase: str = "main") -> Operation:
        return self.op("read", replica, OK, {"name": "total"}, {"value": value}, phase=phase, at=at(start),
                       duration=end - start)


def three_clients() -> Counters:
    """Three clients increment at once (all overlap 1.0-1.5); the answers are the order they applied in."""
    b = Counters()
    b.inc("app-0", 1.0, 1.5, answered=2)
    b.inc("app-1", 1.1, 1.4, answered=3)
    b.inc("app-2", 1.2, 1.3, answered=1)
    return b


def test_counters_reads_overlapping_concurrent_increments_pass() -> None:
    b = three_clients()
    b.read("app-0", 0, 1.05, 1.06)  # before any applied
    b.read("app-1", 2, 1.25, 1.45)  # two applied so far
    b.read("app-2", 3, 1.6, 1.7)
    for replica in ("app-0", "app-1", "app-2"):
        b.read(replica, 3, 2.0, 2.1, phase="final")
    verdict = check_counters(b.history)
    assert verdict.ok, verdict.explain()
    assert verdict.stats["reads_judged"] == 9


def test_counters_unknown_increment_may_apply_late_or_never() -> None:
    b = three_clients()
    b.inc("app-0", 1.6, 1.9, outcome=UNKNOWN)
    b.read("app-1", 3, 2.0, 2.1)  # not applied (yet)
    b.read("app-2", 4, 2.2, 2.3, phase="final")  # applied after all
    assert check_counters(b.history).ok


def test_counters_read_after_all_acknowledged_below_their_sum_fails() -> None:
    b = three_clients()
    b.read("app-1", 2, 1.6, 1.7)  # all three were acknowledged before it began: one lost (read-modify-write)
    verdict = check_counters(b.history)
    assert verdict.validity is Validity.FAIL
    [violation] = verdict.violations
    assert violation.kind == "lost-increments" and violation.evidence["lower"] == 3


def test_counters_two_increments_answering_the_same_value_fail() -> None:
    """Read-modify-write: two concurrent increments both answer 1; a correct counter answers 1 and 2."""
    b = Counters()
    b.inc("app-0", 1.0, 1.5, answered=1)
    b.inc("app-1", 1.1, 1.4, answered=1)
    b.read("app-2", 1, 2.0, 2.1, phase="final")
    verdict = check_counters(b.history)
    assert verdict.validity is Validity.FAIL
    assert [v.kind for v in verdict.violations] == ["lost-increments"]


# ---- sessions: a logout on one replica while others read the token -----------------------------------


class Sessions(HistoryBuilder):
    def __init__(self) -> None:
        super().__init__("sessions")

    def login(self, token: str, start: float, end: float) -> Operation:
        return self.op("login", "app-0", OK, {"user": "alice"}, {"token": token, "user": "alice"},
                       at=at(start), duration=end - start)

    def logout(self, replica: str, token: str, start: float, end: float, outcome: Outcome = OK,
               revoked: bool = True) -> Operation:
        return self.op("logout", replica, outcome, {"token": token}, {"revoked": revoked} if outcome is OK else None,
                       at=at(start), duration=end - start)

    def whoami(self, replica: str, token: str, accepted: bool, start: float, end: float,
               phase: str = "main") -> Operation:
        value = {"accepted": True, "user": "alice"} if accepted else {"accepted": False}
        return self.op("whoami", replica, OK, {"token": token}, value, phase=phase, at=at(start),
                       duration=end - start)


def test_sessions_reads_concurrent_with_logout_may_see_either() -> None:
    b = Sessions()
    b.login("t1", 0.0, 0.1)
    b.logout("app-0", "t1", 1.0, 1.5)
    b.whoami("app-1", "t1", True, 1.1, 1.2)   # before the logout applied
    b.whoami("app-2", "t1", False, 1.3, 1.4)  # after
    b.whoami("app-1", "t1", True, 1.45, 1.6)  # overlaps its end: still either
    b.logout("app-2", "t1", 1.2, 1.7, revoked=False)  # a second logout racing the first: "no such session"
    for replica in ("app-0", "app-1", "app-2"):
        b.whoami(replica, "t1", False, 2.0, 2.1, phase="final")
    verdict = check_sessions(b.history)
    assert verdict.ok, verdict.explain()


def test_sessions_unknown_logout_may_apply_any_time_after_it_started() -> None:
    b = Sessions()
    b.login("t1", 0.0, 0.1)
    b.logout("app-0", "t1", 1.0, 1.5, outcome=UNKNOWN)
    b.whoami("app-1", "t1", True, 2.0, 2.1)
    b.whoami("app-2", "t1", False, 2.2, 2.3, phase="final")
    assert check_sessions(b.history).ok


def test_sessions_read_after_a_concurrent_logout_ended_must_reject() -> None:
    b = Sessions()
    b.login("t1", 0.0, 0.1)
    b.logout("app-0", "t1", 1.0, 1.5)
    b.whoami("app-1", "t1", True, 1.1, 1.2)  # fine: concurrent
    b.whoami("app-2", "t1", True, 1.6, 1.7)  # after the acknowledged logout ended: a stale replica
    b.whoami("app-2", "t1", False, 2.0, 2.1, phase="final")
    verdict = check_sessions(b.history)
    assert verdict.validity is Validity.FAIL
    [violation] = verdict.violations
    assert violation.kind == "revoked-but-accepted" and violation.replica == "app-2"


def test_sessions_rejected_with_no_logout_in_flight_is_lost() -> None:
    b = Sessions()
    b.login("t1", 0.0, 0.1)
    b.whoami("app-1", "t1", True, 0.5, 0.6)
    b.whoami("app-2", "t1", False, 0.55, 0.65)  # concurrent with an accepting read, but no logout at all
    b.logout("app-0", "t1", 1.0, 1.5)
    verdict = check_sessions(b.history)
    assert [v.kind for v in verdict.violations] == ["lost"]


# ---- files: a download racing its upload ------------------------------------------------------------


def files_history(found_after: bool) -> History:
    b = HistoryBuilder("files")
    b.op("upload", "app-0", OK, {"sha256": "a" * 64, "size": 3}, {"id": "f1", "sha256": "a" * 64},
         at=at(1.0), duration=0.5)
    b.op("download", "app-1", OK, {"id": "f1"}, {"found": False}, at=at(1.2), duration=0.1)  # racing: either
    b.op("download", "app-2", OK, {"id": "f1"}, {"found": True, "sha256": "a" * 64}, at=at(1.3), duration=0.1)
    value = {"found": True, "sha256": "a" * 64} if found_after else {"found": False}
    b.op("download", "app-1", OK, {"id": "f1"}, value, at=at(2.0), duration=0.1, phase="final")
    return b.history


def test_files_download_racing_its_upload_passes() -> None:
    assert check_files(files_history(found_after=True)).ok


def test_files_missing_after_the_upload_ended_fails() -> None:
    verdict = check_files(files_history(found_after=False))
    assert [v.kind for v in verdict.violations] == ["lost"]


# ---- fail-loud: concurrent writes during an outage --------------------------------------------------


def outage_history(kept: bool) -> History:
    """Two clients create records at once during an outage: a correct app fails both loudly (503);
    the fallback bug acknowledges one and forgets it."""
    b = HistoryBuilder("records")
    b.op("create", "app-0", OK, {"data": {"nonce": "a"}}, {"id": "a"}, at=at(0.0), duration=0.1)
    b.history.record_fault("dependency-outage", "postgres", at(1.0), at(1.05))
    b.op("create", "app-0", UNKNOWN, {"data": {"nonce": "b"}}, None, status=503, at=at(1.1), duration=0.2)
    b.op("create", "app-1", OK, {"data": {"nonce": "c"}}, {"id": "c"}, at=at(1.15), duration=0.1)
    b.history.record_fault("dependency-outage", "postgres", at(2.0), at(2.05), heal=True)
    for replica in ("app-0", "app-1"):
        b.op("read", replica, OK, {"id": "a"}, {"found": True, "data": {"nonce": "a"}}, at=at(3.0), phase="final")
        value = {"found": True, "data": {"nonce": "c"}} if kept else {"found": False}
        b.op("read", replica, OK, {"id": "c"}, value, at=at(3.1), phase="final")
    return b.history


def test_fail_loud_concurrent_writes_kept_through_the_outage_pass() -> None:
    verdict = check_fail_loud(outage_history(kept=True))
    assert verdict.ok, verdict.explain()


def test_fail_loud_concurrent_write_acknowledged_during_the_outage_then_lost_fails() -> None:
    verdict = check_fail_loud(outage_history(kept=False))
    assert [v.kind for v in verdict.violations] == ["acknowledged-during-outage-then-lost"]


# ---- the indexed checkers against the plain definition of their model ---------------------------


def _random_counter_history(rng: random.Random) -> History:
    """Concurrent increments (some unknown, some failed, some by a negative amount) and reads of
    two counters, with values that are sometimes right and sometimes not."""
    b = HistoryBuilder("counters")
    for _ in range(rng.randint(5, 40)):
        start = rng.uniform(0, 10)
        duration = rng.choice([0.0, rng.uniform(0, 2)])
        name = rng.choice(["a", "b"])
        outcome = rng.choice([OK] * 6 + [UNKNOWN, Outcome.FAIL])
        if rng.random() < 0.6:
            value = {"value": rng.randint(-2, 12)} if outcome is OK else None
            b.op("increment", rng.choice(["app-0", "app-1"]), outcome, {"name": name, "by": rng.choice([1, 1, 2, -1])},
                 value, at=at(start), duration=duration)
        else:
            b.op("read", "app-2", OK, {"name": name}, {"value": rng.randint(-2, 12)}, at=at(start), duration=duration,
                 phase=rng.choice(["main", "final"]))
    return b.history


def _plain_counter_bounds(history: History) -> dict[int, tuple[int, int]]:
    """Every read's (lower, upper) by the definition: a pass over every increment per read."""
    ops = history.operations("counters")
    bounds = {}
    for read in ops:
        if read.outcome is not OK or read.name not in ("read", "increment") or not isinstance(
                (read.value or {}).get("value"), int):
            continue
        incs = [i for i in ops if i.name == "increment" and i.args["name"] == read.args["name"]]
        certain = [i for i in incs if i.outcome is OK and (i.end < read.start or i.id == read.id)]
        uncertain = [i for i in incs if i not in certain and i.outcome is not Outcome.FAIL and i.start < read.end]
        base = sum(i.args["by"] for i in certain)
        bounds[read.id] = (base + sum(min(0, i.args["by"]) for i in uncertain),
                           base + sum(max(0, i.args["by"]) for i in uncertain))
    return bounds


def test_counter_bounds_match_the_definition_on_random_concurrent_histories() -> None:
    rng = random.Random(14)
    for _ in range(300):
        history = _random_counter_history(rng)
        expected = _plain_counter_bounds(history)
        verdict = check_counters(history)
        outside = {read_id for read_id, (lower, upper) in expected.items()
                   if not lower <= history.operation(read_id).value["value"] <= upper}  # type: ignore[union-attr]
        assert {v.evidence["read"] for v in verdict.violations} == outside
        for v in verdict.violations:
            assert (v.evidence["lower"], v.evidence["upper"]) == expected[v.evidence["read"]]


def _random_record_history(rng: random.Random) -> History:
    """Concurrent creates, updates, deletes (some unknown or failed) and reads of three records."""
    b = HistoryBuilder("records")
    states: dict[str, list[Any]] = {}
    for rid in ("r1", "r2", "r3"):
        data = {"nonce": rid, "v": 0}
        states[rid] = [data, None]
        b.op("create", "app-0", OK, {"data": data}, {"id": rid}, at=at(rng.uniform(0, 2)), duration=rng.uniform(0, 1))
    for _ in range(rng.randint(5, 30)):
        rid, start, duration = rng.choice(list(states)), rng.uniform(0, 10), rng.choice([0.0, rng.uniform(0, 2)])
        outcome = rng.choice([OK] * 6 + [UNKNOWN, Outcome.FAIL])
        roll = rng.random()
        if roll < 0.35:
            data = {"nonce": rid, "v": len(states[rid])}
            states[rid].append(data)
            b.op("update", "app-1", outcome, {"id": rid, "data": data}, {}, at=at(start), duration=duration)
        elif roll < 0.45:
            b.op("delete", "app-1", outcome, {"id": rid}, {}, at=at(start), duration=duration)
        else:
            seen = rng.choice(states[rid])
            value = {"found": True, "data": seen} if seen is not None else {"found": False}
            b.op("read", "app-2", OK, {"id": rid}, value, at=at(start), duration=duration,
                 phase=rng.choice(["main", "final"]))
    return b.history


def _plain_record_verdicts(history: History) -> tuple[set[int], int]:
    """The reads no candidate explains, and how many main reads are ambiguous, by the definition."""
    ops = history.operations("records")
    bad, ambiguous = set(), 0
    for read in ops:
        if read.name != "read" or read.outcome is not OK:
            continue
        writes = [w for w in ops if w.args.get("id", (w.value or {}).get("id")) == read.args["id"]
                  and w.name != "read" and w.outcome is not Outcome.FAIL]
        s, e = read.start, read.end
        if read.phase != "final" and any(w.start < e and (w.outcome is UNKNOWN or w.end >= s) for w in writes):
            ambiguous += 1
            continue
        relevant = [w for w in writes if w.start < e]
        done = [w for w in relevant if w.outcome is OK and w.end < s]
        possible = [w for w in relevant if w.outcome is UNKNOWN or not any(d.start > w.end for d in done)]
        states = [None if w.name == "delete" else w.args["data"] for w in possible]
        seen = read.value["data"] if read.value["found"] else None
        if not (seen in states or (seen is None and not any(w.name == "create" for w in done))):
            bad.add(read.id)
    return bad, ambiguous


def test_record_candidates_match_the_definition_on_random_concurrent_histories() -> None:
    rng = random.Random(14)
    for _ in range(300):
        history = _random_record_history(rng)
        bad, ambiguous = _plain_record_verdicts(history)
        verdict = check_records(history)
        assert {v.evidence["read"] for v in verdict.violations} == bad
        assert verdict.stats["observations_ambiguous"] == ambiguous


# ---- a counter every client increments all along: the evidence stays bounded --------------------


def test_lost_increments_of_a_busy_counter_list_a_bounded_sample_and_name_every_writer() -> None:
    """Every read after a loss of a busy counter is a violation; each lists at most MOST_LISTED increments
    (never thousands), keeps the first to start (the loss's window, which the policy and the causes read),
    and counts them all."""
    from harness.checkers.base import exempting_faults
    from harness.checkers.causes import NOT_SHARED, causes
    from harness.checkers.counters import MOST_LISTED

    b = Counters()
    first = b.inc("app-2", 0.0, 5.0)  # the first to start, the last of the early ones to end
    for k in range(120):
        b.inc(f"app-{k % 2}", 0.1 + k * 0.01, 0.105 + k * 0.01)
    b.history.record_fault("dependency-restart", "redis", at(5.5), at(5.6))
    reads = [b.read("app-0", 0, 6.0 + k, 6.1 + k, phase="final") for k in range(3)]
    verdict = check_counters(b.history)
    assert [v.evidence["read"] for v in verdict.violations] == [r.id for r in reads]
    for v in verdict.violations:
        assert v.kind == "lost-increments" and v.evidence["lower"] == 121
        assert "121 acknowledged increments" in v.message
        assert len(v.op_ids) <= MOST_LISTED + 1 and v.op_ids[-1] == v.evidence["read"]
        assert first.id in v.op_ids
        assert v.evidence["increments_certain"] == 121
        assert v.evidence["writers"] == ["app-0", "app-1", "app-2"]
        # the window the policy reads runs from the first increment's start to the read, as with all listed
        assert exempting_faults(v, b.history, {"counters": frozenset({"dependency-restart"})})
    grouped = causes(verdict, b.history)
    assert grouped is not None and grouped["groups"]["fault_elsewhere"]["violations"] == 3
    assert NOT_SHARED not in grouped["groups"]


def test_lost_increments_of_a_quiet_counter_list_every_increment() -> None:
    b = Counters()
    incs = [b.inc(f"app-{k % 3}", k * 0.1, k * 0.1 + 0.05) for k in range(5)]
    read = b.read("app-0", 2, 1.0, 1.1, phase="final")
    [violation] = check_counters(b.history).violations
    assert violation.op_ids == tuple(i.id for i in incs) + (read.id,)
    assert "writers" not in violation.evidence


def _random_session_history(rng: random.Random) -> History:
    """Two tokens, logged out now and then (acknowledged, refused, of unknown outcome, a second time),
    read from three replicas, with answers that are sometimes right and sometimes not."""
    b = HistoryBuilder("sessions")
    for token in ("t1", "t2"):
        b.op("login", "app-0", OK, {"user": "alice"}, {"token": token, "user": "alice"}, at=at(rng.uniform(0, 1)),
             duration=0.1)
    for _ in range(rng.randint(5, 30)):
        token, start, duration = rng.choice(["t1", "t2"]), rng.uniform(0, 10), rng.choice([0.0, rng.uniform(0, 2)])
        if rng.random() < 0.25:
            outcome = rng.choice([OK, OK, UNKNOWN, Outcome.FAIL])
            b.op("logout", "app-1", outcome, {"token": token}, {"revoked": rng.random() < 0.6} if outcome is OK else None,
                 at=at(start), duration=duration)
        else:
            value = {"accepted": True, "user": "alice"} if rng.random() < 0.5 else {"accepted": False}
            b.op("whoami", rng.choice(["app-0", "app-2"]), OK, {"token": token}, value, at=at(start),
                 duration=duration, phase=rng.choice(["main", "final"]))
    return b.history


def _plain_session_violations(history: History) -> set[int]:
    """The reads that break the model, by its definition: every logout looked at for every read."""
    ops = history.operations("sessions")
    logins = {op.value["token"]: op for op in ops if op.name == "login"}
    logouts = [op for op in ops if op.name == "logout" and op.outcome is not Outcome.FAIL]
    bad = set()
    for read in ops:
        if read.outcome is not OK or not (read.name == "whoami" or (read.name == "logout" and not read.value["revoked"])):
            continue
        accepted = read.name == "whoami" and read.value["accepted"]
        login, mine = logins[read.args["token"]], [lo for lo in logouts if lo.args["token"] == read.args["token"]]
        if read.start < login.end:
            continue
        if any(lo.outcome is OK and lo.value["revoked"] and lo.end <= read.start for lo in mine):
            bad.update([read.id] if accepted else [])
        elif not any(lo.start < read.end and lo.id != read.id for lo in mine) and not accepted:
            bad.add(read.id)
    return bad


def test_session_judgements_match_the_definition_on_random_concurrent_histories() -> None:
    rng = random.Random(14)
    for _ in range(300):
        history = _random_session_history(rng)
        verdict = check_sessions(history)
        assert {v.op_ids[-1] for v in verdict.violations} == _plain_session_violations(history)
