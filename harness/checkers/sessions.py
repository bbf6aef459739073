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

from bisect import bisect_right
from collections import defaultdict
from dataclasses import dataclass, field
from itertools import accumulate

from harness.checkers.base import Finding, Validity, Verdict, Violation, describe_faults, faults_between, first_time
from harness.checkers.base import judges
from harness.history import History, Operation, Outcome
from harness.redaction import pseudonym

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


def _logins(ops: list[Operation]) -> dict[str, Operation]:
    """Every acknowledged login, by the token it returned: the sessions that must exist."""
    return {
        op.value["token"]: op
        for op in ops
        if op.name == "login" and op.outcome is Outcome.OK and op.value and op.value.get("token")
    }


class _Logouts:
    """One token's logouts that may have taken effect (ok or unknown, never fail), indexed by time.

    A session read all through a soak, and logged out now and then, has many logouts; each read
    asks two questions of them, answered here by a lookup instead of a pass over all of them.
    """

    def __init__(self, logouts: list[Operation]) -> None:
        revoked = sorted((lo for lo in logouts if lo.outcome is Outcome.OK and lo.value and lo.value.get("revoked")),
                         key=lambda lo: lo.end)
        self.revoked_ends = [lo.end for lo in revoked]
        position = {lo.id: i for i, lo in enumerate(logouts)}
        # the first in the history's order among the first k to end
        self.first_revoked = list(accumulate(revoked, lambda a, b: a if position[a.id] <= position[b.id] else b))
        self.earliest = sorted(logouts, key=lambda lo: lo.start)[:2]  # the two that started first

    def revoked_before(self, read: Operation) -> Operation | None:
        """The first (in the history's order) acknowledged revoking logout that ended by the time ``read`` began."""
        ended = bisect_right(self.revoked_ends, read.start)
        return self.first_revoked[ended - 1] if ended else None

    def started_before(self, read: Operation) -> bool:
        """Whether a logout other than ``read`` itself started before it ended."""
        return any(lo.start < read.end for lo in self.earliest if lo.id != read.id)


def _logouts(ops: list[Operation]) -> dict[str, _Logouts]:
    """Every logout that may have taken effect (ok or unknown, never fail), by token."""
    logouts: dict[str, list[Operation]] = defaultdict(list)
    for op in ops:
        if op.name == "logout" and op.outcome is not Outcome.FAIL and "token" in op.args:
            logouts[op.args["token"]].append(op)
    return defaultdict(lambda: _Logouts([]), {token: _Logouts(los) for token, los in logouts.items()})


@dataclass
class _Tally:
    """What the reads came to besides violations: the counts of the stats, and the client-side
    reads accepted after an acknowledged logout (login, logout, read), findings not violations."""

    judged: int = 0
    recovered: int = 0
    indeterminate: int = 0
    expired: int = 0
    accepted_after_logout: list[tuple[Operation, Operation, Operation]] = field(default_factory=list)


def _at(t: float, t0: float) -> str:
    return f"+{t - t0:.2f}s"


def _written(login: Operation, t0: float) -> str:
    """A session as messages name it: its user, its token's pseudonym, who acknowledged it and when."""
    return (f"session of user '{login.value.get('user')}' (token {_token_label(login.value['token'])}) "
            f"acknowledged by {login.replica} at {_at(login.end, t0)}")


def _never_issued(read: Operation, t0: float) -> Violation:
    """A token accepted that no acknowledged login ever returned."""
    return Violation(
        NAME,
        "unexpected",
        f"{read.replica} accepted token {_token_label(read.args['token'])} at {_at(read.start, t0)}, "
        "which no acknowledged login ever returned",
        replica=read.replica,
        op_ids=(read.id,),
        time=read.start,
    )


def _revoked_but_accepted(login: Operation, logout: Operation, read: Operation, model: str | None,
                          t0: float) -> Violation:
    """A server-side (or undeclared) session accepted after an acknowledged logout ended."""
    itself = model is None and read.replica == logout.replica
    return Violation(
        NAME,
        "revoked-but-accepted",
        f"{_written(login, t0)} was logged out on {logout.replica} at {_at(logout.end, t0)}, "
        f"but {read.replica}{' itself' if itself else ''} still accepted it at "
        f"{_at(read.start, t0)}" + (f"; {CLIENT_SIDE_HINT}" if itself else ""),
        replica=read.replica,
        op_ids=(login.id, logout.id, read.id),
        time=read.start,
        evidence={"login": login.id, "logout": logout.id, "read": read.id, "status": read.status,
                  **({"hint": f"declare {MODEL_FIELD} if sessions are client-side"} if itself else {})},
    )


