"""Violations grouped by cause, on hand-written histories: what the fault did to the replica it hit,
what the replicas never shared, what was lost after a fault elsewhere, and every other violation."""

from __future__ import annotations

from harness.checkers import STATE_CHECKERS, check_records, check_sessions
from harness.checkers.base import Validity, judge, not_in_spec
from harness.checkers.causes import FAULT_ELSEWHERE, NOT_SHARED, OTHER, SAME_REPLICA, causes
from tests.unit.cause_histories import (crash_that_lost_nothing, dependency_restart_that_lost_writes,
                                        redeploy_that_lost_everything, verdict_of)
from tests.unit.histories import OK, HistoryBuilder


def test_a_crash_that_lost_nothing_on_its_replica_where_replicas_share_nothing() -> None:
    history = crash_that_lost_nothing()
    verdict = verdict_of(history)
    assert verdict.validity is Validity.FAIL and len(verdict.violations) == 3
    explained = causes(verdict, history)
    assert explained is not None
    assert explained["summary"] == ("crash of app-0: nothing lost on app-0; "
                                    "replicas do not share sessions (2 never seen on another replica)")
    assert list(explained["groups"]) == [NOT_SHARED]
    group = explained["groups"][NOT_SHARED]
    assert group["violations"] == 3 and group["counts"] == {"sessions": 2}
    assert group["first"]["written_on"] == ["app-0"] and group["first"]["read_on"] == "app-1"
    assert group["first"]["faults_between"] == []  # the first example is the proof: no fault in between
    assert explained["faults"] == ["crash of app-0"]


def test_a_redeploy_that_lost_everything_on_its_replica() -> None:
    history = redeploy_that_lost_everything()
    explained = causes(verdict_of(history), history)
    assert explained is not None
    assert explained["summary"] == "redeploy of app-0: lost 2 records and 1 file on app-0"
    assert list(explained["groups"]) == [SAME_REPLICA]
    group = explained["groups"][SAME_REPLICA]
    assert group["counts"] == {"files": 1, "records": 2} and group["violations"] == 3
    assert group["replicas"] == ["app-0"] and group["faults"] == ["redeploy of app-0"]
    assert group["first"]["kind"] == "lost" and group["first"]["faults_between"] == ["redeploy of app-0"]


def test_a_dependency_restart_that_lost_writes_on_every_replica() -> None:
    history = dependency_restart_that_lost_writes()
    explained = causes(verdict_of(history), history)
    assert explained is not None
    assert explained["summary"] == "dependency-restart of postgres: lost 2 records on app-0 and app-1 after it"
    assert list(explained["groups"]) == [FAULT_ELSEWHERE]
    group = explained["groups"][FAULT_ELSEWHERE]
    assert group["violations"] == 4 and group["counts"] == {"records": 2}
    assert group["replicas"] == ["app-0", "app-1"] and group["faults"] == ["dependency-restart of postgres"]


def test_no_violation_no_cause() -> None:
    b = HistoryBuilder("records")
    b.op("create", "app-0", OK, {"data": {"nonce": "n"}}, {"id": "r1", "version": 1})
    b.fault("crash", "app-0")
    b.op("read", "app-0", OK, {"id": "r1"}, {"found": True, "data": {"nonce": "n"}, "version": 1}, phase="final")
    verdict = judge(b.history, [check_records])
    assert verdict.ok and causes(verdict, b.history) is None


def test_a_cross_replica_loss_after_the_writers_crash_is_a_fault_elsewhere_until_the_kind_shows_it_is_unshared() -> None:
    """Written on app-0, crash of app-0, missing on app-1: with no proof that replicas do not share records
    (no cross-replica loss without a fault), the crash of app-0 is what the reader missed it after."""
    b = HistoryBuilder("records")
    b.op("create", "app-0", OK, {"data": {"nonce": "n"}}, {"id": "r1", "version": 1})
    b.op("read", "app-1", OK, {"id": "r1"}, {"found": True, "data": {"nonce": "n"}, "version": 1})  # shared
    b.fault("crash", "app-0")
    b.fault("crash", "app-0", heal=True)
    b.op("read", "app-1", OK, {"id": "r1"}, {"found": False}, phase="final")
    explained = causes(judge(b.history, [check_records]), b.history)
    assert explained is not None and list(explained["groups"]) == [FAULT_ELSEWHERE]
    assert explained["summary"] == ("crash of app-0: nothing read back on app-0 after the fault; "
                                    "lost 1 record on app-1 after it")


