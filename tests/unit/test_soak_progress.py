"""Checking a running soak (``harness.soak.progress``): a prefix shows a violation only when the whole
history has it too, on hand-written histories; and the live line's words.

Each test builds the history the soak's driver would see at some moment (the operations
recorded so far) and the whole history it becomes, and compares ``check_prefix`` on the
first with ``judge`` on the second. The last test does so for every moment of random
concurrent histories of every state kind.
"""

from __future__ import annotations

import io
import random
from typing import Any, Iterable

import pytest
from rich.console import Console

from harness.checkers import (check_cooldowns, check_counters, check_fail_loud, check_files, check_quotes,
                              check_rate_limit, check_records, check_session_expiry, check_sessions)
from harness.checkers.base import Verdict, judge
from harness.history import History, Outcome
from harness.policy import effective
from harness.soak.driver import SoakProgress
from harness.soak.progress import SETTLE, LiveLine, check_prefix, clock, line
from tests.unit.histories import FAIL, OK, UNKNOWN

ALL = [check_records, check_files, check_counters, check_sessions, check_session_expiry, check_quotes,
       check_cooldowns, check_rate_limit, check_fail_loud]
T0 = 1000.0


class Timeline:
    """Operations and faults placed at given times; ``at(t)`` is what a running soak has recorded by ``t``
    (events that ended by then, in the order they ended) and when the earliest one still under way began."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    def op(self, kind: str, name: str, start: float, end: float, outcome: Outcome = OK, args: dict | None = None,
           value: Any = None, replica: str = "app-0", phase: str = "main") -> dict[str, Any]:
        event = {"type": "op", "kind": kind, "name": name, "replica": replica, "start": T0 + start, "end": T0 + end,
                 "outcome": outcome, "args": args or {}, "value": value, "status": 200 if outcome is OK else None,
                 "phase": phase}
        self.events.append(event)
        return event

    def fault(self, fault: str, target: str, start: float, end: float, heal: bool = False) -> None:
        self.events.append({"type": "fault", "fault": fault, "target": target, "start": T0 + start,
                            "end": T0 + end, "heal": heal})

    def _recorded(self) -> list[dict[str, Any]]:
        return sorted(self.events, key=lambda e: e["end"])

    def history(self, until: float | None = None) -> History:
        """Recorded in the order events end, as ``History.record_*`` does: the ids of a prefix are the whole's."""
        history = History()
        for e in self._recorded():
            if until is not None and e["end"] > T0 + until:
                break
            fields = {k: v for k, v in e.items() if k != "type"}
            if e["type"] == "op":
                history.record_op(**fields)
            else:
                history.record_fault(**fields)
        return history

    def in_flight_since(self, t: float) -> float:
        """The earliest start of an event under way at ``t``, or ``t`` itself when none is."""
        return min([e["start"] for e in self.events if e["start"] <= T0 + t < e["end"]], default=T0 + t)

    def at(self, t: float, checkers: Iterable = ALL, exempt: dict | None = None) -> list:
        return check_prefix(self.history(t), list(checkers), self.in_flight_since(t), exempt=exempt)

    def whole(self, checkers: Iterable = ALL, exempt: dict | None = None) -> Verdict:
        return judge(self.history(), list(checkers), exempt)


def found(violations: Iterable) -> set[tuple[str, str, tuple[int, ...]]]:
    return {(v.checker, v.kind, v.op_ids) for v in violations}


def kinds(violations: Iterable) -> set[tuple[str, str]]:
    return {(v.checker, v.kind) for v in violations}


# ---- durability -------------------------------------------------------------------------------


def _record(tl: Timeline, start: float, rid: str = "r1", data: dict | None = None) -> dict:
    data = data or {"v": 1, "nonce": f"n-{rid}"}
    return tl.op("records", "create", start, start + 0.05, args={"data": data}, value={"id": rid})


def _read(tl: Timeline, start: float, seen: dict | None, rid: str = "r1", phase: str = "main",
          duration: float = 0.05) -> dict:
    return tl.op("records", "read", start, start + duration, args={"id": rid},
                 value={"found": seen is not None, "data": seen}, phase=phase)


