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

Session models (``operations.sessions.model``, carried in each operation's args as
``model``; docs/models.md): on a *server-side* model the token names state the app
keeps, so a token accepted after an acknowledged logout is a violation
(``revoked-but-accepted``). On a *client-side* model a signed cookie or token carries
the session: the server cannot revoke a copy, so the same observation is a finding of
the model (``revocation``), reported apart and not failing the verdict; every other
check applies unchanged (a session rejected after a restart is still ``lost``, e.g. a
signing secret drawn anew at every start). With no model declared, sessions are
judged as server-side, and a logout not honoured even by the replica that processed
it is named for what it looks like: the signature of client-side sessions.
"""

from __future__ import annotations

from collections import defaultdict

from harness.checkers.base import Finding, Validity, Verdict, Violation, describe_faults, faults_between, first_time
from harness.checkers.base import judges
from harness.history import History, Operation, Outcome
from harness.report.redact import pseudonym

NAME = "sessions"
CLIENT_SIDE = "client-side"

#: The spec field a user sets to declare the session model (messages name it).
MODEL_FIELD = "operations.sessions.model"

#: Why revocation is a finding, not a violation, on client-side sessions.
CLIENT_SIDE_REASON = (
    f"a signed cookie or token carries the session (declared: {MODEL_FIELD}: {CLIENT_SIDE}), so the "
    "server cannot revoke a copy of it: a copied token stays valid until it expires. A property of the session "
    "model, not lost state; revoking needs a server-side store or a deny-list of logged-out tokens")

#: What a logout that even its own replica ignores looks like, when no model is declared.
CLIENT_SIDE_HINT = (
    "logout is not honoured even by the replica that processed it: the signature of client-side sessions (a "
    "signed cookie or token the server cannot revoke). If the target's sessions are client-side by design, "
    f"declare '{MODEL_FIELD}: {CLIENT_SIDE}' in its spec: this is then reported as a finding of the "
    "session model, while every other check still applies")


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


def _model(*ops: Operation) -> str | None:
    """The session model the first of ``ops`` that names one declares (None: not declared)."""
    for op in ops:
        model = op.args.get("model")
        if model is not None:
            return str(model)
    return None


def _revocation_finding(accepted_after_logout: list[tuple[Operation, Operation, Operation]], t0: float) -> Finding:
    """One finding for every read that accepted a logged-out client-side token, with the first as example."""
    login, logout, read = accepted_after_logout[0]
    tokens = {read.args["token"] for _, _, read in accepted_after_logout}
    replicas = sorted({read.replica for _, _, read in accepted_after_logout})
    count = len(accepted_after_logout)
    return Finding(
        NAME,
        "revocation",
        f"client-side sessions cannot be revoked: {count} read{'s' if count != 1 else ''} on "
        f"{', '.join(replicas)} accepted {len(tokens)} token{'s' if len(tokens) != 1 else ''} after an "
        f"acknowledged logout (first: token {_token_label(read.args['token'])}, logged out on {logout.replica} at "
        f"+{logout.end - t0:.2f}s, accepted by {read.replica} at +{read.start - t0:.2f}s). Not a violation: "
        f"{CLIENT_SIDE_REASON}",
        replica=read.replica,
        op_ids=(login.id, logout.id, read.id),
        time=read.start,
        evidence={"model": CLIENT_SIDE, "reads": count, "tokens": len(tokens), "replicas": replicas,
                  "reads_accepted_after_logout": [r.id for _, _, r in accepted_after_logout]},
    )


@judges("sessions", name=NAME)
def check_sessions(history: History) -> Verdict:
    """Lost sessions, sessions accepted after logout, and sessions never created.

    On client-side sessions, a token accepted after its logout is a ``revocation``
    finding instead of a violation (see the module docstring).
    """
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
    accepted_after_logout: list[tuple[Operation, Operation, Operation]] = []  # client-side: (login, logout, read)
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
            model = _model(login, read, logout)
            if accepted and model == CLIENT_SIDE:
                accepted_after_logout.append((login, logout, read))
            elif accepted:
                itself = model is None and read.replica == logout.replica
                violations.append(
                    Violation(
                        NAME,
                        "revoked-but-accepted",
                        f"{written} was logged out on {logout.replica} at +{logout.end - t0:.2f}s, "
                        f"but {read.replica}{' itself' if itself else ''} still accepted it at "
                        f"+{read.start - t0:.2f}s" + (f"; {CLIENT_SIDE_HINT}" if itself else ""),
                        replica=read.replica,
                        op_ids=(login.id, logout.id, read.id),
                        time=read.start,
                        evidence={"login": login.id, "logout": logout.id, "read": read.id, "status": read.status,
                                  **({"hint": f"declare {MODEL_FIELD} if sessions are client-side"} if itself
                                     else {})},
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
        "accepted_after_logout_client_side": len(accepted_after_logout),
        "model": _model(*ops) or "undeclared (judged as server-side)",
    }
    findings = (_revocation_finding(accepted_after_logout, t0),) if accepted_after_logout else ()
    if violations:
        return Verdict(NAME, Validity.FAIL, tuple(violations), stats=stats, findings=findings)
    final_reads = [op for op, _ in _observations(ops) if op.phase == "final"]
    if logins and not final_reads:
        return Verdict(NAME, Validity.UNKNOWN, notes=("no final read answered: durability not judged",), stats=stats,
                       findings=findings)
    return Verdict(NAME, Validity.PASS, stats=stats, findings=findings)
