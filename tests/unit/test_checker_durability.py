"""The durability checkers on hand-written histories: lost, recovered, unexpected, corrupt, clean."""

from __future__ import annotations

from typing import Any

from harness.checkers.base import Validity
from harness.checkers.durability import check_files, check_records
from harness.history import Operation, Outcome
from tests.unit.histories import FAIL, OK, UNKNOWN, HistoryBuilder


class Records(HistoryBuilder):
    """Record operations in the workload's shapes."""

    def __init__(self) -> None:
        super().__init__("records")

    def create(self, replica: str, rid: str | None, nonce: str, outcome: Outcome = OK, **data: Any) -> Operation:
        value = {"id": rid, "version": 1} if outcome is OK else None
        return self.op("create", replica, outcome, {"data": {"nonce": nonce, **data}}, value)

    def update(self, replica: str, rid: str, data: dict[str, Any], outcome: Outcome = OK, **kw: Any) -> Operation:
        return self.op("update", replica, outcome, {"id": rid, "data": data}, {"version": 2}, **kw)

    def delete(self, replica: str, rid: str, outcome: Outcome = OK) -> Operation:
        return self.op("delete", replica, outcome, {"id": rid}, {})

    def read(self, replica: str, rid: str, data: dict[str, Any] | None, phase: str = "final",
             outcome: Outcome = OK, **kw: Any) -> Operation:
        value = {"found": data is not None, "data": data, "version": 1 if data else None}
        return self.op("read", replica, outcome, {"id": rid}, value, phase=phase,
                       status=None if outcome is not OK else (200 if data else 404), **kw)

    def list(self, replica: str, records: dict[str, Any], phase: str = "final") -> Operation:
        return self.op("list", replica, OK, {}, {"records": records}, phase=phase)


def test_clean_history_passes() -> None:
    b = Records()
    b.create("app-0", "r1", "n1", item="book")
    b.update("app-1", "r1", {"nonce": "n1", "item": "pen"})
    b.create("app-1", "r2", "n2", item="cup")
    b.delete("app-2", "r2")
    b.fault("crash", "app-0")
    b.read("app-0", "r1", {"nonce": "n1", "item": "pen"})
    b.read("app-1", "r2", None)
    b.list("app-2", {"r1": {"nonce": "n1", "item": "pen"}})
    verdict = check_records(b.history)
    assert verdict.validity is Validity.PASS, verdict.explain()
    assert verdict.stats["acknowledged"] == 2
    assert verdict.stats["acknowledged_writes"] == 4
    assert verdict.stats["unjudged"] == 0


def test_lost_record_names_write_replica_reader_and_fault() -> None:
    b = Records()
    b.create("app-0", "rec-lost", "n1", item="book")
    b.fault("crash", "app-0")
    b.read("app-1", "rec-lost", None)
    verdict = check_records(b.history)
    assert verdict.validity is Validity.FAIL
    [violation] = verdict.violations
    assert violation.kind == "lost"
    assert violation.replica == "app-1"
    assert "rec-lost" in violation.message
    assert "created by app-0 at +0.01s" in violation.message
    assert "not found by app-1" in violation.message and "final read" in violation.message
    assert "crash of app-0" in violation.message
    assert verdict.stats["lost"] == 1


def test_final_list_missing_an_acknowledged_record_is_lost() -> None:
    b = Records()
    b.create("app-0", "r1", "n1")
    b.create("app-0", "r2", "n2")
    b.fault("redeploy", "app-0")
    b.list("app-0", {"r1": {"nonce": "n1"}})
    verdict = check_records(b.history)
    assert [v.kind for v in verdict.violations] == ["lost"]
    assert "r2" in verdict.violations[0].message and "final list" in verdict.violations[0].message


def test_lost_update_shows_expected_and_stale_data() -> None:
    b = Records()
    b.create("app-0", "r1", "n1", item="book")
    b.update("app-1", "r1", {"nonce": "n1", "item": "pen"})
    b.fault("crash", "app-1")
    b.read("app-2", "r1", {"nonce": "n1", "item": "book"})
    [violation] = check_records(b.history).violations
    assert violation.kind == "lost"
    assert "update acknowledged by app-1" in violation.message
    assert '"pen"' in violation.message and '"book"' in violation.message
    assert "crash of app-1" in violation.message