def test_a_lost_write_in_the_prefix_is_reported_once_settled() -> None:
    tl = Timeline()
    _record(tl, 0.0)
    tl.fault("crash", "app-0", 1.0, 1.2)
    tl.fault("crash", "app-0", 1.3, 1.5, heal=True)
    _read(tl, 2.0, None)  # the acknowledged record is gone
    tl.op("counters", "increment", 4.0, 30.0, args={"name": "c"}, value={"value": 1})  # long, under way
    early = tl.at(2.06 + SETTLE / 2)  # the read ended less than SETTLE before the prefix ends
    assert early == []
    now = tl.at(5.0)
    assert kinds(now) == {("records", "lost")}
    assert found(now) <= found(tl.whole().violations)


def test_an_operation_in_flight_that_makes_a_read_ambiguous_keeps_it_unjudged() -> None:
    tl = Timeline()
    _record(tl, 0.0)
    tl.op("records", "delete", 1.0, 6.0, args={"id": "r1"}, value={"deleted": True})  # under way until 6
    _read(tl, 1.5, None)  # the delete already applied: absent is right, the read is ambiguous
    tl.op("records", "read", 7.0, 7.05, args={"id": "r1"}, value={"found": False}, phase="final")
    # by 5.0 the read is recorded, the delete is not: judged on what is recorded, the read looks lost
    assert kinds(judge(tl.history(5.0), [check_records]).violations) == {("records", "lost")}
    # but the delete started before it ended and is still under way: the read is not judged yet
    assert tl.at(5.0) == []
    assert tl.whole([check_records]).ok and tl.at(10.0) == []


def test_a_write_of_unknown_outcome_that_began_earlier_stays_a_candidate() -> None:
    tl = Timeline()
    _record(tl, 0.0)
    tl.op("records", "update", 1.0, 9.0, UNKNOWN, args={"id": "r1", "data": {"v": 2}})  # ends (timeout) at 9
    tl.op("counters", "increment", 1.2, 9.5, args={"name": "c"}, value={"value": 1})
    _read(tl, 2.0, {"v": 2})  # saw the update of unknown outcome: fine
    # at 8.0 neither the update nor the increment is recorded; the earliest under way began at 1.0
    assert tl.at(8.0) == []
    assert tl.at(20.0) == [] and "records" not in {v.checker for v in tl.whole().violations}


def test_data_no_recorded_request_wrote_waits_for_the_whole_history() -> None:
    """``unexpected`` may be the effect of a request still in flight: never taken from a prefix."""
    tl = Timeline()
    _record(tl, 0.0)
    _read(tl, 1.0, {"v": 9})  # nobody wrote v 9 ...
    tl.op("counters", "increment", 1.5, 9.0, args={"name": "c"}, value={"value": 1})
    judged = judge(tl.history(6.0), [check_records])
    assert kinds(judged.violations) == {("records", "unexpected")}  # what a naive check would say
    assert tl.at(6.0) == []


def test_a_file_lost_after_a_redeploy_is_reported() -> None:
    tl = Timeline()
    tl.op("files", "upload", 0.0, 0.1, args={"sha256": "ab" * 32, "size": 3}, value={"id": "f1", "sha256": "ab" * 32})
    tl.fault("redeploy", "app-0", 0.5, 1.0)
    tl.op("files", "download", 1.5, 1.6, args={"id": "f1"}, value={"found": False})
    assert kinds(tl.at(4.0)) == {("files", "lost")}
    assert kinds(tl.at(4.0)) <= kinds(tl.whole().violations)


# ---- counters ---------------------------------------------------------------------------------


def _inc(tl: Timeline, start: float, end: float, value: int | None, outcome: Outcome = OK) -> dict:
    return tl.op("counters", "increment", start, end, outcome, args={"name": "hits", "by": 1},
                 value={"value": value} if value is not None else None)


def _count(tl: Timeline, start: float, value: int, phase: str = "main") -> dict:
    return tl.op("counters", "read", start, start + 0.05, args={"name": "hits"}, value={"value": value}, phase=phase)


