"""The fail-loud checker on hand-written histories: writes acknowledged during an outage, then lost."""

from __future__ import annotations

from harness.checkers.base import Validity
from harness.checkers.fail_loud import check_fail_loud, outage_windows
from harness.history import Operation, Outcome
from tests.unit.histories import OK, UNKNOWN, HistoryBuilder


class Mixed(HistoryBuilder):
    def __init__(self) -> None:
        super().__init__("records")

    def create(self, replica: str, rid: str | None, outcome: Outcome = OK) -> Operation:
        return self.op("create", replica, outcome, {"data": {"nonce": f"n-{rid}"}}, {"id": rid, "version": 1},
                       status=None if outcome is OK else 503)

    def read(self, replica: str, rid: str, found: bool, outcome: Outcome = OK) -> Operation:
        value = {"found": found, "data": {"nonce": f"n-{rid}"} if found else None, "version": 1 if found else None}
        return self.op("read", replica, outcome, {"id": rid}, value, phase="final")

    def outage(self, target: str = "postgres") -> None:
        self.fault("dependency-outage", target, duration=0.1)


def test_write_acknowledged_during_outage_then_lost() -> None:
    b = Mixed()
    b.create("app-0", "before")
    b.outage()
    b.create("app-1", "during")  # the fallback: kept in memory, answered 201
    b.fault("dependency-outage", "postgres", duration=0.2, heal=True)
    b.fault("graceful-restart", "app-1")
    b.read("app-0", "before", True)
    b.read("app-0", "during", False)
    b.read("app-1", "during", False)
    verdict = check_fail_loud(b.history)
    assert verdict.validity is Validity.FAIL
    [violation] = verdict.violations
    assert violation.kind == "acknowledged-during-outage-then-lost"
    assert violation.replica == "app-1"
    assert "records create acknowledged by app-1" in violation.message
    assert "dependency-outage of postgres, +0.11s to +1.02s" in violation.message
    assert "app-0, app-1" in violation.message and "during" in violation.message
    assert verdict.stats["acknowledged_during_outage"] == 1


def test_write_failing_loudly_during_outage_passes() -> None:
    b = Mixed()
    b.outage()
    b.create("app-0", None, outcome=UNKNOWN)  # 503: the app said it could not store it
    b.fault("dependency-outage", "postgres", heal=True)
    b.create("app-0", "after")
    b.read("app-1", "after", True)
    verdict = check_fail_loud(b.history)
    assert verdict.ok, verdict.explain()
    assert verdict.stats["failed_during_outage"] == 1
    assert verdict.stats["acknowledged_during_outage"] == 0


def test_write_acknowledged_during_outage_and_kept_passes() -> None:
    b = Mixed()
    b.outage()
    b.create("app-0", "during")
    b.fault("dependency-outage", "postgres", heal=True)
    b.read("app-1", "during", True)
    assert check_fail_loud(b.history).ok


def test_loss_outside_any_outage_is_left_to_the_durability_checker() -> None:
    b = Mixed()
    b.outage()
    b.fault("dependency-outage", "postgres", heal=True)
    b.create("app-0", "after")
    b.fault("crash", "app-0")
    b.read("app-0", "after", False)
    verdict = check_fail_loud(b.history)
    assert verdict.ok


def test_main_phase_loss_is_not_this_checkers_business() -> None:
    b = Mixed()
    b.outage()
    b.create("app-0", "during")
    b.op("read", "app-1", OK, {"id": "during"}, {"found": False, "data": None, "version": None})
    b.fault("dependency-outage", "postgres", heal=True)
    b.read("app-0", "during", True)
    assert check_fail_loud(b.history).ok


def login(b: HistoryBuilder, replica: str, user: str) -> Operation:
    return b.op("login", replica, OK, {"user": user}, {"token": f"tok-{user}-1", "user": user, "expires_at": None},
                kind="sessions")


def whoami(b: HistoryBuilder, replica: str, user: str, accepted: bool) -> Operation:
    return b.op("whoami", replica, OK, {"token": f"tok-{user}-1"}, {"accepted": accepted, "user": user},
                kind="sessions", phase="final", status=200 if accepted else 401)


def test_session_and_counter_acknowledged_during_outage_then_lost() -> None:
    b = Mixed()
    login(b, "app-0", "alice")  # written before the outage: kept, as the app keeps everything it stores
    b.op("increment", "app-0", OK, {"name": "hits", "by": 3}, {"value": 3}, kind="counters")
    b.outage("redis")
    b.op("login", "app-0", OK, {"user": "carol"}, {"token": "tok-carol-1", "user": "carol", "expires_at": None},
         kind="sessions")
    b.op("increment", "app-0", OK, {"name": "hits", "by": 2}, {"value": 2}, kind="counters")
    b.fault("dependency-outage", "redis", heal=True)
    b.fault("graceful-restart", "app-0")
    b.op("whoami", "app-1", OK, {"token": "tok-carol-1"}, {"accepted": False}, kind="sessions", phase="final",
         status=401)
    whoami(b, "app-1", "alice", True)
    b.op("read", "app-1", OK, {"name": "hits"}, {"value": 3}, kind="counters", phase="final")
    verdict = check_fail_loud(b.history)
    assert [(v.kind, v.replica) for v in verdict.violations] == [
        ("acknowledged-during-outage-then-lost", "app-0"),
        ("acknowledged-during-outage-then-lost", "app-1"),
    ]
    assert "sessions login" in verdict.violations[0].message and "redis" in verdict.violations[0].message
    assert "counter 'hits'" in verdict.violations[1].message and "2 short" in verdict.violations[1].message


