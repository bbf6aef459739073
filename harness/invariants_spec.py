"""The ``invariants`` section of a target spec: the app's own rules, as HTTP probes with expectations.

A rule is a probe (any request the operations language can express: placeholders,
``before`` steps, header rules) and an expectation on its answer: a status, a value at a
JSON path (equal to a constant, in a range, one of a list), a count of list items matching
some fields, a regular expression on the body. ``setup`` requests run once before the
scenario and give the probes their data (an item with stock 1); ``exercise`` requests
may break a rule (two purchases of the last item at once), sent during the scenario.
``{run}`` is unique per scenario run, so setup data never collides with an earlier run's.

``evaluate`` judges one recorded answer against an expectation. It is pure and lives
here, below the checkers, so that a stored history is judged again by the same words
the spec was written in (the expectation travels in each probe's ``args``).
"""

from __future__ import annotations

import json
import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from harness.operations import MISSING, HttpOperation, HttpRequest, compiled_regex, json_path, placeholders

#: the placeholder unique to one scenario run
RUN = "run"
#: a body longer than this is recorded cut (the regex expectation then sees only its start)
MAX_TEXT = 65536



class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class _Compare(_Strict):
    """A comparison of one value: ``equals`` a constant, between ``min`` and ``max``, or ``one_of`` a list."""

    equals: Any = Field(None, description="the value must equal this (JSON equality; give null as 'equals: null')")
    min: float | None = Field(None, description="the value must be a number at least this")
    max: float | None = Field(None, description="the value must be a number at most this")
    one_of: list[Any] | None = Field(None, description="the value must be one of these")

    @model_validator(mode="after")
    def _some_comparison(self) -> "_Compare":
        if not {"equals", "min", "max", "one_of"} & self.model_fields_set:
            raise ValueError("give a comparison: 'equals', 'min', 'max' or 'one_of' (e.g. {path: stock, min: 0})")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"'min' ({self.min:g}) is above 'max' ({self.max:g}): no value can hold")
        return self

    def problem(self, value: Any, what: str) -> str | None:
        """Why ``value`` (called ``what``) breaks the comparison, or None when it holds."""
        if "equals" in self.model_fields_set and value != self.equals:
            return f"{what} is {json.dumps(value)}, expected {json.dumps(self.equals)}"
        if self.one_of is not None and value not in self.one_of:
            return f"{what} is {json.dumps(value)}, expected one of {json.dumps(self.one_of)}"
        if self.min is not None or self.max is not None:
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                return f"{what} is {json.dumps(value)}, expected a number"
            if self.min is not None and value < self.min:
                return f"{what} is {value:g}, below the minimum {self.min:g}"
            if self.max is not None and value > self.max:
                return f"{what} is {value:g}, above the maximum {self.max:g}"
        return None

    def describe(self) -> str:
        parts = []
        if "equals" in self.model_fields_set:
            parts.append(f"equals {json.dumps(self.equals)}")
        if self.one_of is not None:
            parts.append(f"is one of {json.dumps(self.one_of)}")
        if self.min is not None and self.max is not None:
            parts.append(f"is between {self.min:g} and {self.max:g}")
        elif self.min is not None:
            parts.append(f"is at least {self.min:g}")
        elif self.max is not None:
            parts.append(f"is at most {self.max:g}")
        return " and ".join(parts)


class JsonExpectation(_Compare):
    """The value at a JSON path of the body, compared: ``{path: stock, min: 0}``."""

    path: str = Field(description="dotted path into the JSON body, as in extract's 'json' ('stock', 'data.note')")


class CountExpectation(_Compare):
    """How many items of a list in the body match all ``where`` fields: ``{json: addresses, where: {is_default: true}, equals: 1}``."""

    json_path: str = Field(alias="json", description="dotted path to a list in the JSON body ('' or '$': the body itself)")
    where: dict[str, Any] = Field(default_factory=dict, description="field -> value an item must have to be "
                                  "counted (all of them; a dotted field reads inside the item); empty: every item")

    def count(self, body: Any) -> int | None:
        """Matching items, or None when the path holds no list."""
        items = json_path(body, self.json_path)
        if not isinstance(items, list):
            return None
        return sum(1 for item in items if all(json_path(item, k) == v for k, v in self.where.items()))