def test_lost_increments_in_the_prefix_are_reported() -> None:
    tl = Timeline()
    _inc(tl, 0.0, 0.05, 1)
    _inc(tl, 0.1, 0.15, 2)
    _count(tl, 1.0, 0)  # both acknowledged increments forgotten
    _inc(tl, 2.5, 20.0, None, UNKNOWN)
    assert kinds(tl.at(5.0)) == {("counters", "lost-increments")}
    assert found(tl.at(5.0)) <= found(tl.whole().violations)


def test_an_increment_in_flight_before_a_read_ended_explains_a_higher_value() -> None:
    tl = Timeline()
    _inc(tl, 0.0, 0.05, 1)
    _inc(tl, 1.0, 8.0, 2)  # under way until 8.0: it may apply before the read below
    _count(tl, 1.5, 2)
    assert kinds(judge(tl.history(5.0), [check_counters]).violations) == {("counters", "phantom-increments")}
    assert tl.at(5.0) == []
    assert tl.whole([check_counters]).violations == ()


# ---- sessions ---------------------------------------------------------------------------------


def _login(tl: Timeline, start: float, token: str = "tok-1") -> dict:
    return tl.op("sessions", "login", start, start + 0.05, args={"user": "u"}, value={"token": token, "user": "u"})


def _whoami(tl: Timeline, start: float, accepted: bool, token: str = "tok-1", replica: str = "app-1") -> dict:
    return tl.op("sessions", "whoami", start, start + 0.05, args={"token": token}, replica=replica,
                 value={"accepted": accepted, "user": "u" if accepted else None})


def test_a_token_accepted_after_its_logout_is_reported() -> None:
    tl = Timeline()
    _login(tl, 0.0)
    tl.op("sessions", "logout", 0.5, 0.55, args={"token": "tok-1"}, value={"revoked": True})
    _whoami(tl, 1.0, True)
    assert kinds(tl.at(4.0)) == {("sessions", "revoked-but-accepted")}
    assert found(tl.at(4.0)) <= found(tl.whole().violations)


def test_a_logout_in_flight_explains_a_rejection() -> None:
    tl = Timeline()
    _login(tl, 0.0)
    tl.op("sessions", "logout", 1.0, 7.0, args={"token": "tok-1"}, value={"revoked": True})
    _whoami(tl, 1.5, False)  # the logout took effect already
    assert kinds(judge(tl.history(5.0), [check_sessions]).violations) == {("sessions", "lost")}
    assert tl.at(5.0) == []
    assert "sessions" not in {v.checker for v in tl.whole().violations}


# ---- quotes, cooldowns ------------------------------------------------------------------------


def test_a_quote_used_twice_is_reported_and_a_use_in_flight_is_not_counted() -> None:
    tl = Timeline()
    tl.op("quotes", "create", 0.0, 0.05, args={"amount": 5}, value={"id": "q1", "expires_at": T0 + 60})
    tl.op("quotes", "use", 0.5, 0.6, args={"id": "q1"}, value={"used": True})
    tl.op("quotes", "use", 0.55, 0.65, args={"id": "q1"}, value={"used": True}, replica="app-1")
    tl.op("quotes", "use", 2.0, 9.0, args={"id": "q1"}, value={"used": True}, replica="app-2")  # third, later
    now = tl.at(5.0)
    assert kinds(now) == {("quotes", "used-twice")} and len(now) == 1
    assert found(now) <= found(tl.whole().violations)


def test_a_cooldown_bypassed_is_reported_and_a_refusal_explained_by_a_start_in_flight_is_not() -> None:
    tl = Timeline()
    args = {"key": "k", "period": 30.0}
    tl.op("cooldowns", "start", 0.0, 0.05, args=args, value={"allowed": True, "until": T0 + 30})
    tl.op("cooldowns", "start", 1.0, 1.05, args=args, value={"allowed": True, "until": T0 + 31}, replica="app-1")
    other = {"key": "k2", "period": 30.0}
    tl.op("cooldowns", "start", 2.5, 9.0, args=other, value={"allowed": True, "until": T0 + 32})  # under way
    tl.op("cooldowns", "start", 3.0, 3.05, args=other, value={"allowed": False})  # refused: explained by it
    assert kinds(judge(tl.history(6.0), [check_cooldowns]).violations) == {("cooldowns", "cooldown-bypassed"),
                                                                          ("cooldowns", "unexpected")}
    assert kinds(tl.at(6.0)) == {("cooldowns", "cooldown-bypassed")}
    assert found(tl.at(6.0)) <= found(tl.whole().violations)


