"""The sessions checker on hand-written histories: lost, recovered, revoked-but-accepted, clean."""

from __future__ import annotations

from typing import Any

from harness.checkers.base import Validity
from harness.checkers.sessions import check_sessions
from harness.history import History, Outcome
from harness.redaction import pseudonym


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
    """A login of unknown outcome (here even with the token it would have returned) creates no session
    that must exist: its token rejected later is not lost, and it is not counted as acknowledged."""
    b = Builder()
    b.op("login", "app-0", Outcome.UNKNOWN, {"user": "bob"}, {"token": "tok-unacked", "user": "bob"}, status=None)
    b.login("app-0", "tok-a")
    b.read("app-1", "tok-unacked", False, user="bob")
    b.read("app-1", "tok-a", True)
    verdict = check_sessions(b.history)
    assert verdict.ok, verdict.explain()
    assert verdict.stats["acknowledged"] == 1 and verdict.stats["reads_judged"] == 1


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


# --- session models: client-side revocation is a finding, not a violation -----------------------------------------

def modelled(model: str | None) -> Builder:
    """A Builder whose operations carry the declared session model in their args, as the workload records it."""
    b = Builder()
    if model is None:
        return b
    plain = b.op

    def op(name: str, replica: str, outcome: Outcome, args: dict[str, Any], *rest: Any, **kwargs: Any) -> None:
        plain(name, replica, outcome, {**args, "model": model}, *rest, **kwargs)

    b.op = op  # type: ignore[method-assign]
    return b


def logged_out_but_accepted(b: Builder) -> Builder:
    """A token logged out on app-1 and then still accepted by app-1 itself and by app-0."""
    b.login("app-0", "tok-a")
    b.login("app-1", "tok-b", user="bob")
    b.logout("app-1", "tok-a")
    b.read("app-1", "tok-a", True)
    b.read("app-0", "tok-a", True)
    b.read("app-0", "tok-b", True, user="bob")
    return b


def test_client_side_revocation_is_a_finding_not_a_violation() -> None:
    verdict = check_sessions(logged_out_but_accepted(modelled("client-side")).history)
    assert verdict.validity is Validity.PASS
    assert verdict.violations == ()
    [finding] = verdict.findings
    assert finding.checker == "sessions" and finding.kind == "revocation"
    assert "2 reads on app-0, app-1 accepted 1 token after an acknowledged logout" in finding.message
    assert finding.message.startswith("client-side sessions cannot be revoked: ")
    assert "cannot revoke a copy" in finding.message and "not lost state" in finding.message
    assert "tok-a" not in finding.message and pseudonym("tok-a") in finding.message
    assert finding.evidence["reads"] == 2 and finding.evidence["tokens"] == 1
    assert verdict.stats["accepted_after_logout_client_side"] == 2 and verdict.stats["model"] == "client-side"


def test_client_side_still_reports_lost_sessions_beside_the_finding() -> None:
    """A per-start random signing secret: after the crash the replica rejects every token it signed."""
    b = logged_out_but_accepted(modelled("client-side"))
    b.login("app-0", "tok-c", user="carol")
    b.fault("crash", "app-0")
    b.read("app-0", "tok-c", False, user="carol")
    b.read("app-1", "tok-c", False, user="carol")  # another replica's secret never accepted it
    verdict = check_sessions(b.history)
    assert verdict.validity is Validity.FAIL
    assert [v.kind for v in verdict.violations] == ["lost", "lost"]
    assert "crash of app-0" in verdict.violations[0].message
    assert [f.kind for f in verdict.findings] == ["revocation"]  # reported apart, never in place of a loss
    assert "finding: [sessions/revocation]" in verdict.explain()


def test_client_side_token_one_replica_cannot_verify_is_lost_without_any_fault() -> None:
    b = modelled("client-side")
    b.login("app-0", "tok-a")
    b.read("app-1", "tok-a", False)
    [violation] = check_sessions(b.history).violations
    assert violation.kind == "lost" and violation.replica == "app-1" and "no fault in between" in violation.message