class Expectation(_Strict):
    """What a probe's answer must show; every part given must hold."""

    status: int | None = Field(None, ge=100, le=599, description="the response status, e.g. 200")
    json_value: JsonExpectation | None = Field(None, alias="json", description="a value at a JSON path compared: "
                                               "{path: stock, min: 0}; or equals / max / one_of")
    count: CountExpectation | None = Field(None, description="a count of list items matching all fields: "
                                           "{json: addresses, where: {is_default: true}, equals: 1}")
    regex: str | None = Field(None, description="a regular expression the body must contain (re.search)")

    @field_validator("regex")
    @classmethod
    def _compiles(cls, value: str | None) -> str | None:
        return compiled_regex(value)

    @model_validator(mode="after")
    def _something(self) -> "Expectation":
        if self.status is None and self.json_value is None and self.count is None and self.regex is None:
            raise ValueError("give at least one of 'status', 'json', 'count' or 'regex'")
        return self

    def describe(self) -> str:
        """The expectation in words, as ``check-spec`` shows it."""
        parts = []
        if self.status is not None:
            parts.append(f"status is {self.status}")
        if self.json_value is not None:
            parts.append(f"JSON '{self.json_value.path}' {self.json_value.describe()}")
        if self.count is not None:
            which = (" with " + ", ".join(f"{k} = {json.dumps(v)}" for k, v in self.count.where.items())
                     if self.count.where else "")
            parts.append(f"the number of items in JSON '{self.count.json_path}'{which} {self.count.describe()}")
        if self.regex is not None:
            parts.append(f"the body matches /{self.regex}/")
        return " and ".join(parts)


def evaluate(expect: Expectation, status: int | None, body: Any, text: str | None = None) -> list[str]:
    """Why an answer breaks ``expect``, in words ([] when it holds).

    ``body`` is the parsed JSON body (None when the body is not JSON), ``text`` the body as
    text (for ``regex``; default: the JSON body's text).
    """
    problems: list[str] = []
    if expect.status is not None and status != expect.status:
        problems.append(f"status is {status}, expected {expect.status}")
    if expect.json_value is not None:
        value = json_path(body, expect.json_value.path)
        problem = ("no value at JSON path '%s'" % expect.json_value.path if value is MISSING
                   else expect.json_value.problem(value, f"'{expect.json_value.path}'"))
        if problem:
            problems.append(problem)
    if expect.count is not None:
        found = expect.count.count(body)
        problem = (f"no list at JSON path '{expect.count.json_path}'" if found is None
                   else expect.count.problem(found, "the count"))
        if problem:
            problems.append(problem)
    if expect.regex is not None:
        searched = text if text is not None else (json.dumps(body) if body is not None else "")
        if re.search(expect.regex, searched) is None:
            problems.append(f"the body does not match /{expect.regex}/")
    return problems


class Exercise(_Strict):
    """Requests that may break a rule, sent in rounds while the scenario writes (before, during, after the faults)."""

    request: HttpOperation = Field(description="the request (as an operation: placeholders, 'before' steps, "
                                   "'accepted' and 'rejected' statuses), e.g. {method: POST, path: '/items/{item}/buy', "
                                   "accepted: [200], rejected: [409]}")
    concurrency: int = Field(1, ge=1, le=16, description="requests sent at the same instant per round, each to "
                             "a different replica (round robin)")
    every: float = Field(0.2, ge=0.01, le=60, description="seconds between rounds")
    replicas: list[int] | None = Field(None, min_length=1, description="optional: only these replicas (by "
                                       "index, 0 = the first) are sent the requests, e.g. [0], the replica the "
                                       "restart suite's faults hit; default: every replica")
    until: Literal["final-read", "first-fault"] = Field("final-read", description="when the rounds stop: "
                                                        "'final-read' (default), or 'first-fault': no round starts "
                                                        "once the first fault begins (one in flight is left to it), "
                                                        "so nothing repairs what the fault left before the final probe")

    @field_validator("replicas")
    @classmethod
    def _indexes(cls, value: list[int] | None) -> list[int] | None:
        if value is not None and (any(i < 0 for i in value) or len(set(value)) < len(value)):
            raise ValueError(f"expected distinct replica indexes from 0 (0 = the first replica), got {value}")
        return value