# ---- rate limits ------------------------------------------------------------------------------


def _hits(tl: Timeline, times: list[float], allowed: bool, args: dict) -> None:
    for t in times:
        tl.op("rate_limit", "hit", t, t + 0.01, args=args, value={"allowed": allowed})


def test_over_limit_in_an_epoch_window_is_reported() -> None:
    tl = Timeline()
    args = {"key": "k", "limit": 2, "window": 10.0, "algorithm": {"name": "fixed-window", "anchor": "epoch"}}
    _hits(tl, [0.1, 0.2, 0.3, 0.4], True, args)  # 4 allowed in [1000, 1010): limit 2
    tl.op("counters", "read", 2.0, 20.0, args={"name": "c"}, value={"value": 0})
    assert kinds(tl.at(5.0)) == {("rate_limit", "over-limit")}
    assert kinds(tl.at(5.0)) <= kinds(tl.whole().violations)


def test_denials_judged_only_as_stuck_since_a_later_denial_may_extend_their_run() -> None:
    """On a prefix the run of unexplained denials is ``over-denied``; the whole history extends it to ``stuck``."""
    tl = Timeline()
    args = {"key": "k", "limit": 3, "window": 2.0, "algorithm": {"name": "fixed-window", "anchor": "epoch"}}
    _hits(tl, [0.1], True, args)
    _hits(tl, [0.5, 1.0], False, args)  # denied with one hit counted: over-denied
    _hits(tl, [3.0, 4.0, 5.0], False, args)  # still denied, for longer than a window: the key is stuck
    early = judge(tl.history(2.8), [check_rate_limit]).violations
    assert kinds(early) == {("rate_limit", "over-denied")}
    assert kinds(tl.whole([check_rate_limit]).violations) == {("rate_limit", "stuck")}
    assert tl.at(2.8) == []
    assert kinds(tl.at(8.0)) == {("rate_limit", "stuck")}


def test_a_denial_during_an_outage_whose_heal_is_not_recorded_yet_is_not_judged() -> None:
    tl = Timeline()
    args = {"key": "k", "limit": 3, "window": 1.0, "algorithm": {"name": "fixed-window", "anchor": "epoch"}}
    tl.fault("dependency-outage", "redis", 0.0, 0.2)
    _hits(tl, [0.5, 1.5, 2.5, 3.5], False, args)  # the limiter fails closed while redis is out of reach
    tl.fault("dependency-outage", "redis", 9.0, 9.3, heal=True)  # the heal comes later
    assert tl.at(6.0) == []
    assert tl.whole([check_rate_limit]).violations == ()


# ---- faults: policy, fail-loud ----------------------------------------------------------------


def test_a_violation_the_policy_exempts_is_not_reported_either() -> None:
    tl = Timeline()
    args = {"key": "k", "limit": 2, "window": 10.0, "algorithm": {"name": "fixed-window", "anchor": "epoch"}}
    _hits(tl, [0.1, 0.2], True, args)
    tl.fault("crash", "app-0", 0.3, 0.4)
    _hits(tl, [0.5, 0.6], True, args)  # a reset after the crash: more than the limit in the window
    tl.op("counters", "read", 2.0, 20.0, args={"name": "c"}, value={"value": 0})
    exempt = {"rate_limit": frozenset({"crash"})}
    assert kinds(tl.at(5.0)) == {("rate_limit", "over-limit")}
    assert tl.at(5.0, exempt=exempt) == []
    assert "rate_limit" not in {v.checker for v in tl.whole(exempt=exempt).violations}


