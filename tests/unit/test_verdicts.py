"""Verdict merging: the worst validity wins, a crashing checker is unknown, never pass."""

from __future__ import annotations

from harness.checkers.base import Validity, Verdict, Violation, judge, merge
from harness.history import History


def test_merge_priority_fail_over_unknown_over_pass() -> None:
    p, u = Verdict("a", Validity.PASS), Verdict("b", Validity.UNKNOWN)
    f = Verdict("c", Validity.FAIL, (Violation("c", "lost", "x"),))
    assert merge([p, u]).validity is Validity.UNKNOWN
    assert merge([p, u, f]).validity is Validity.FAIL
    assert merge([p, p]).ok
    assert merge([]).validity is Validity.UNKNOWN


def test_crashing_checker_yields_unknown() -> None:
    def broken(history: History) -> Verdict:
        raise KeyError("token")

    verdict = judge(History(), [lambda h: Verdict("fine", Validity.PASS), broken])
    assert verdict.validity is Validity.UNKNOWN
    assert "checker crashed" in verdict.notes[0]


def test_explain_is_bounded_and_names_checker_and_kind() -> None:
    violations = tuple(Violation("files", "lost", f"file {i} lost") for i in range(30))
    text = Verdict("files", Validity.FAIL, violations, notes=("n1",)).explain(most=5)
    assert "files: fail (30 violations)" in text
    assert "[files/lost] file 4 lost" in text and "file 5 lost" not in text
    assert "... and 25 more" in text and "note: n1" in text
