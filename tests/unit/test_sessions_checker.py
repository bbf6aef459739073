"""The sessions checker on hand-written histories: lost, recovered, revoked-but-accepted, clean."""

from __future__ import annotations

from typing import Any

from harness.checkers.base import Validity
from harness.checkers.sessions import check_sessions
from harness.history import History, Outcome
from harness.report.redact import pseudonym


class Builder:
    """Writes a history by hand, one operation per line of a test."""

    def __init__(self) -> None:
        self.history = History()
        self.t = 1000.0

    def op(self, name: str, replica: str, outcome: Outcome, args: dict[str, Any], value: Any = None,
           status: int | None = 200, phase: str = "main") -> None:
        self.history.record_op(kind="sessions", name=name, replica=replica, start=self.t, end=self.t + 0.01,
                               outcome=outcome, args=args, value=value, status=status, phase=phase)
        self.t += 0.1

    def login(self, replica: str, token: str, user: str = "alice", expires_at: float | None = None,
              outcome: Outcome = Outcome.OK) -> None:
        value = {"token": token, "user": user, "expires_at": expires_at} if outcome is Outcome.OK else None
        self.op("login", replica, outcome, {"user": user}, value, status=200 if outcome is Outcome.OK else None)

    def read(self, replica: str, token: str, accepted: bool | None, user: str = "alice", phase: str = "final") -> None:
        if accepted is None:  # timed out: no evidence either way
            self.op("whoami", replica, Outcome.UNKNOWN, {"token": token}, status=None, phase=phase)
        else:
            value = {"accepted": True, "user": user} if accepted else {"accepted": False}
            self.op("whoami", replica, Outcome.OK, {"token": token}, value, 200 if accepted else 401, phase)

    def logout(self, replica: str, token: str, outcome: Outcome = Outcome.OK, revoked: bool = True) -> None:
        value = {"revoked": revoked} if outcome is Outcome.OK else None
        self.op("logout", replica, outcome, {"token": token}, value, status=200 if outcome is Outcome.OK else None)

    def fault(self, name: str, target: str) -> None:
        self.history.record_fault(name, target, self.t, self.t + 0.5)
        self.t += 1.0


def test_clean_history_passes() -> None:
    b = Builder()
    b.login("app-0", "tok-a")
    b.fault("crash", "app-0")
    b.read("app-0", "tok-a", True)
    b.read("app-1", "tok-a", True)
    verdict = check_sessions(b.history)
    assert verdict.validity is Validity.PASS
    assert verdict.stats["reads_judged"] == 2


def test_lost_session_names_token_replica_and_fault() -> None:
    b = Builder()
    b.login("app-0", "tok-lost-123", user="bob")
    b.fault("crash", "app-0")
    b.read("app-0", "tok-lost-123", False, user="bob")
    b.read("app-1", "tok-lost-123", True, user="bob")
    verdict = check_sessions(b.history)
    assert verdict.validity is Validity.FAIL
    [violation] = verdict.violations
    assert violation.kind == "lost"
    assert violation.replica == "app-0"
    assert "bob" in violation.message and pseudonym("tok-lost-123") in violation.message
    assert "tok-lost" not in violation.message  # no part of a token reaches a message
    assert "crash of app-0" in violation.message
    assert verdict.stats["lost"] == 1


def test_unknown_login_is_neither_lost_nor_proof() -> None:
    b = Builder()
    b.login("app-0", "never-seen", outcome=Outcome.UNKNOWN)
    b.login("app-0", "tok-a")
    b.read("app-1", "tok-a", True)
    assert check_sessions(b.history).ok


def test_timed_out_read_is_no_evidence() -> None:
    b = Builder()
    b.login("app-0", "tok-a")
    b.read("app-1", "tok-a", None)
    b.read("app-0", "tok-a", True)
    verdict = check_sessions(b.history)
    assert verdict.ok
    assert verdict.stats["reads_judged"] == 1


def test_unknown_logout_then_rejected_is_recovered_not_lost() -> None:
    b = Builder()
    b.login("app-0", "tok-a")
    b.logout("app-1", "tok-a", outcome=Outcome.UNKNOWN)
    b.read("app-0", "tok-a", False)
    verdict = check_sessions(b.history)
    assert verdict.ok
    assert verdict.stats["recovered"] == 1


def test_unknown_logout_then_accepted_is_fine_too() -> None:
    b = Builder()
    b.login("app-0", "tok-a")
    b.logout("app-1", "tok-a", outcome=Outcome.UNKNOWN)
    b.read("app-0", "tok-a", True)
    assert check_sessions(b.history).ok


def test_revoked_but_accepted_names_the_accepting_replica() -> None:
    b = Builder()
    b.login("app-0", "tok-a")
    b.read("app-2", "tok-a", True, phase="main")
    b.logout("app-1", "tok-a")
    b.read("app-1", "tok-a", False)
    b.read("app-2", "tok-a", True)
    verdict = check_sessions(b.history)
    assert verdict.validity is Validity.FAIL
    [violation] = verdict.violations
    assert violation.kind == "revoked-but-accepted"
    assert violation.replica == "app-2"
    assert "logged out on app-1" in violation.message


def test_logout_rejected_everywhere_passes() -> None:
    b = Builder()
    b.login("app-0", "tok-a")
    b.logout("app-1", "tok-a")
    for replica in ("app-0", "app-1", "app-2"):
        b.read(replica, "tok-a", False)
    assert check_sessions(b.history).ok


def test_logout_answering_no_such_session_counts_as_lost() -> None:
    b = Builder()
    b.login("app-0", "tok-a")
    b.logout("app-1", "tok-a", revoked=False)
    b.read("app-0", "tok-a", True)
    verdict = check_sessions(b.history)
    assert [v.kind for v in verdict.violations] == ["lost"]
    assert verdict.violations[0].replica == "app-1"


def test_accepting_a_token_never_issued_is_unexpected() -> None:
    b = Builder()
    b.login("app-0", "tok-a")
    b.read("app-0", "tok-a", True)
    b.read("app-0", "forged", True)
    assert [v.kind for v in check_sessions(b.history).violations] == ["unexpected"]


def test_expired_session_is_left_to_the_expiry_checker() -> None:
    b = Builder()
    b.login("app-0", "tok-a", expires_at=b.t + 0.05)
    b.fault("crash", "app-0")
    b.read("app-0", "tok-a", False)
    verdict = check_sessions(b.history)
    assert verdict.ok
    assert verdict.stats["expired_skipped"] == 1


def test_no_final_read_is_unknown_not_pass() -> None:
    b = Builder()
    b.login("app-0", "tok-a")
    b.read("app-1", "tok-a", None)
    assert check_sessions(b.history).validity is Validity.UNKNOWN