def test_under_a_policy_for_rate_limits_a_window_is_judged_once_it_closed() -> None:
    """The default policy exempts a Redis restart for rate limits: more hits after one, in the same window,
    make the whole window's violation exempt, so a window still open is not judged on a prefix."""
    tl = Timeline()
    args = {"key": "k", "limit": 2, "window": 10.0, "algorithm": {"name": "fixed-window", "anchor": "epoch"}}
    _hits(tl, [0.1, 0.2, 0.3], True, args)  # over the limit already, no fault in between
    tl.fault("dependency-restart", "redis", 3.0, 3.5)
    _hits(tl, [4.0, 4.1], True, args)  # the counter reset by the restart: the window's hits span it
    policy = effective()
    assert kinds(judge(tl.history(3.0), [check_rate_limit], policy).violations) == {("rate_limit", "over-limit")}
    assert tl.whole([check_rate_limit], policy).violations == ()
    assert tl.at(3.0, exempt=policy) == []
    assert kinds(tl.at(3.0)) == {("rate_limit", "over-limit")}  # without a policy it stands either way
    closed = Timeline()  # a window that closed before the prefix's settled end is judged
    _hits(closed, [0.1, 0.2, 0.3], True, args)
    closed.op("counters", "read", 12.0, 40.0, args={"name": "c"}, value={"value": 0})
    assert kinds(closed.at(20.0, exempt=policy)) == {("rate_limit", "over-limit")}


def test_fail_loud_is_never_judged_on_a_prefix() -> None:
    """It compares writes inside and outside outages: a final read still to come can turn that around."""
    tl = Timeline()
    tl.fault("dependency-outage", "postgres", 1.0, 1.1)
    _login(tl, 0.0, "out-1")
    _login(tl, 0.2, "out-2")
    _login(tl, 1.5, "in-1")
    _login(tl, 1.6, "in-2")
    tl.fault("dependency-outage", "postgres", 2.0, 2.1, heal=True)
    for k, (token, accepted) in enumerate([("out-1", True), ("in-1", False), ("in-2", True)]):
        _whoami(tl, 3.0 + k * 0.1, accepted, token)
        tl.events[-1]["phase"] = "final"
    tl.op("sessions", "whoami", 3.5, 9.0, args={"token": "out-2"}, value={"accepted": False}, phase="final")
    prefix = judge(tl.history(6.0), [check_fail_loud]).violations
    assert kinds(prefix) == {("fail_loud", "acknowledged-during-outage-then-lost")}  # 0 of 2 outside lost
    assert tl.whole([check_fail_loud]).violations == ()  # 1 of 2 outside lost too: not the outage's doing
    assert "fail_loud" not in {v.checker for v in tl.at(6.0)}


def test_nothing_recorded_or_no_usable_checker_gives_nothing() -> None:
    assert check_prefix(History(), ALL, None) == []
    tl = Timeline()
    _record(tl, 0.0)
    _read(tl, 1.0, None)
    assert check_prefix(tl.history(), [check_fail_loud], None) == []
    assert kinds(check_prefix(tl.history(), ALL, None)) == {("records", "lost")}  # None: nothing more comes


def test_a_crashing_checker_gives_nothing() -> None:
    def check_records_broken(history: History) -> Verdict:
        raise RuntimeError("boom")

    check_records_broken.checker_name = "records"  # type: ignore[attr-defined]
    tl = Timeline()
    _record(tl, 0.0)
    _read(tl, 1.0, None)
    assert check_prefix(tl.history(), [check_records_broken], None) == []


# ---- every moment of random concurrent histories ------------------------------------------------


