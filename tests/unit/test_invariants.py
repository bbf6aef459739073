"""Invariants: the spec section's validation, expectations judged, and the checker on hand-written histories."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from harness.checkers.base import Validity, judge
from harness.checkers.causes import OTHER, causes
from harness.checkers.invariants import BROKEN, BROKEN_BEFORE_ANY_FAULT, check_invariants
from harness.invariants_spec import Expectation, Invariants, evaluate
from harness.vocabulary import INVARIANTS
from tests.unit.histories import FAIL, OK, UNKNOWN, HistoryBuilder

SECTION = """
setup:
  - method: POST
    path: /shop/items
    json: {name: "widget-{run}", stock: 1}
    extract: {item: {json: id}}
rules:
  - name: stock never below zero
    exercise:
      request: {method: POST, path: "/shop/items/{item}/buy", accepted: [200], rejected: [409]}
      concurrency: 2
      every: 0.2
    probe: {method: GET, path: "/shop/items/{item}"}
    expect:
      status: 200
      json: {path: stock, min: 0}
  - name: one default address per user
    probe: {method: GET, path: "/users/{item}/addresses"}
    expect:
      count: {json: addresses, where: {is_default: true}, equals: 1}
      regex: 'addresses'
"""


def section(**changes: Any) -> dict[str, Any]:
    raw = yaml.safe_load(SECTION)
    raw.update(changes)
    return raw


def error(raw: dict[str, Any]) -> str:
    with pytest.raises(ValidationError) as caught:
        Invariants.model_validate(raw)
    return str(caught.value)


# -- the spec section ------------------------------------------------------------------------

def test_the_documented_syntax_validates() -> None:
    invariants = Invariants.model_validate(section())
    assert invariants.names() == ["stock never below zero", "one default address per user"]
    stock = invariants.rules[0]
    assert stock.exercise is not None and stock.exercise.concurrency == 2 and stock.exercise.every == 0.2
    assert stock.expect.describe() == "status is 200 and JSON 'stock' is at least 0"
    assert invariants.rules[1].expect.describe() == (
        "the number of items in JSON 'addresses' with is_default = true equals 1 and the body matches /addresses/")


def test_an_unknown_placeholder_is_refused_naming_the_field() -> None:
    raw = section()
    raw["rules"][0]["probe"]["path"] = "/shop/items/{itme}"
    message = error(raw)
    assert "rules.0.probe.path: unknown placeholder {itme}" in message and "{item}" in message and "{run}" in message


def test_a_setup_request_sees_only_what_earlier_ones_extract() -> None:
    raw = section()
    raw["setup"].insert(0, {"method": "POST", "path": "/users/{item}"})
    assert "setup.0.path: unknown placeholder {item}" in error(raw)


def test_an_exercise_placeholder_is_checked_too() -> None:
    raw = section()
    raw["rules"][0]["exercise"]["request"]["path"] = "/buy/{nope}"
    assert "rules.0.exercise.request.path: unknown placeholder {nope}" in error(raw)


def test_rule_names_are_unique() -> None:
    raw = section()
    raw["rules"][1]["name"] = raw["rules"][0]["name"]
    assert "'stock never below zero' are given more than once" in error(raw)


@pytest.mark.parametrize(("expect", "words"), [
    ({}, "give at least one of 'status', 'json', 'count' or 'regex'"),
    ({"json": {"path": "stock"}}, "give a comparison: 'equals', 'min', 'max' or 'one_of'"),
    ({"json": {"path": "stock", "min": 3, "max": 1}}, "'min' (3) is above 'max' (1)"),
    ({"regex": "("}, "not a regular expression"),
    ({"count": {"where": {"a": 1}, "equals": 1}}, "count.json"),
    ({"status": 200, "colour": "red"}, "colour"),
])
def test_a_bad_expectation_is_refused_naming_the_field(expect: dict[str, Any], words: str) -> None:
    raw = section()
    raw["rules"][0]["expect"] = expect
    message = error(raw)
    assert "rules.0.expect" in message and words in message


def test_the_spec_has_an_invariants_field() -> None:
    from harness.spec import TargetSpec

    spec = TargetSpec.model_validate({"name": "t", "app": {"image": "x"}, "operations": {}, "invariants": section()})
    assert spec.invariants is not None and len(spec.invariants.rules) == 2
    assert TargetSpec.model_validate({"name": "t", "app": {"image": "x"}, "operations": {}}).invariants is None


# -- expectations --------------------------------------------------------------------------

def expectation(**raw: Any) -> Expectation:
    return Expectation.model_validate(raw)


def test_status_and_json_range() -> None:
    expect = expectation(status=200, json={"path": "stock", "min": 0})
    assert evaluate(expect, 200, {"stock": 0}) == []
    assert evaluate(expect, 200, {"stock": -1}) == ["'stock' is -1, below the minimum 0"]
    assert evaluate(expect, 404, {"detail": "x"}) == ["status is 404, expected 200", "no value at JSON path 'stock'"]
    assert evaluate(expect, 200, {"stock": "3"}) == ["'stock' is \"3\", expected a number"]


def test_json_equals_one_of_and_max() -> None:
    assert evaluate(expectation(json={"path": "data.note", "equals": {"a": 1}}), 200, {"data": {"note": {"a": 1}}}) == []
    assert evaluate(expectation(json={"path": "data.note", "equals": None}), 200, {"data": {"note": None}}) == []
    assert evaluate(expectation(json={"path": "data.note", "equals": None}), 200, {"data": {"note": 1}}) != []
    assert evaluate(expectation(json={"path": "state", "one_of": ["new", "paid"]}), 200, {"state": "lost"}) == [
        "'state' is \"lost\", expected one of [\"new\", \"paid\"]"]
    assert evaluate(expectation(json={"path": "0.n", "max": 2}), 200, [{"n": 3}]) == ["'0.n' is 3, above the maximum 2"]


def test_count_of_matching_items() -> None:
    expect = expectation(count={"json": "addresses", "where": {"is_default": True}, "equals": 1})
    one = {"addresses": [{"is_default": True}, {"is_default": False}]}
    assert evaluate(expect, 200, one) == []
    assert evaluate(expect, 200, {"addresses": [{"is_default": False}] * 2}) == ["the count is 0, expected 1"]
    assert evaluate(expect, 200, {"addresses": [{"is_default": True}] * 2}) == ["the count is 2, expected 1"]
    assert evaluate(expect, 200, {"other": []}) == ["no list at JSON path 'addresses'"]
    assert evaluate(expectation(count={"json": "", "min": 1}), 200, [1]) == []


def test_regex_on_the_text_or_the_json() -> None:
    expect = expectation(regex=r"stock: \d+")
    assert evaluate(expect, 200, None, "<p>stock: 3</p>") == []
    assert evaluate(expect, 200, None, "<p>sold out</p>") == ["the body does not match /stock: \\d+/"]
    assert evaluate(expectation(regex='"ok": true'), 200, {"ok": True}) == []


# -- the checker ---------------------------------------------------------------------------

STOCK = {"status": 200, "json": {"path": "stock", "min": 0}}


def probe(b: HistoryBuilder, replica: str, stock: Any, outcome=OK, rule: str = "stock", phase: str = "main",
          status: int = 200) -> None:
    value = None if outcome is not OK and stock is None else {"status": status, "json": {"stock": stock}}
    b.op("probe", replica, outcome, {"rule": rule, "request": "GET /shop/items/7", "expect": STOCK}, value,
         status=status if value else None, phase=phase)


def setup(b: HistoryBuilder, outcome=OK, rules: tuple[str, ...] = ("stock",)) -> None:
    b.op("setup", "app-0", outcome, {"step": 0, "request": "POST /shop/items", "rules": list(rules)},
         {"item": 7} if outcome is OK else {"status": 500}, status=200 if outcome is OK else 500)


def test_a_rule_that_holds_passes() -> None:
    b = HistoryBuilder(INVARIANTS)
    setup(b)
    probe(b, "app-0", 1)
    probe(b, "app-1", 1)
    b.fault("crash", "app-0")
    probe(b, "app-0", 0, phase="final")
    probe(b, "app-1", 0, phase="final")
    verdict = check_invariants(b.history)
    assert verdict.validity is Validity.PASS, verdict.explain()
    assert verdict.stats["stock"] == {"probes": 4, "answered": 4, "broken": 0}


def test_a_broken_rule_names_the_fault_between_last_good_and_first_bad() -> None:
    b = HistoryBuilder(INVARIANTS)
    setup(b)
    probe(b, "app-0", 1)
    b.fault("dependency-restart", "postgres")  # before the last good probe: not in between
    probe(b, "app-1", 1)
    b.fault("crash", "app-0")
    probe(b, "app-0", -1, phase="final")
    probe(b, "app-1", -1, phase="final")
    verdict = check_invariants(b.history)
    assert verdict.validity is Validity.FAIL
    (violation,) = verdict.violations
    assert violation.kind == BROKEN and violation.replica == "app-0"
    assert violation.evidence["faults_between"] == ["crash of app-0"]
    assert violation.evidence["last_good_replica"] == "app-1"
    assert violation.evidence["returned"] == {"stock": -1}
    assert violation.evidence["problems"] == ["'stock' is -1, below the minimum 0"]
    assert violation.evidence["still_broken_after_heal_on"] == ["app-0", "app-1"]
    assert "crash of app-0" in violation.message and "below the minimum 0" in violation.message


def test_a_rule_broken_before_any_fault_is_not_blamed_on_one() -> None:
    b = HistoryBuilder(INVARIANTS)
    setup(b)
    probe(b, "app-0", -1)
    b.fault("crash", "app-0")
    probe(b, "app-0", -1, phase="final")
    (violation,) = check_invariants(b.history).violations
    assert violation.kind == BROKEN_BEFORE_ANY_FAULT
    assert "faults_between" not in violation.evidence and "crash" not in violation.message
    assert "before any fault" in violation.message


def test_unanswered_probes_are_no_evidence() -> None:
    """A failed or timed-out probe, or a 5xx, neither breaks a rule nor stands for a good probe."""
    b = HistoryBuilder(INVARIANTS)
    setup(b)
    probe(b, "app-0", 1)
    b.fault("crash", "app-0")
    probe(b, "app-0", None, FAIL)  # connection refused while down
    probe(b, "app-1", -5, UNKNOWN, status=503)  # a 5xx answer carries its body, but is no evidence
    probe(b, "app-1", 1, phase="final")
    verdict = check_invariants(b.history)
    assert verdict.validity is Validity.PASS, verdict.explain()
    assert any("2 of 4 probes not answered" in note for note in verdict.notes)


def test_the_first_bad_probe_is_compared_with_the_last_good_before_it_not_with_unanswered_ones() -> None:
    b = HistoryBuilder(INVARIANTS)
    setup(b)
    probe(b, "app-0", 1)
    b.fault("crash", "app-0")
    probe(b, "app-0", None, UNKNOWN)
    b.fault("crash", "app-1")
    probe(b, "app-1", -1)
    (violation,) = check_invariants(b.history).violations
    assert violation.kind == BROKEN
    assert violation.evidence["faults_between"] == ["crash of app-0", "crash of app-1"]


def test_a_rule_never_answered_is_unknown_with_a_note() -> None:
    b = HistoryBuilder(INVARIANTS)
    setup(b)
    probe(b, "app-0", None, FAIL)
    probe(b, "app-0", None, UNKNOWN, phase="final")
    verdict = check_invariants(b.history)
    assert verdict.validity is Validity.UNKNOWN and not verdict.violations
    assert any("none of its 2 probes was answered" in note for note in verdict.notes)


def test_a_setup_not_accepted_leaves_every_rule_unknown() -> None:
    b = HistoryBuilder(INVARIANTS)
    setup(b, FAIL, rules=("stock", "addresses"))
    verdict = check_invariants(b.history)
    assert verdict.validity is Validity.UNKNOWN
    assert "'stock', 'addresses' were not probed" in verdict.notes[0] and "POST /shop/items" in verdict.notes[0]


def test_one_broken_rule_fails_the_verdict_while_another_holds() -> None:
    b = HistoryBuilder(INVARIANTS)
    setup(b, rules=("stock", "other"))
    probe(b, "app-0", 1, rule="other")
    probe(b, "app-0", 1)
    b.fault("crash", "app-0")
    probe(b, "app-0", 1, rule="other")
    probe(b, "app-0", -2)
    verdict = check_invariants(b.history)
    assert [v.evidence["rule"] for v in verdict.violations] == ["stock"]


def test_nothing_to_check_without_invariant_operations() -> None:
    b = HistoryBuilder("records")
    b.op("create", value={"id": "1"})
    assert judge(b.history, [check_invariants]).nothing_to_check


def test_causes_list_invariant_violations_as_other() -> None:
    b = HistoryBuilder(INVARIANTS)
    setup(b, rules=("stock", "early"))
    probe(b, "app-0", -1, rule="early")
    probe(b, "app-0", 1)
    b.fault("crash", "app-0")
    probe(b, "app-0", -1)
    verdict = check_invariants(b.history)
    explained = causes(verdict, b.history)
    assert explained is not None and list(explained["groups"]) == [OTHER]
    assert explained["groups"][OTHER]["counts"] == {BROKEN: 1, BROKEN_BEFORE_ANY_FAULT: 1}
    assert explained["groups"][OTHER]["violations"] == len(verdict.violations) == 2


# -- check-spec ----------------------------------------------------------------------------

def test_check_spec_shows_each_rule_as_it_will_be_probed(tmp_path) -> None:
    import io

    from rich.console import Console

    from harness.report.spec_summary import spec_tree
    from harness.spec import load_spec

    raw = {"name": "t", "app": {"image": "x"}, "operations": {}, "invariants": section()}
    raw["invariants"]["setup"][0]["headers"] = {"Authorization": "Bearer sk_live_abcdefghijklmnop1234"}
    path = tmp_path / "t.yaml"
    path.write_text(yaml.safe_dump(raw))
    out = io.StringIO()
    Console(file=out, width=400).print(spec_tree(load_spec(path)))
    text = out.getvalue()
    assert "invariants: 2 rule(s), probed on every replica before, during and after the faults" in text
    assert "1: POST /shop/items with json body; accepted [200, 201, 204]" in text and "extracts item from JSON path 'id'" in text
    assert '{"name": "widget-{run}", "stock": 1}' in text
    assert "sk_live_abcdefghijklmnop1234" not in text  # masked like every request the summary shows
    assert "rule 'stock never below zero': expects status is 200 and JSON 'stock' is at least 0" in text
    assert "probe: GET /shop/items/{item}; every answer below 500 is judged" in text
    assert "exercise (2 at once, each to another replica, every 0.2s while the scenario writes, until the final " \
           "read): POST /shop/items/{item}/buy; accepted [200]; rejected 409" in text
    assert "with is_default = true equals 1 and the body matches /addresses/" in text


def test_the_readme_example_is_a_valid_section() -> None:
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    after = readme.split("### Your app's own rules", 1)[1]
    block = after.split("```yaml\n", 1)[1].split("```", 1)[0]
    invariants = Invariants.model_validate(yaml.safe_load(block)["invariants"])
    assert invariants.names() == ["stock never below zero"]


def test_a_rule_broken_by_the_scenarios_own_traffic_before_any_fault_names_no_fault() -> None:
    """Held at the baseline, broken before the first fault began (two purchases at once): not the fault's doing."""
    b = HistoryBuilder(INVARIANTS)
    setup(b)
    probe(b, "app-0", 1)
    probe(b, "app-1", -1)
    b.fault("crash", "app-0")
    probe(b, "app-0", -1, phase="final")
    (violation,) = check_invariants(b.history).violations
    assert violation.kind == BROKEN_BEFORE_ANY_FAULT and violation.replica == "app-1"
    assert "it held on app-0" in violation.message and "crash" not in violation.message


def test_load_spec_names_the_file_and_the_field(tmp_path) -> None:
    from harness.errors import SpecError
    from harness.spec import load_spec

    raw = {"name": "t", "app": {"image": "x"}, "operations": {}, "invariants": section()}
    del raw["invariants"]["rules"][1]["expect"]["count"]["equals"]
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(raw))
    with pytest.raises(SpecError) as caught:
        load_spec(path)
    assert str(path) in str(caught.value)
    assert "field 'invariants.rules.1.expect.count': give a comparison" in str(caught.value)

    raw = {"name": "t", "app": {"image": "x"}, "operations": {}, "invariants": section()}
    raw["invariants"]["rules"][0]["probe"]["path"] = "/shop/{itme}"
    path.write_text(yaml.safe_dump(raw))
    with pytest.raises(SpecError) as caught:
        load_spec(path)
    assert "field 'invariants': rules.0.probe.path: unknown placeholder {itme}" in str(caught.value)