def test_other_violations_are_listed_by_kind_and_never_dropped() -> None:
    b = HistoryBuilder("sessions")
    token = "tok-bob-0123456789abcdef"
    login = b.op("login", "app-0", OK, {"user": "bob"}, {"token": token, "user": "bob"})
    b.op("logout", "app-0", OK, {"token": token}, {"revoked": True})
    b.op("whoami", "app-0", OK, {"token": token}, {"accepted": True, "user": "bob"})  # revoked but accepted
    b.op("create", "app-1", OK, {"data": {"nonce": "n"}}, {"id": "r1", "version": 1}, kind="records")
    b.op("read", "app-1", OK, {"id": "r1"}, {"found": False}, kind="records", phase="final")  # no fault at all
    verdict = judge(b.history, [check_sessions, check_records])
    explained = causes(verdict, b.history)
    assert explained is not None and list(explained["groups"]) == [OTHER]
    other = explained["groups"][OTHER]
    assert other["violations"] == len(verdict.violations) == 2
    assert other["counts"] == {"lost": 1, "revoked-but-accepted": 1}
    assert explained["summary"] == "no fault: 2 other violations (lost: 1, revoked-but-accepted: 1)"
    assert login.id in other["first"]["op_ids"]


def test_group_counts_add_up_to_every_violation() -> None:
    for history in (crash_that_lost_nothing(), redeploy_that_lost_everything(), dependency_restart_that_lost_writes()):
        verdict = verdict_of(history)
        explained = causes(verdict, history)
        assert explained is not None
        assert sum(g["violations"] for g in explained["groups"].values()) == len(verdict.violations)


def test_the_merged_checker_names_only_the_checkers_that_judged() -> None:
    history = redeploy_that_lost_everything()
    verdict = judge(history, STATE_CHECKERS)
    assert verdict.checker == "records+lost-updates+files"
    assert not_in_spec(verdict) == ["cooldowns", "counters", "quotes", "rate_limit", "sessions"]
    [note] = [n for n in verdict.notes if n.startswith("not in the spec")]
    assert note.startswith("not in the spec: cooldowns, counters, quotes, rate_limit, sessions (")
    assert sum("not in the spec" in n for n in verdict.notes) == 1  # said once


def test_several_unshared_kinds_are_named_in_one_part_most_first() -> None:
    b = HistoryBuilder("sessions")
    for i in (1, 2):
        token = f"tok-{i}-0123456789abcdef"
        b.op("login", "app-0", OK, {"user": f"u{i}"}, {"token": token, "user": f"u{i}"})
        b.op("whoami", "app-1", OK, {"token": token}, {"accepted": False}, status=401)
    b.op("create", "app-1", OK, {"data": {"nonce": "n"}}, {"id": "r1", "version": 1}, kind="records")
    b.op("read", "app-0", OK, {"id": "r1"}, {"found": False}, kind="records", phase="final")
    explained = causes(judge(b.history, [check_sessions, check_records]), b.history)
    assert explained is not None
    assert explained["summary"] == ("no fault: replicas do not share sessions and records "
                                    "(2 sessions and 1 record never seen on another replica)")


def _counter_race(shared: bool):
    """Two replicas increment one counter by 1 five times each; the final reads see 7 (a shared counter that
    lost three increments to a read-modify-write race) or 5 on each replica (one that replicas do not share)."""
    from harness.checkers import check_counters

    b = HistoryBuilder("counters")
    for i in range(5):
        for replica in ("app-0", "app-1"):
            b.op("increment", replica, OK, {"name": "c", "by": 1}, {"value": None})
    for replica in ("app-0", "app-1"):
        b.op("read", replica, OK, {"name": "c"}, {"value": 7 if shared else 5}, phase="final")
    return b.history, judge(b.history, [check_counters])


def test_increments_lost_on_a_counter_replicas_share_are_a_race_not_unshared_state() -> None:
    """A counter read higher than every increment its own replica took sees the others' increments: its lost
    increments, with no fault in between, are a race between concurrent writes, not state the replicas keep apart."""
    from harness.checkers.causes import RACE

    history, verdict = _counter_race(shared=True)
    assert verdict.validity is Validity.FAIL
    explained = causes(verdict, history)
    assert explained is not None and list(explained["groups"]) == [RACE]
    assert "lost between concurrent writes (lost-increments: 2)" in explained["summary"]
    history, verdict = _counter_race(shared=False)
    explained = causes(verdict, history)
    assert explained is not None and list(explained["groups"]) == [NOT_SHARED]


def test_a_lost_update_is_a_race() -> None:
    from harness.checkers.base import Verdict, Violation
    from harness.checkers.causes import RACE

    b = HistoryBuilder("records")
    b.op("update", "app-0", OK, {"id": "r1", "data": {"a": 1}}, {"version": 2})
    verdict = Verdict("lost-updates", Validity.FAIL, (Violation("lost-updates", "lost-update", "two updates, one version",
                                                                replica="app-0", op_ids=(0,)),))
    explained = causes(verdict, b.history)
    assert explained is not None and explained["groups"][RACE]["counts"] == {"lost-update": 1}