def _random_timeline(seed: int) -> Timeline:
    """Four clients doing random operations of every kind, with random (often wrong) answers that
    respect causality: an id, token or datum is seen only after the request that made it began."""
    rng = random.Random(seed)
    tl = Timeline()
    limit_args = [{"key": "k", "limit": 2, "window": 4.0, "algorithm": {"name": "fixed-window", "anchor": "epoch"}},
                  {"key": "a", "limit": 1, "window": 4.0},
                  {"key": "s", "limit": 2, "window": 1.0, "algorithm": "sliding-window"}]
    records: dict[str, list[tuple[float, dict | None]]] = {}
    tokens: list[tuple[str, float]] = []
    quotes: list[tuple[str, float]] = []
    n = 0
    for client in range(4):
        t = rng.uniform(0, 0.2)
        while t < 12.0:
            n += 1
            length = rng.choice([0.01, 0.05, 0.2, 1.5])
            start, end = t, t + length
            outcome = rng.choices([OK, UNKNOWN, FAIL], [8, 1, 1])[0]
            kind = rng.choice(["records", "counters", "sessions", "quotes", "cooldowns", "rate_limit", "rate_limit",
                               "fault"])
            replica = f"app-{rng.randrange(2)}"
            known = [rid for rid, ws in records.items() if ws[0][0] < start]
            if kind == "records" and known and rng.random() < 0.6:
                rid = rng.choice(known)
                seen = rng.choice([d for s, d in records[rid] if s < end] + [None])
                if rng.random() < 0.5:
                    tl.op("records", "read", start, end, outcome, {"id": rid}, {"found": seen is not None, "data": seen},
                          replica)
                else:
                    data = {"v": n}
                    tl.op("records", "update", start, end, outcome, {"id": rid, "data": data}, {"ok": True}, replica)
                    records[rid].append((start, data))
            elif kind == "records":
                rid, data = f"r{n}", {"v": n, "nonce": f"n{n}"}
                tl.op("records", "create", start, end, outcome, {"data": data}, {"id": rid}, replica)
                if outcome is OK:
                    records[rid] = [(end, data)]
            elif kind == "counters":
                name = rng.choice("xy")
                if rng.random() < 0.5:
                    tl.op("counters", "increment", start, end, outcome, {"name": name}, {"value": rng.randrange(12)},
                          replica)
                else:
                    tl.op("counters", "read", start, end, outcome, {"name": name}, {"value": rng.randrange(12)}, replica)
            elif kind == "sessions":
                ready = [tok for tok, e in tokens if e < start]
                if ready and rng.random() < 0.7:
                    token = rng.choice(ready)
                    if rng.random() < 0.7:
                        tl.op("sessions", "whoami", start, end, outcome, {"token": token},
                              {"accepted": rng.random() < 0.6, "user": "u"}, replica)
                    else:
                        tl.op("sessions", "logout", start, end, outcome, {"token": token},
                              {"revoked": rng.random() < 0.8}, replica)
                else:
                    token = f"tok{n}"
                    tl.op("sessions", "login", start, end, outcome, {"user": "u"},
                          {"token": token, "user": "u", "expires_at": T0 + end + rng.uniform(1, 20)}, replica)
                    if outcome is OK:
                        tokens.append((token, end))
            elif kind == "quotes":
                ready = [q for q, e in quotes if e < start]
                if ready and rng.random() < 0.7:
                    q = rng.choice(ready)
                    if rng.random() < 0.5:
                        tl.op("quotes", "use", start, end, outcome, {"id": q},
                              rng.choice([{"used": True}, {"used": False, "reason": "already-used"},
                                          {"used": False, "reason": "expired"}]), replica)
                    else:
                        tl.op("quotes", "read", start, end, outcome, {"id": q},
                              {"found": rng.random() < 0.8, "used": rng.random() < 0.5,
                               "expired": rng.random() < 0.2}, replica)
                else:
                    q = f"q{n}"
                    tl.op("quotes", "create", start, end, outcome, {"amount": 1},
                          {"id": q, "expires_at": T0 + end + rng.uniform(0.5, 6)}, replica)
                    if outcome is OK:
                        quotes.append((q, end))
            elif kind == "cooldowns":
                allowed = rng.random() < 0.5
                tl.op("cooldowns", "start", start, end, outcome, {"key": rng.choice("pq"), "period": 2.0},
                      {"allowed": allowed, **({"until": T0 + end + 2.0} if allowed else {})}, replica)
            elif kind == "rate_limit":
                args = rng.choice(limit_args)  # shared dicts, as a workload's hits share theirs
                tl.op("rate_limit", "hit", start, end, outcome, args, {"allowed": rng.random() < 0.7}, replica)
            elif client == 0:  # faults come from one place, one at a time, as the nemesis does
                fault = rng.choice(["crash", "dependency-outage", "dependency-restart"])
                tl.fault(fault, "redis" if fault != "crash" else "app-0", start, end)
                if fault != "dependency-restart":
                    tl.fault(fault, "redis" if fault != "crash" else "app-0", end + 0.3, end + 0.5, heal=True)
                    end += 0.5
            t = end + rng.choice([0.0, 0.01, 0.1])
    for k, rid in enumerate(records):  # the final read of every record
        tl.op("records", "read", 14.0 + k * 0.01, 14.005 + k * 0.01, OK, {"id": rid},
              {"found": True, "data": records[rid][-1][1]}, "app-0", "final")
    return tl


