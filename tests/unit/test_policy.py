"""The policy on hand-written histories: which violations only an exempt fault explains.

Each rule has a case where the violation becomes a note and one where it stands.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.checkers.base import Validity, Verdict, Violation, apply_policy, judge
from harness.checkers.rate_limit import check_rate_limit
from harness.history import FaultEvent, History, Operation
from harness.policy import DEFAULT_EXEMPT, FAULTS, check_entry, effective
from harness.spec import load_spec
from tests.unit.histories import OK, HistoryBuilder

LIMIT, WINDOW = 3, 10.0  # one window: [1000, 1010)


class Hits(HistoryBuilder):
    def __init__(self) -> None:
        super().__init__("rate_limit", t=1000.0, step=0.01, duration=0.01)

    def hit(self, at: float, replica: str = "app-0", allowed: bool = True) -> Operation:
        return self.op("hit", replica, OK, {"key": "login:al", "limit": LIMIT, "window": WINDOW,
                                            "algorithm": {"name": "fixed-window", "anchor": "epoch"}},
                       {"allowed": allowed}, status=200 if allowed else 429, at=at)

    def burst(self, start: float, n: int = LIMIT, replica: str = "app-0") -> None:
        for i in range(n):
            self.hit(start + i * 0.02, replica)

    def fault_at(self, fault: str, target: str, start: float, end: float, heal: bool = False) -> FaultEvent:
        return self.history.record_fault(fault, target, start, end, heal=heal)


def counts_reset_by(*faults: tuple[str, ...]) -> History:
    """The limit allowed before the faults, and again after them, all in one window: 2x the limit."""
    b = Hits()
    b.burst(1000.1)
    t = 1001.0
    for fault, target, *heal in faults:  # ("crash", "app-0", "heal"): the step that undoes the crash
        b.fault_at(fault, target, t, t + 0.5, heal=bool(heal))
        t += 1.0
    b.burst(t + 0.5, replica="app-1")
    return b.history


def rate_limit_verdict(history: History) -> Verdict:
    verdict = check_rate_limit(history)
    assert verdict.validity is Validity.FAIL and len(verdict.violations) == 1, verdict.explain()
    assert verdict.violations[0].kind == "over-limit"
    return verdict


# --- a redis restart under the defaults ---------------------------------------------------------------


def test_redis_restart_exempts_a_rate_limit_violation_by_default() -> None:
    history = counts_reset_by(("dependency-restart", "redis"))
    verdict = rate_limit_verdict(history)
    [violation] = verdict.violations
    result = apply_policy(verdict, history, effective())
    assert result.validity is Validity.PASS and result.ok
    assert result.violations == ()
    [note] = result.notes
    assert note.startswith("exempt by policy (need not survive dependency-restart of redis): "
                           "[rate_limit/over-limit] ")
    assert violation.message in note
    assert result.stats["exempt_by_policy"] == 1
    assert result.stats["keys"] == verdict.stats["keys"]  # the checker's stats stay
    assert verdict.validity is Validity.FAIL  # the checker's own verdict is left as it was


def test_redis_outage_exempts_it_too() -> None:
    history = counts_reset_by(("dependency-outage", "redis"), ("dependency-outage", "redis", "heal"))
    result = apply_policy(rate_limit_verdict(history), history, effective())
    assert result.validity is Validity.PASS
    assert "need not survive dependency-outage of redis" in result.notes[0]


def test_the_violation_stands_when_the_target_removes_the_exemption() -> None:
    history = counts_reset_by(("dependency-restart", "redis"))
    verdict = rate_limit_verdict(history)
    result = apply_policy(verdict, history, effective({"rate_limit": []}))
    assert result is verdict and result.validity is Validity.FAIL


def test_the_violation_stands_under_a_spec_that_removes_the_exemption(tmp_path: Path) -> None:
    path = tmp_path / "t.yaml"
    path.write_text("name: t\napp: {image: i}\noperations:\n  rate_limit: {hit: {path: /h}, limit: 3, window: 10}\n"
                    "policy:\n  rate_limit: {exempt: [dependency-outage:redis]}\n")
    spec = load_spec(path)
    assert spec.exempt["rate_limit"] == frozenset({"dependency-outage:redis"})
    history = counts_reset_by(("dependency-restart", "redis"))
    assert apply_policy(rate_limit_verdict(history), history, spec.exempt).validity is Validity.FAIL
    outage = counts_reset_by(("dependency-outage", "redis"), ("dependency-outage", "redis", "heal"))
    assert apply_policy(rate_limit_verdict(outage), outage, spec.exempt).validity is Validity.PASS


# --- when no exempt fault explains it -----------------------------------------------------------------


def test_a_violation_with_no_fault_in_between_stands() -> None:
    history = counts_reset_by()
    verdict = rate_limit_verdict(history)
    assert apply_policy(verdict, history, effective()) is verdict
    everything = effective({"rate_limit": sorted(FAULTS)})
    assert apply_policy(verdict, history, everything).validity is Validity.FAIL  # no fault explains a race


def test_a_fault_outside_the_violation_does_not_exempt_it() -> None:
    b = Hits()
    b.fault_at("dependency-restart", "redis", 1000.0, 1000.05)  # over before the first hit
    b.burst(1000.1)
    b.burst(1002.0, replica="app-1")
    b.fault_at("dependency-restart", "redis", 1005.0, 1005.5)  # after the last
    verdict = rate_limit_verdict(b.history)
    assert apply_policy(verdict, b.history, effective()).validity is Validity.FAIL


def test_a_fault_under_way_at_the_first_operation_counts() -> None:
    b = Hits()
    b.fault_at("dependency-restart", "redis", 999.0, 1000.15)  # still healing during the first hits
    b.burst(1000.1)
    b.burst(1002.0, replica="app-1")
    assert apply_policy(rate_limit_verdict(b.history), b.history, effective()).validity is Validity.PASS


def test_an_exempt_and_a_non_exempt_fault_in_between_stand() -> None:
    history = counts_reset_by(("dependency-restart", "redis"), ("crash", "app-0"))
    verdict = rate_limit_verdict(history)
    result = apply_policy(verdict, history, effective())
    assert result is verdict and result.validity is Validity.FAIL
    # with both exempt, it becomes a note naming both
    both = apply_policy(verdict, history, effective({"rate_limit": ["dependency-restart:redis", "crash"]}))
    assert both.validity is Validity.PASS
    assert "need not survive crash of app-0, dependency-restart of redis" in both.notes[0]


# --- fault:target ------------------------------------------------------------------------------------


def test_a_target_narrows_the_exemption() -> None:
    postgres = counts_reset_by(("dependency-restart", "postgres"))
    redis = counts_reset_by(("dependency-restart", "redis"))
    narrow = effective({"rate_limit": ["dependency-restart:redis"]})
    assert apply_policy(rate_limit_verdict(redis), redis, narrow).validity is Validity.PASS
    assert apply_policy(rate_limit_verdict(postgres), postgres, narrow).validity is Validity.FAIL
    assert apply_policy(rate_limit_verdict(postgres), postgres, effective()).validity is Validity.FAIL
    wide = effective({"rate_limit": ["dependency-restart"]})  # no target: every dependency
    result = apply_policy(rate_limit_verdict(postgres), postgres, wide)
    assert result.validity is Validity.PASS and "dependency-restart of postgres" in result.notes[0]


def test_a_heal_belongs_to_its_fault() -> None:
    history = counts_reset_by(("network-cut", "app-0"), ("network-cut", "app-0", "heal"))
    verdict = rate_limit_verdict(history)
    assert apply_policy(verdict, history, effective()).validity is Validity.FAIL
    cut = apply_policy(verdict, history, effective({"rate_limit": ["network-cut:app-0"]}))
    assert cut.validity is Validity.PASS and "need not survive network-cut of app-0" in cut.notes[0]
    restarted = counts_reset_by(("crash", "app-0"), ("crash", "app-0", "heal"))
    assert apply_policy(rate_limit_verdict(restarted), restarted,
                        effective({"rate_limit": ["crash"]})).validity is Validity.PASS


# --- the state kind of the evidence -------------------------------------------------------------------


def sessions_violation() -> tuple[History, Verdict]:
    b = HistoryBuilder("sessions")
    login = b.op("login", args={"user": "al"}, value={"token": "t"})
    b.fault("dependency-restart", "redis")
    whoami = b.op("whoami", "app-1", args={"token": "t"}, value={"accepted": False}, status=401)
    violation = Violation("sessions", "lost-session", "token t of al was forgotten", replica="app-1",
                          op_ids=(login.id, whoami.id), time=whoami.start)
    return b.history, Verdict("sessions", Validity.FAIL, (violation,))


def test_the_default_exempts_rate_limits_only() -> None:
    history, verdict = sessions_violation()
    assert apply_policy(verdict, history, effective()).validity is Validity.FAIL
    result = apply_policy(verdict, history, effective({"sessions": ["dependency-restart:redis"]}))
    assert result.validity is Validity.PASS and "[sessions/lost-session] token t of al" in result.notes[0]


def test_evidence_of_several_kinds_must_be_exempt_for_each() -> None:
    b = Hits()
    hit = b.hit(1000.1)
    b.fault_at("dependency-restart", "redis", 1001.0, 1001.5)
    login = b.op("login", kind="sessions", at=1002.0, args={"user": "al"}, value={"token": "t"})
    verdict = Verdict("x", Validity.FAIL, (Violation("x", "mixed", "m", op_ids=(hit.id, login.id)),))
    assert apply_policy(verdict, b.history, effective()).validity is Validity.FAIL
    both = effective({"sessions": ["dependency-restart"]})
    assert apply_policy(verdict, b.history, both).validity is Validity.PASS


def test_a_violation_without_known_operations_stands() -> None:
    history = counts_reset_by(("dependency-restart", "redis"))
    verdict = Verdict("x", Validity.FAIL, (Violation("x", "k", "no evidence"),
                                           Violation("x", "k", "unknown ids", op_ids=(999,))))
    assert apply_policy(verdict, history, effective()) is verdict


def test_only_the_exempt_violations_of_a_verdict_move() -> None:
    history = counts_reset_by(("dependency-restart", "redis"))
    [exempt] = rate_limit_verdict(history).violations
    standing = Violation("rate_limit", "over-limit", "no fault here", op_ids=(0, 1))  # before the restart
    verdict = Verdict("rate_limit", Validity.FAIL, (exempt, standing), notes=("earlier note",))
    result = apply_policy(verdict, history, effective())
    assert result.validity is Validity.FAIL and result.violations == (standing,)
    assert result.notes[0] == "earlier note" and "exempt by policy" in result.notes[1]
    assert result.stats["exempt_by_policy"] == 1


# --- unknown verdicts ---------------------------------------------------------------------------------


def test_an_unknown_verdict_stays_unknown() -> None:
    history = counts_reset_by(("dependency-restart", "redis"))
    [violation] = rate_limit_verdict(history).violations
    unknown = Verdict("rate_limit", Validity.UNKNOWN, (violation,), notes=("half the reads timed out",))
    result = apply_policy(unknown, history, effective())
    assert result.validity is Validity.UNKNOWN
    assert result.violations == () and len(result.notes) == 2
    empty = Verdict("rate_limit", Validity.UNKNOWN, notes=("no hit was judged",))
    assert apply_policy(empty, history, effective()) is empty


def test_a_passing_verdict_is_unchanged() -> None:
    history = counts_reset_by(("dependency-restart", "redis"))
    verdict = Verdict("rate_limit", Validity.PASS)
    assert apply_policy(verdict, history, effective()) is verdict


# --- judge --------------------------------------------------------------------------------------------


def test_judge_applies_the_policy() -> None:
    history = counts_reset_by(("dependency-restart", "redis"))
    assert judge(history, [check_rate_limit]).validity is Validity.FAIL  # no policy given: none applied
    result = judge(history, [check_rate_limit], effective())
    assert result.validity is Validity.PASS
    assert any(n.startswith("exempt by policy (need not survive dependency-restart of redis)") for n in result.notes)
    assert judge(history, [check_rate_limit], effective({"rate_limit": []})).validity is Validity.FAIL


def test_judge_keeps_other_checkers_failures() -> None:
    history = counts_reset_by(("dependency-restart", "redis"))

    def racy(h: History) -> Verdict:
        return Verdict("racy", Validity.FAIL, (Violation("racy", "race", "no fault explains this"),))

    def crashing(h: History) -> Verdict:
        raise RuntimeError("bug")

    result = judge(history, [check_rate_limit, racy], effective())
    assert result.validity is Validity.FAIL
    assert [v.checker for v in result.violations] == ["racy"]
    assert judge(history, [check_rate_limit, crashing], effective()).validity is Validity.UNKNOWN


# --- entries and defaults -----------------------------------------------------------------------------


@pytest.mark.parametrize("entry", ["crash", "graceful-restart", "rolling-restart", "dependency-restart:redis", "network-cut:app-1", "pause",
                                   "scale"])
def test_known_entries(entry: str) -> None:
    assert check_entry(entry) == entry


@pytest.mark.parametrize("entry", ["explode", "restart-dependency:redis", "restart", "Crash", "", ":redis"])
def test_unknown_entries_say_what_is_allowed(entry: str) -> None:
    with pytest.raises(ValueError) as info:
        check_entry(entry)
    message = str(info.value)
    assert f"unknown fault {entry.split(':')[0]!r}" in message
    assert "expected one of " + ", ".join(sorted(FAULTS)) in message


def test_default_exemptions_are_valid_entries() -> None:
    for entries in DEFAULT_EXEMPT.values():
        for entry in entries:
            check_entry(entry)


def test_effective_replaces_a_kinds_whole_list() -> None:
    assert effective() == dict(DEFAULT_EXEMPT)
    merged = effective({"rate_limit": ["crash"], "sessions": ["pause"]})
    assert merged == {"rate_limit": frozenset({"crash"}), "sessions": frozenset({"pause"})}
    assert DEFAULT_EXEMPT["rate_limit"] == frozenset({"dependency-restart:redis", "dependency-outage:redis"})