def _lost(history: History, login: Operation, read: Operation, t0: float) -> Violation:
    """A session rejected with no logout that may have ended it: the faults in between are named."""
    in_between = describe_faults(faults_between(history, login.end, read.start), t0)
    return Violation(
        NAME,
        "lost",
        f"{_written(login, t0)} was rejected (HTTP {read.status}) by {read.replica} at "
        f"{_at(read.start, t0)}; in between: {in_between}",
        replica=read.replica,
        op_ids=(login.id, read.id),
        time=read.start,
        evidence={"login": login.id, "read": read.id, "status": read.status, "user": login.value.get("user")},
    )


def _wrong_user(login: Operation, read: Operation, t0: float) -> Violation:
    """A session accepted as another user than the one who logged in."""
    return Violation(
        NAME,
        "unexpected",
        f"{_written(login, t0)} was answered by {read.replica} at {_at(read.start, t0)} "
        f"as user '{read.value.get('user')}'",
        replica=read.replica,
        op_ids=(login.id, read.id),
        time=read.start,
    )


def _after_logout(login: Operation, logout: Operation, read: Operation, accepted: bool, t0: float,
                  tally: _Tally) -> Violation | None:
    """A read that started after an acknowledged logout ended must be rejected, save on client-side sessions."""
    tally.judged += 1
    if not accepted:
        return None
    model = _model(login, read, logout)
    if model == CLIENT_SIDE:
        tally.accepted_after_logout.append((login, logout, read))
        return None
    return _revoked_but_accepted(login, logout, read, model, t0)


def _judge_read(history: History, t0: float, read: Operation, accepted: bool, logins: dict[str, Operation],
                logouts: dict[str, _Logouts], tally: _Tally) -> Violation | None:
    """One definite answer about a token, judged against its login and the logouts that may have ended it."""
    token = read.args["token"]
    login = logins.get(token)
    if login is None:
        return _never_issued(read, t0) if accepted else None
    if read.start < login.end:
        return None  # concurrent with its own login: either answer is fine
    expires_at = (login.value or {}).get("expires_at")
    if expires_at is not None and read.end >= float(expires_at):
        tally.expired += 1
        return None
    of_token = logouts[token]
    revoked_before = of_token.revoked_before(read)
    if revoked_before is not None and revoked_before.id != read.id:
        return _after_logout(login, revoked_before, read, accepted, t0, tally)
    if of_token.started_before(read):
        tally.indeterminate += 1  # a logout may be taking effect: either answer is fine
        tally.recovered += not accepted
        return None
    tally.judged += 1
    if not accepted:
        return _lost(history, login, read, t0)
    if read.value.get("user") not in (None, login.value.get("user")):
        return _wrong_user(login, read, t0)
    return None


def _stats(ops: list[Operation], logins: dict[str, Operation], violations: list[Violation],
           tally: _Tally) -> dict[str, object]:
    return {
        "acknowledged": len(logins),
        "reads_judged": tally.judged,
        "indeterminate": tally.indeterminate,
        "recovered": tally.recovered,
        "expired_skipped": tally.expired,
        "lost": sum(v.kind == "lost" for v in violations),
        "revoked_but_accepted": sum(v.kind == "revoked-but-accepted" for v in violations),
        "accepted_after_logout_client_side": len(tally.accepted_after_logout),
        "model": _model(*ops) or "undeclared (judged as server-side)",
    }


def _verdict(ops: list[Operation], observations: list[tuple[Operation, bool]], logins: dict[str, Operation],
             violations: list[Violation], tally: _Tally, t0: float) -> Verdict:
    """FAIL on a violation; UNKNOWN when sessions were acknowledged but no final read answered; else PASS.

    The client-side revocation finding rides along with any of the three.
    """
    stats = _stats(ops, logins, violations, tally)
    accepted = tally.accepted_after_logout
    findings = (_revocation_finding(accepted, t0),) if accepted else ()
    if violations:
        return Verdict(NAME, Validity.FAIL, tuple(violations), stats=stats, findings=findings)
    final_reads = [op for op, _ in observations if op.phase == "final"]
    if logins and not final_reads:
        return Verdict(NAME, Validity.UNKNOWN, notes=("no final read answered: durability not judged",), stats=stats,
                       findings=findings)
    return Verdict(NAME, Validity.PASS, stats=stats, findings=findings)


@judges("sessions", name=NAME)
def check_sessions(history: History) -> Verdict:
    """Lost sessions, sessions accepted after logout, and sessions never created.

    On client-side sessions, a token accepted after its logout is a ``revocation``
    finding instead of a violation (see the module docstring).
    """
    ops = history.operations(NAME)
    t0 = first_time(history)
    logins, logouts, tally = _logins(ops), _logouts(ops), _Tally()
    observations = _observations(ops)
    violations = [v for read, accepted in observations
                  if (v := _judge_read(history, t0, read, accepted, logins, logouts, tally)) is not None]
    return _verdict(ops, observations, logins, violations, tally, t0)
