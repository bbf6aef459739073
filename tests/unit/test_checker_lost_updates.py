"""The lost-updates checker: concurrent acknowledged updates of one record answering one version."""

from __future__ import annotations

from harness.checkers import STATE_CHECKERS, check_lost_updates
from harness.checkers.base import Validity, judge
from harness.history import History
from tests.unit.histories import OK, UNKNOWN, HistoryBuilder


def _created(b: HistoryBuilder, rid: str = "r1", version: object = 1) -> None:
    b.op("create", args={"data": {"nonce": rid}}, value={"id": rid, "version": version})


def _update(b: HistoryBuilder, at: float, n: int, version: object, outcome=OK, rid: str = "r1",
            replica: str = "app-0", duration: float = 0.05) -> None:
    b.op("update", replica=replica, outcome=outcome, args={"id": rid, "data": {"n": n}},
         value={"id": rid, "version": version}, at=at, duration=duration)


def _racy() -> History:
    """What RECORD_UPDATE=read-modify-write answers: two overlapping updates both say version 2."""
    b = HistoryBuilder("records")
    _created(b)
    _update(b, 1001.0, 1, 2, replica="app-0")
    _update(b, 1001.01, 2, 2, replica="app-1")
    _update(b, 1002.0, 3, 3)  # a later one, alone: fine
    b.op("read", args={"id": "r1"}, value={"found": True, "data": {"n": 3}, "version": 3}, phase="final", at=1003.0)
    return b.history


def test_two_concurrent_updates_answering_one_version_are_a_lost_update() -> None:
    verdict = check_lost_updates(_racy())
    assert verdict.validity is Validity.FAIL and len(verdict.violations) == 1
    v = verdict.violations[0]
    assert (v.checker, v.kind) == ("lost-updates", "lost-update")
    assert v.evidence == {"record": "r1", "version": 2, "updates": [1, 2]} and v.op_ids == (1, 2)
    assert "record r1: 2 concurrent updates" in v.message and "version 2" in v.message
    assert "app-0 at +1.00s" in v.message and "app-1 at +1.01s" in v.message
    assert verdict.stats["lost_updates"] == 1


def test_a_correct_app_answers_distinct_versions() -> None:
    b = HistoryBuilder("records")
    _created(b)
    _update(b, 1001.0, 1, 3)  # overlapping, applied second
    _update(b, 1001.01, 2, 2)
    _update(b, 1002.0, 3, 4)
    verdict = check_lost_updates(b.history)
    assert verdict.validity is Validity.PASS and not verdict.notes
    assert verdict.stats == {"updates_with_version": 3, "records": 1, "records_with_a_repeated_version": 0,
                             "records_not_write_counters": 0, "lost_updates": 0}


def test_without_versions_nothing_is_judged() -> None:
    b = HistoryBuilder("records")
    b.op("create", args={"data": {"nonce": "r1"}}, value={"id": "r1", "version": None})
    _update(b, 1001.0, 1, None)
    _update(b, 1001.01, 2, None)
    verdict = check_lost_updates(b.history)
    assert verdict.validity is Validity.PASS and verdict.stats["records"] == 0
    assert verdict.notes == ("no acknowledged update answered a version: lost updates not judged",)


def test_unknown_sequential_same_data_and_non_counter_versions_never_count() -> None:
    b = HistoryBuilder("records")
    _created(b)
    _update(b, 1001.0, 1, 2)
    _update(b, 1001.01, 2, 2, outcome=UNKNOWN)  # may not have applied: never one of the pair
    _update(b, 1002.0, 3, 5)
    _update(b, 1003.0, 4, 5)  # the same version, but surely after: not a race (the records checker's)
    _created(b, "r2")
    _update(b, 1004.0, 7, 2, rid="r2")
    _update(b, 1004.01, 7, 2, rid="r2")  # the same data: an app may skip a no-op update
    _created(b, "r3", version="etag-a")
    _update(b, 1005.0, 1, "etag-b", rid="r3")
    _update(b, 1005.01, 2, "etag-b", rid="r3")  # not an integer: not a version that counts
    _created(b, "r4", version=1000)
    _update(b, 1006.0, 1, 1000, rid="r4")
    _update(b, 1006.01, 2, 1000, rid="r4")  # no higher than the create's: a timestamp, not a counter
    verdict = check_lost_updates(b.history)
    assert verdict.validity is Validity.PASS, verdict.explain()
    assert verdict.stats["records"] == 3  # r3's text versions are not versions at all
    assert verdict.stats["records_with_a_repeated_version"] == 3 and verdict.stats["records_not_write_counters"] == 1
    assert verdict.notes[0].startswith("1 records' versions do not count writes")


def test_three_racing_updates_are_one_violation_naming_all() -> None:
    b = HistoryBuilder("records")
    _created(b)
    for i in range(3):
        _update(b, 1001.0 + i * 0.01, i, 2, replica=f"app-{i}")
    verdict = check_lost_updates(b.history)
    assert len(verdict.violations) == 1 and verdict.violations[0].op_ids == (1, 2, 3)
    assert verdict.stats["lost_updates"] == 2


def test_every_scenario_judges_it() -> None:
    assert check_lost_updates in STATE_CHECKERS
    assert judge(_racy(), STATE_CHECKERS).validity is Validity.FAIL
    sessions = HistoryBuilder("sessions")
    sessions.op("login", args={"user": "u"}, value={"token": "t"})
    assert judge(sessions.history, [check_lost_updates]).nothing_to_check


def test_a_prefix_finds_nothing_the_whole_history_does_not() -> None:
    whole = _racy()
    found = {v.op_ids for v in check_lost_updates(whole).violations}
    events = list(whole)
    for n in range(len(events) + 1):
        prefix = {v.op_ids for v in check_lost_updates(History(events[:n])).violations}
        assert prefix <= found
    assert {v.op_ids for v in check_lost_updates(History(events[:3])).violations} == found  # as soon as both ended