class Rule(_Strict):
    """One named rule: a probe sent to every replica and what its answer must show."""

    name: str = Field(min_length=1, description="the rule's name in reports, e.g. 'stock never below zero'")
    exercise: Exercise | None = Field(None, description="optional: requests that may break the rule, sent "
                                      "during the scenario")
    probe: HttpOperation = Field(description="the request that reads the rule's state (placeholders from setup "
                                 "and {run}); sent to every replica before, during and after the faults")
    expect: Expectation = Field(description="what every answer must show (all parts given must hold)")
    probes: Literal["all", "quiet"] = Field("all", description="when the rule is probed: 'all' (default: "
                                            "after setup, during the writes and faults, after the heal), or "
                                            "'quiet': only before its exercise starts and after the heal, when "
                                            "no request of the exercise is in flight; for a rule an in-flight "
                                            "exercise breaks for a moment by design (two statements a round trip "
                                            "apart), so that only what a fault leaves behind is judged")


class Invariants(_Strict):
    """The app's own rules: setup requests, then rules probed on every replica throughout each scenario."""

    setup: list[HttpOperation] = Field(default_factory=list, description="requests sent once before the "
                                       "scenario's writes, in order, on the first replica (each as an operation: "
                                       "'before' steps, 'accepted', 'extract'); what they extract is a placeholder "
                                       "for every later setup request, exercise and probe. {run} is unique per run")
    rules: list[Rule] = Field(min_length=1, description="the rules, each a probe and an expectation")

    @model_validator(mode="after")
    def _names_and_placeholders(self) -> "Invariants":
        """Unique rule names, and no placeholder that nothing provides (it would fail on every probe)."""
        names = [rule.name for rule in self.rules]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"rules: the name(s) {', '.join(repr(n) for n in twice)} are given more than once; "
                             "each rule needs its own name")
        provided = {RUN}
        for i, request in enumerate(self.setup):
            provided = _check(request, provided, f"setup.{i}")
            provided |= set(request.extract)
        for i, rule in enumerate(self.rules):
            _check(rule.probe, provided, f"rules.{i}.probe")
            if rule.exercise is not None:
                _check(rule.exercise.request, provided, f"rules.{i}.exercise.request")
        return self

    def names(self) -> list[str]:
        return [rule.name for rule in self.rules]


_PARTS = ("path", "query", "headers", "cookies", "json_body", "form", "multipart")


def _check(op: HttpOperation, provided: set[str], where: str) -> set[str]:
    """Every placeholder of ``op`` and its ``before`` steps is provided; returns what its steps add."""
    provided = set(provided)
    for i, step in enumerate(op.before):
        _check_parts(step, provided, f"{where}.before.{i}")
        provided |= set(step.extract)
    _check_parts(op, provided, where)
    return provided


def _check_parts(request: HttpRequest, provided: set[str], where: str) -> None:
    for part in _PARTS:
        unknown = placeholders(getattr(request, part)) - provided
        if unknown:
            field = "json" if part == "json_body" else part
            raise ValueError(f"{where}.{field}: unknown placeholder "
                             f"{', '.join('{' + u + '}' for u in sorted(unknown))}; provided here: "
                             f"{', '.join('{' + p + '}' for p in sorted(provided))} ({{run}}, and what earlier "
                             "setup requests extract)")


__all__ = ["CountExpectation", "Exercise", "Expectation", "Invariants", "JsonExpectation", "MAX_TEXT", "RUN", "Rule",
           "evaluate"]
