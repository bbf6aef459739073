"""The quote and session-expiry checkers on hand-written histories."""

from __future__ import annotations

from typing import Any

from harness.checkers.base import Validity
from harness.checkers.expiry import check_quotes, check_session_expiry
from harness.history import Operation, Outcome
from harness.redaction import pseudonym
from tests.unit.histories import OK, UNKNOWN, HistoryBuilder


class Quotes(HistoryBuilder):
    def __init__(self) -> None:
        super().__init__("quotes")

    def create(self, replica: str, qid: str, ttl: float = 10.0, outcome: Outcome = OK) -> Operation:
        expires_at = self.t + ttl
        return self.op("create", replica, outcome, {"amount": 42, "ttl": ttl}, {"id": qid, "expires_at": expires_at})

    def read(self, replica: str, qid: str, found: bool = True, expired: bool = False, used: bool = False,
             phase: str = "final", outcome: Outcome = OK, **kw: Any) -> Operation:
        value = {"found": found, "expired": expired, "used": used}
        return self.op("read", replica, outcome, {"id": qid}, value, phase=phase, **kw)

    def use(self, replica: str, qid: str, refused: str | None = None, outcome: Outcome = OK, **kw: Any) -> Operation:
        value = {"used": True} if refused is None else {"used": False, "reason": refused}
        return self.op("use", replica, outcome, {"id": qid}, value, **kw)


def test_clean_history_passes() -> None:
    b = Quotes()
    q = b.create("app-0", "q1", ttl=2.0)
    b.use("app-1", "q1")
    b.use("app-2", "q1", refused="already-used")
    b.read("app-0", "q1", used=True)
    b.t = q.value["expires_at"] + 0.5
    b.use("app-0", "q1", refused="expired")
    b.read("app-1", "q1", found=False)
    verdict = check_quotes(b.history)
    assert verdict.validity is Validity.PASS, verdict.explain()
    assert verdict.stats["probed_after_expiry"] == 2
    assert verdict.stats["uses_accepted"] == 1


def test_accepted_after_expiry_is_a_violation() -> None:
    b = Quotes()
    q = b.create("app-0", "q-old", ttl=1.0)
    b.fault("graceful-restart", "app-0")
    b.t = q.value["expires_at"] + 1.0
    b.read("app-1", "q-old")
    b.use("app-0", "q-old")
    verdict = check_quotes(b.history)
    assert [v.kind for v in verdict.violations] == ["expired-but-accepted", "expired-but-accepted"]
    assert [v.replica for v in verdict.violations] == ["app-1", "app-0"]
    assert "q-old" in verdict.violations[1].message and "after its expiry" in verdict.violations[1].message


def test_clock_tolerance_spares_answers_right_at_expiry() -> None:
    b = Quotes()
    q = b.create("app-0", "q1", ttl=1.0)
    b.use("app-1", "q1", at=q.value["expires_at"] + 0.1)
    assert not check_quotes(b.history).violations
    assert [v.kind for v in check_quotes(b.history, tolerance=0.0).violations] == ["expired-but-accepted"]


def test_used_twice_names_both_uses() -> None:
    b = Quotes()
    b.create("app-0", "q1")
    b.use("app-0", "q1")
    b.fault("crash", "app-0")
    b.use("app-1", "q1")
    [violation] = check_quotes(b.history).violations
    assert violation.kind == "used-twice"
    assert violation.replica == "app-1"
    assert "used on app-0" in violation.message and "used again on app-1" in violation.message


def test_concurrent_uses_both_accepted_is_used_twice() -> None:
    b = Quotes()
    b.create("app-0", "q1")
    b.use("app-1", "q1", at=b.t, duration=0.3)
    b.use("app-2", "q1", at=b.t + 0.1, duration=0.3)
    assert [v.kind for v in check_quotes(b.history).violations] == ["used-twice"]


def test_acknowledged_use_plus_unknown_use_is_fine() -> None:
    b = Quotes()
    b.create("app-0", "q1")
    b.use("app-1", "q1", outcome=UNKNOWN)
    b.use("app-2", "q1")
    b.read("app-0", "q1", used=True)
    verdict = check_quotes(b.history)
    assert verdict.ok
    assert verdict.stats["uses_unknown"] == 1