def test_client_side_logout_honoured_gives_no_finding() -> None:
    b = modelled("client-side")
    b.login("app-0", "tok-a")
    b.logout("app-1", "tok-a")
    b.read("app-0", "tok-a", False)
    verdict = check_sessions(b.history)
    assert verdict.ok and verdict.findings == ()


def test_undeclared_model_names_the_client_side_signature_and_the_field() -> None:
    verdict = check_sessions(logged_out_but_accepted(modelled(None)).history)
    assert verdict.validity is Validity.FAIL and verdict.findings == ()
    same, other = verdict.violations
    assert same.kind == other.kind == "revoked-but-accepted"
    assert same.replica == "app-1" and "app-1 itself still accepted it" in same.message
    assert "signature of client-side sessions" in same.message
    assert "operations.sessions.model: client-side" in same.message
    assert same.evidence["hint"]
    # another replica accepting what the logout's own replica rejects is a stale cache, not the signature
    assert other.replica == "app-0" and "client-side" not in other.message and "hint" not in other.evidence
    assert verdict.stats["model"].startswith("undeclared")


def test_undeclared_model_hint_only_when_the_logout_replica_accepts() -> None:
    b = modelled(None)
    b.login("app-0", "tok-a")
    b.logout("app-1", "tok-a")
    b.read("app-1", "tok-a", False)
    b.read("app-0", "tok-a", True)  # a stale per-replica cache
    [violation] = check_sessions(b.history).violations
    assert violation.kind == "revoked-but-accepted" and "client-side" not in violation.message


def test_declared_server_side_is_judged_as_before_without_the_hint() -> None:
    verdict = check_sessions(logged_out_but_accepted(modelled("server-side")).history)
    assert verdict.validity is Validity.FAIL and verdict.findings == ()
    assert [v.kind for v in verdict.violations] == ["revoked-but-accepted"] * 2
    assert all("client-side" not in v.message for v in verdict.violations)
    assert "app-1 still accepted it" in verdict.violations[0].message
    assert verdict.stats["model"] == "server-side"


# --- the declared model reaches the history ------------------------------------------------------------------------

def sessions_ops(model: str | None) -> Any:
    from harness.operations import Operations

    ops: dict[str, Any] = {"login": {"method": "POST", "path": "/login", "extract": {"token": {"json": "token"}}},
                           "whoami": {"path": "/me", "headers": {"Authorization": "Bearer {token}"}}}
    if model is not None:
        ops["model"] = model
    return Operations.model_validate({"sessions": ops})


def test_spec_model_is_a_setting_and_refuses_unknown_models() -> None:
    import pydantic

    from harness.spec_adapter import SpecAdapter

    assert SpecAdapter(sessions_ops("client-side")).settings("sessions") == {"model": "client-side"}
    assert SpecAdapter(sessions_ops(None)).settings("sessions") == {}  # undeclared leaves no trace
    try:
        sessions_ops("stateless")
    except pydantic.ValidationError as exc:
        assert "server-side" in str(exc) and "client-side" in str(exc)
    else:
        raise AssertionError("an unknown session model was accepted")


def test_python_adapter_declares_the_model_as_a_class_attribute() -> None:
    from harness.adapter import Adapter

    class Cookies(Adapter):
        sessions_model = "client-side"

    assert Cookies().settings("sessions") == {"model": "client-side"}
    assert Adapter().settings("sessions") == {}


def test_workload_records_the_model_in_every_session_operation() -> None:
    from types import SimpleNamespace

    from harness.spec_adapter import SpecAdapter
    from harness.workloads.sessions import SessionWorkload

    declared = SimpleNamespace(adapter=SpecAdapter(sessions_ops("client-side")))
    undeclared = SimpleNamespace(adapter=SpecAdapter(sessions_ops(None)))
    assert SessionWorkload._args(declared, {"token": "t"}) == {"token": "t", "model": "client-side"}  # type: ignore[arg-type]
    assert SessionWorkload._args(undeclared, {"token": "t"}) == {"token": "t"}  # type: ignore[arg-type]