MOMENTS = [x * 0.5 for x in range(1, 31)]


def _unfounded(v: Any, whole: Verdict) -> bool:
    """A violation the whole history does not have (for a rate limit, its kind: a window may hold more hits)."""
    if v.checker == "rate_limit":
        return (v.checker, v.kind) not in kinds(whole.violations)
    return (v.checker, v.kind, v.op_ids) not in found(whole.violations)


@pytest.mark.parametrize("policy", [None, effective()], ids=["no policy", "default policy"])
@pytest.mark.parametrize("seed", [*range(10), 39])  # 39: a window over the limit, then an exempt Redis restart
def test_at_every_moment_of_a_random_history_the_prefix_reports_only_what_the_whole_has(seed: int,
                                                                                         policy: Any) -> None:
    tl = _random_timeline(seed)
    whole = tl.whole(exempt=policy)
    reported: set = set()
    for t in MOMENTS:
        for v in tl.at(t, exempt=policy):
            reported.add((v.checker, v.kind))
            assert not _unfounded(v, whole), (seed, t, v)
    assert reported, "random answers are mostly wrong: some violation must be seen before the end"


def test_judging_what_is_recorded_as_it_is_would_report_what_the_whole_has_not() -> None:
    """The test above can fail: the recorded operations judged as they are, without cutting them where
    they are complete and keeping only what cannot change, report violations the whole history lacks."""
    unfounded = set()
    for seed in range(10):
        tl = _random_timeline(seed)
        whole = tl.whole()
        unfounded |= {(v.checker, v.kind) for t in MOMENTS for v in judge(tl.history(t), ALL).violations
                      if _unfounded(v, whole)}
    assert len(unfounded) >= 2, unfounded


# ---- the live line --------------------------------------------------------------------------------


def _progress(**fields: Any) -> SoakProgress:
    base = {"elapsed": 133.0, "duration": 1800.0, "ops": 41210, "faults": 17, "violations": 0,
            "current": "crash of replica 1"}
    return SoakProgress(**{**base, **fields})


def test_the_line_shows_time_operations_rate_faults_violations_and_the_current_fault() -> None:
    assert line(_progress()) == ("soak 02:13/30:00 · 41,210 ops (310/s) · 17 faults · 0 violations · "
                                 "now: crash of replica 1")
    assert line(_progress(elapsed=0.0, ops=0, faults=1, violations=1, current=None)) == (
        "soak 00:00/30:00 · 0 ops (0/s) · 1 fault · 1 violation")
    assert clock(3723) == "1:02:03"


def test_without_a_terminal_a_plain_line_comes_every_so_often_and_once_at_the_end() -> None:
    out = io.StringIO()
    console = Console(file=out, force_terminal=False, width=200)
    with LiveLine(console, every=3600.0) as live:
        for ops in (10, 20, 30):
            live(_progress(ops=ops))
    lines = out.getvalue().splitlines()
    assert len(lines) == 2  # the first, then the last at the end: nothing in between within the hour
    assert "10 ops" in lines[0] and "30 ops" in lines[1]


def test_on_a_terminal_the_line_is_redrawn_in_place() -> None:
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=200)
    with LiveLine(console) as live:
        live(_progress(ops=5))
        live(_progress(ops=6, violations=2))
    assert "6 ops" in out.getvalue() and "2 violations" in out.getvalue()