def test_already_used_without_any_use_is_lost() -> None:
    b = Quotes()
    b.create("app-0", "q1")
    b.use("app-1", "q1", refused="already-used")
    [violation] = check_quotes(b.history).violations
    assert violation.kind == "lost" and violation.replica == "app-1"
    assert "no use of it had been attempted" in violation.message


def test_already_used_after_only_refused_uses_is_lost() -> None:
    b = Quotes()
    b.create("app-0", "q1")
    b.use("app-1", "q1", refused="not-found")
    b.use("app-2", "q1", refused="already-used")
    verdict = check_quotes(b.history)
    assert [(v.kind, v.replica) for v in verdict.violations] == [("lost", "app-1"), ("lost", "app-2")]


def test_already_used_after_an_unknown_use_is_fine() -> None:
    b = Quotes()
    b.create("app-0", "q1")
    b.use("app-2", "q1", outcome=UNKNOWN)
    b.use("app-1", "q1", refused="already-used")
    b.read("app-0", "q1", used=True)
    assert check_quotes(b.history).ok


def test_unexpired_quote_not_found_is_lost() -> None:
    b = Quotes()
    b.create("app-0", "q-gone")
    b.fault("redeploy", "app-0")
    b.read("app-0", "q-gone", found=False)
    [violation] = check_quotes(b.history).violations
    assert violation.kind == "lost" and violation.replica == "app-0"
    assert "q-gone" in violation.message and "final read" in violation.message
    assert "redeploy of app-0" in violation.message


def test_use_forgotten_after_restart_is_lost() -> None:
    b = Quotes()
    b.create("app-0", "q1")
    b.use("app-0", "q1")
    b.fault("graceful-restart", "app-0")
    b.read("app-0", "q1", used=False)
    [violation] = check_quotes(b.history).violations
    assert violation.kind == "lost" and "answered it as not used" in violation.message


def test_expired_before_its_time_is_expired_early() -> None:
    b = Quotes()
    b.create("app-0", "q1", ttl=60.0)
    b.read("app-1", "q1", expired=True)
    assert [v.kind for v in check_quotes(b.history).violations] == ["expired-early"]


def test_unknown_read_is_no_evidence_and_no_final_read_is_unknown() -> None:
    b = Quotes()
    b.create("app-0", "q1")
    b.read("app-1", "q1", found=False, outcome=UNKNOWN)
    verdict = check_quotes(b.history)
    assert verdict.validity is Validity.UNKNOWN
    assert not verdict.violations


def test_unknown_create_is_not_judged() -> None:
    b = Quotes()
    b.create("app-0", "q-maybe", outcome=UNKNOWN)
    b.create("app-0", "q1")
    b.read("app-1", "q1")
    verdict = check_quotes(b.history)
    assert verdict.ok
    assert verdict.stats["acknowledged"] == 1


# ---- session expiry -------------------------------------------------------------


def _sessions(accepted: bool | None, after: float = 1.0) -> HistoryBuilder:
    b = HistoryBuilder("sessions")
    login = b.op("login", "app-0", OK, {"user": "alice"},
                 {"token": "tok-abcdefgh", "user": "alice", "expires_at": b.t + 1.0})
    b.fault("graceful-restart", "app-0")
    b.t = login.value["expires_at"] + after
    if accepted is not None:
        b.op("whoami", "app-1", OK, {"token": "tok-abcdefgh"}, {"accepted": accepted}, phase="final")
    return b


def test_session_accepted_after_expiry_is_a_violation() -> None:
    verdict = check_session_expiry(_sessions(accepted=True).history)
    [violation] = verdict.violations
    assert violation.kind == "expired-but-accepted" and violation.replica == "app-1"
    assert "alice" in violation.message and pseudonym("tok-abcdefgh") in violation.message
    assert "tok-abcd" not in violation.message
    assert "graceful-restart of app-0" in violation.message


def test_session_rejected_after_expiry_passes() -> None:
    verdict = check_session_expiry(_sessions(accepted=False).history)
    assert verdict.ok
    assert verdict.stats["probed_after_expiry"] == 1


def test_session_never_probed_after_expiry_is_unknown() -> None:
    assert check_session_expiry(_sessions(accepted=None).history).validity is Validity.UNKNOWN
    assert check_session_expiry(_sessions(accepted=True, after=0.1).history).validity is Validity.UNKNOWN