def test_lost_delete_is_a_record_found_again() -> None:
    b = Records()
    b.create("app-0", "r1", "n1")
    b.delete("app-1", "r1")
    b.fault("graceful-restart", "app-1")
    b.read("app-1", "r1", {"nonce": "n1"})
    [violation] = check_records(b.history).violations
    assert violation.kind == "lost"
    assert "delete acknowledged by app-1" in violation.message and "still found it" in violation.message


def test_data_never_written_is_unexpected() -> None:
    b = Records()
    b.create("app-0", "r1", "n1", item="book")
    b.read("app-1", "r1", {"nonce": "n1", "item": "forged"})
    b.list("app-1", {"r1": {"nonce": "n1", "item": "book"}, "r9": {"nonce": "never-sent"}})
    verdict = check_records(b.history)
    assert [v.kind for v in verdict.violations] == ["unexpected", "unexpected"]
    assert "forged" in verdict.violations[0].message
    assert "r9" in verdict.violations[1].message and "no create ever sent" in verdict.violations[1].message
    assert verdict.stats["unexpected"] == 2


def test_refused_create_that_shows_up_is_unexpected() -> None:
    b = Records()
    b.create("app-0", None, "n-refused", outcome=FAIL)
    b.list("app-1", {"rx": {"nonce": "n-refused"}})
    [violation] = check_records(b.history).violations
    assert violation.kind == "unexpected" and "refused" in violation.message


def test_unknown_create_found_later_is_recovered() -> None:
    b = Records()
    b.create("app-0", "r1", "n1")
    b.create("app-1", None, "n-maybe", outcome=UNKNOWN)
    b.list("app-2", {"r1": {"nonce": "n1"}, "r7": {"nonce": "n-maybe"}})
    verdict = check_records(b.history)
    assert verdict.ok, verdict.explain()
    assert verdict.stats["recovered"] == 1


def test_unknown_create_absent_is_fine() -> None:
    b = Records()
    b.create("app-0", "r1", "n1")
    b.create("app-1", None, "n-maybe", outcome=UNKNOWN)
    b.list("app-2", {"r1": {"nonce": "n1"}})
    verdict = check_records(b.history)
    assert verdict.ok
    assert verdict.stats["recovered"] == 0


def test_unknown_update_allows_either_state() -> None:
    for seen in ({"nonce": "n1", "v": 1}, {"nonce": "n1", "v": 2}):
        b = Records()
        b.create("app-0", "r1", "n1", v=1)
        b.update("app-1", "r1", {"nonce": "n1", "v": 2}, outcome=UNKNOWN)
        b.read("app-2", "r1", seen)
        assert check_records(b.history).ok


def test_unknown_delete_allows_found_or_not() -> None:
    for seen in ({"nonce": "n1"}, None):
        b = Records()
        b.create("app-0", "r1", "n1")
        b.delete("app-1", "r1", outcome=UNKNOWN)
        b.read("app-2", "r1", seen)
        assert check_records(b.history).ok


def test_concurrent_acknowledged_updates_allow_either_order() -> None:
    for seen in ({"v": "a"}, {"v": "b"}):
        b = Records()
        b.create("app-0", "r1", "n1")
        b.update("app-1", "r1", {"v": "a"}, at=b.t, duration=0.5)
        b.update("app-2", "r1", {"v": "b"}, at=b.t + 0.1, duration=0.5)
        b.wait(1.0)
        b.read("app-0", "r1", seen)
        assert check_records(b.history).ok


def test_unambiguous_main_phase_read_is_judged() -> None:
    b = Records()
    b.create("app-0", "r1", "n1")
    b.read("app-1", "r1", None, phase="main")  # another replica does not see it: per-replica memory
    b.read("app-0", "r1", {"nonce": "n1"})
    verdict = check_records(b.history)
    assert [(v.kind, v.replica) for v in verdict.violations] == [("lost", "app-1")]


def test_main_phase_read_overlapping_an_unknown_write_is_skipped() -> None:
    b = Records()
    b.create("app-0", "r1", "n1")
    b.update("app-1", "r1", {"v": 2}, outcome=UNKNOWN)
    b.read("app-2", "r1", {"something": "else"}, phase="main")
    b.read("app-2", "r1", {"v": 2})
    verdict = check_records(b.history)
    assert verdict.ok
    assert verdict.stats["observations_ambiguous"] == 1