def test_no_outage_passes_with_a_note() -> None:
    b = Mixed()
    b.create("app-0", "r1")
    b.read("app-1", "r1", False)
    verdict = check_fail_loud(b.history)
    assert verdict.ok
    assert verdict.notes == ("no dependency outage in this history",)


def test_no_final_read_after_an_acknowledged_outage_write_is_unknown() -> None:
    b = Mixed()
    b.outage()
    b.create("app-0", "during")
    b.fault("dependency-outage", "postgres", heal=True)
    b.read("app-1", "during", False, outcome=UNKNOWN)
    assert check_fail_loud(b.history).validity is Validity.UNKNOWN


def test_outage_windows_pair_an_outage_with_the_next_heal_of_the_same_target() -> None:
    b = Mixed()
    b.fault("dependency-outage", "redis")
    b.fault("dependency-outage", "postgres")
    b.fault("dependency-outage", "redis", heal=True)
    b.fault("dependency-restart", "postgres")
    b.create("app-0", "late")
    windows = outage_windows(b.history)
    assert [(w.fault, w.target) for w in windows] == [
        ("dependency-outage", "redis"), ("dependency-outage", "postgres"), ("dependency-restart", "postgres")]
    redis, postgres, restart = windows
    assert (redis.start, redis.end) == (1000.0, 1002.5)
    assert postgres.end == max(e.end for e in b.history)  # never started again: runs to the end
    assert (restart.start, restart.end) == (1003.0, 1003.5)


def test_only_the_heal_of_the_same_fault_ends_an_outage() -> None:
    b = Mixed()
    b.fault("dependency-outage", "redis")
    b.fault("network-cut", "redis", heal=True)  # another fault's heal: the outage goes on
    b.fault("dependency-outage", "redis", heal=True)
    [window] = outage_windows(b.history)  # a heal never opens an outage of its own
    assert (window.fault, window.start, window.end) == ("dependency-outage", 1000.0, 1002.5)


def test_sessions_never_stored_durably_are_not_charged_to_the_outage() -> None:
    """Sessions lost inside the outage and out alike: the app never kept them; the sessions checker says so."""
    b = Mixed()
    login(b, "app-0", "alice")
    login(b, "app-1", "bob")
    b.fault("network-cut", "redis")
    login(b, "app-0", "carol")  # acknowledged during the cut
    b.fault("network-cut", "redis", heal=True)
    login(b, "app-1", "dave")
    b.fault("graceful-restart", "app-0")
    b.fault("graceful-restart", "app-1")
    for user in ("alice", "bob", "carol", "dave"):
        whoami(b, "app-0", user, False)
    verdict = check_fail_loud(b.history)
    assert verdict.ok, verdict.explain()
    assert verdict.stats["lost_not_charged"] == 1
    [note] = verdict.notes
    assert "1 sessions write(s) acknowledged during the outage" in note
    assert "3 of 3 sessions write(s) acknowledged outside the outage were lost too" in note


def test_fallback_loses_only_what_the_outage_saw() -> None:
    """The same shape with sessions kept outside the outage: the cut sets the lost one apart."""
    b = Mixed()
    login(b, "app-0", "alice")
    b.fault("network-cut", "redis")
    login(b, "app-0", "carol")
    b.fault("network-cut", "redis", heal=True)
    login(b, "app-1", "dave")
    b.fault("graceful-restart", "app-0")
    for user, kept in (("alice", True), ("carol", False), ("dave", True)):
        whoami(b, "app-1", user, kept)
    verdict = check_fail_loud(b.history)
    assert verdict.validity is Validity.FAIL
    [violation] = verdict.violations
    assert "sessions login acknowledged by app-0" in violation.message and "network-cut of redis" in violation.message


def test_loss_without_a_comparable_write_outside_is_not_charged() -> None:
    b = Mixed()
    b.outage()
    b.create("app-0", "during")
    b.fault("dependency-outage", "postgres", heal=True)
    b.read("app-1", "during", False)
    verdict = check_fail_loud(b.history)
    assert verdict.ok
    assert "nothing to compare with" in verdict.notes[0]


def counter_through_outage(final_value: int) -> Mixed:
    b = Mixed()
    b.op("increment", "app-0", OK, {"name": "hits", "by": 5}, {"value": 5}, kind="counters")
    b.outage("redis")
    b.op("increment", "app-0", OK, {"name": "hits", "by": 2}, {"value": 7}, kind="counters")
    b.fault("dependency-outage", "redis", heal=True)
    b.op("read", "app-1", OK, {"name": "hits"}, {"value": final_value}, kind="counters", phase="final")
    return b


def test_counter_short_by_more_than_the_outage_is_not_charged() -> None:
    verdict = check_fail_loud(counter_through_outage(0).history)
    assert verdict.ok
    assert "counter 'hits' not charged to the outage (7 short, more than the 2 acknowledged" in verdict.notes[0]
    # short by exactly what the outage saw: charged to it
    assert check_fail_loud(counter_through_outage(5).history).validity is Validity.FAIL
