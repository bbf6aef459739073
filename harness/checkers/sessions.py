"""Session durability and revocation, judged from the history alone.

The model: a login acknowledged with a token creates a session; a logout acknowledged
as revoked ends it. Every read of the token (``whoami``) that starts after the login
ended must then be accepted, on every replica, until a logout may have taken effect;
every read that starts after an acknowledged logout ended must be rejected.

Unknown outcomes are honoured both ways: a logout whose outcome is unknown may take
effect at any moment after it started, so reads after it prove nothing (a rejection
there is counted as *recovered*: the logout did take effect). A read that failed or
timed out is no evidence at all. Reads of a session past its ``expires_at`` are left
to the expiry checker.
"""

from __future__ import annotations

from collections import defaultdict

from harness.checkers.base import Validity, Verdict, Violation, describe_faults, faults_between, first_time
from harness.history import History, Operation, Outcome
from harness.report.redact import pseudonym

NAME = "sessions"


def _token_label(token: str) -> str:
    """A token as messages show it: its pseudonym, never a prefix (a prefix is part of the secret)."""
    return pseudonym(token)


def _observations(ops: list[Operation]) -> list[tuple[Operation, bool]]:
    """(operation, accepted) for every definite answer about a token's validity."""
    seen = []
    for op in ops:
        if op.outcome is not Outcome.OK or "token" not in op.args:
            continue
        if op.name == "whoami":
            seen.append((op, bool(op.value and op.value.get("accepted"))))
        elif op.name == "logout" and op.value and not op.value.get("revoked"):
            seen.append((op, False))  # "no such session" is a rejection too
    return seen


def check_sessions(history: History) -> Verdict:
    """Lost sessions, sessions accepted after logout, and sessions never created."""
    ops = history.operations(NAME)
    t0 = first_time(history)

    logins = {
        op.value["token"]: op
        for op in ops
        if op.name == "login" and op.outcome is Outcome.OK and op.value and op.value.get("token")
    }
    logouts: dict[str, list[Operation]] = defaultdict(list)
    for op in ops:
        if op.name == "logout" and op.outcome is not Outcome.FAIL and "token" in op.args:
            logouts[op.args["token"]].append(op)

    violations: list[Violation] = []
    judged = recovered = indeterminate = expired = 0

    for read, accepted in _observations(ops):
        token = read.args["token"]
        login = logins.get(token)
        if login is None:
            if accepted:
                violations.append(
                    Violation(
                        NAME,
                        "unexpected",
                        f"{read.replica} accepted token {_token_label(token)} at +{read.start - t0:.2f}s, "
                        "which no acknowledged login ever returned",
                        replica=read.replica,
                        op_ids=(read.id,),
                        time=read.start,
                    )
                )
            continue
        if read.start < login.end:
            continue  # concurrent with its own login: either answer is fine
        expires_at = (login.value or {}).get("expires_at")
        if expires_at is not None and read.end >= float(expires_at):
            expired += 1
            continue
        revoked_before = [
            lo for lo in logouts[token]
            if lo.outcome is Outcome.OK and lo.value and lo.value.get("revoked") and lo.end <= read.start
            and lo.id != read.id
        ]
        maybe_revoking = [lo for lo in logouts[token] if lo.start < read.end and lo.id != read.id]
        user = login.value.get("user")
        in_between = describe_faults(faults_between(history, login.end, read.start), t0)
        written = f"session of user '{user}' (token {_token_label(token)}) acknowledged by {login.replica} at +{login.end - t0:.2f}s"

        if revoked_before:
            judged += 1
            logout = revoked_before[0]
            if accepted:
                violations.append(
                    Violation(
                        NAME,
                        "revoked-but-accepted",
                        f"{written} was logged out on {logout.replica} at +{logout.end - t0:.2f}s, "
                        f"but {read.replica} still accepted it at +{read.start - t0:.2f}s",
                        replica=read.replica,
                        op_ids=(login.id, logout.id, read.id),
                        time=read.start,
                        evidence={"login": login.id, "logout": logout.id, "read": read.id, "status": read.status},
                    )
                )
        elif maybe_revoking:
            indeterminate += 1
            if not accepted:
                recovered += 1
        else:
            judged += 1
            if not accepted:
                violations.append(
                    Violation(
                        NAME,
                        "lost",
                        f"{written} was rejected (HTTP {read.status}) by {read.replica} at "
                        f"+{read.start - t0:.2f}s; in between: {in_between}",
                        replica=read.replica,
                        op_ids=(login.id, read.id),
                        time=read.start,
                        evidence={"login": login.id, "read": read.id, "status": read.status, "user": user},
                    )
                )
            elif read.value.get("user") not in (None, user):
                violations.append(
                    Violation(
                        NAME,
                        "unexpected",
                        f"{written} was answered by {read.replica} at +{read.start - t0:.2f}s "
                        f"as user '{read.value.get('user')}'",
                        replica=read.replica,
                        op_ids=(login.id, read.id),
                        time=read.start,
                    )
                )

    stats = {
        "acknowledged": len(logins),
        "reads_judged": judged,
        "indeterminate": indeterminate,
        "recovered": recovered,
        "expired_skipped": expired,
        "lost": sum(v.kind == "lost" for v in violations),
        "revoked_but_accepted": sum(v.kind == "revoked-but-accepted" for v in violations),
    }
    if violations:
        return Verdict(NAME, Validity.FAIL, tuple(violations), stats=stats)
    final_reads = [op for op, _ in _observations(ops) if op.phase == "final"]
    if logins and not final_reads:
        return Verdict(NAME, Validity.UNKNOWN, notes=("no final read answered: durability not judged",), stats=stats)
    return Verdict(NAME, Validity.PASS, stats=stats)