def test_unknown_read_is_no_evidence() -> None:
    b = Records()
    b.create("app-0", "r1", "n1")
    b.read("app-1", "r1", None, outcome=UNKNOWN)
    b.read("app-0", "r1", {"nonce": "n1"})
    verdict = check_records(b.history)
    assert verdict.ok
    assert verdict.stats["observations_judged"] == 1


def test_no_final_read_is_unknown_not_pass() -> None:
    b = Records()
    b.create("app-0", "r1", "n1")
    b.read("app-1", "r1", None, outcome=UNKNOWN)
    assert check_records(b.history).validity is Validity.UNKNOWN


# ---- files ----------------------------------------------------------------------

SHA_A, SHA_B = "a" * 64, "b" * 64


class Files(HistoryBuilder):
    def __init__(self) -> None:
        super().__init__("files")

    def upload(self, replica: str, fid: str | None, sha: str = SHA_A, outcome: Outcome = OK,
               stored: str | None = None) -> Operation:
        value = {"id": fid, "sha256": stored or sha} if outcome is OK else None
        return self.op("upload", replica, outcome, {"sha256": sha, "size": 10, "nonce": f"n-{fid}"}, value)

    def download(self, replica: str, fid: str, sha: str | None, phase: str = "final",
                 outcome: Outcome = OK, **kw: Any) -> Operation:
        value = {"found": sha is not None, "sha256": sha}
        return self.op("download", replica, outcome, {"id": fid}, value, phase=phase, **kw)


def test_files_clean_history_passes() -> None:
    b = Files()
    b.upload("app-0", "f1")
    b.fault("redeploy", "app-0")
    b.download("app-0", "f1", SHA_A)
    b.download("app-1", "f1", SHA_A)
    verdict = check_files(b.history)
    assert verdict.ok
    assert (verdict.stats["acknowledged"], verdict.stats["reads_judged"], verdict.stats["lost"]) == (1, 2, 0)


def test_file_lost_after_redeploy() -> None:
    b = Files()
    b.upload("app-0", "file-9")
    b.fault("redeploy", "app-0")
    b.download("app-0", "file-9", None)
    [violation] = check_files(b.history).violations
    assert violation.kind == "lost" and violation.replica == "app-0"
    assert "file-9" in violation.message and "redeploy of app-0" in violation.message
    assert "acknowledged by app-0" in violation.message


def test_file_with_other_content_is_corrupt() -> None:
    b = Files()
    b.upload("app-0", "f1")
    b.download("app-1", "f1", SHA_B)
    [violation] = check_files(b.history).violations
    assert violation.kind == "corrupt" and violation.replica == "app-1"
    assert "bbbbbbbbbbbb" in violation.message


def test_upload_acknowledged_with_another_hash_is_corrupt() -> None:
    b = Files()
    b.upload("app-0", "f1", stored=SHA_B)
    b.download("app-1", "f1", SHA_B)
    assert "corrupt" in [v.kind for v in check_files(b.history).violations]


def test_unknown_upload_is_neither_lost_nor_proof() -> None:
    b = Files()
    b.upload("app-0", None, outcome=UNKNOWN)
    b.upload("app-0", "f1")
    b.download("app-1", "f1", SHA_A)
    verdict = check_files(b.history)
    assert verdict.ok
    assert verdict.stats["unknown_uploads"] == 1


def test_download_concurrent_with_its_upload_is_not_judged() -> None:
    b = Files()
    up = b.op("upload", "app-0", OK, {"sha256": SHA_A, "size": 1}, {"id": "f1", "sha256": SHA_A}, at=1000.0,
              duration=1.0)
    b.op("download", "app-1", OK, {"id": "f1"}, {"found": False, "sha256": None}, at=up.start + 0.1)
    b.download("app-1", "f1", SHA_A, at=1002.0)
    verdict = check_files(b.history)
    assert verdict.ok
    assert verdict.stats["reads_judged"] == 1


def test_files_unknown_download_only_is_unknown() -> None:
    b = Files()
    b.upload("app-0", "f1")
    b.download("app-1", "f1", None, outcome=UNKNOWN)
    assert check_files(b.history).validity is Validity.UNKNOWN


def test_recovered_record_must_carry_the_data_its_create_sent() -> None:
    b = Records()
    b.create("app-1", None, "n-maybe", outcome=UNKNOWN, item="book")
    b.list("app-2", {"r7": {"nonce": "n-maybe", "item": "altered"}})
    [violation] = check_records(b.history).violations
    assert violation.kind == "unexpected" and "other data" in violation.message
