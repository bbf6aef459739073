"""docs/extending.md holds: its worked example (a workload and a checker of a team's own state kind)
runs as written, passes a correct app and fails on a planted bug.

The blocks are extracted from the page and run: the first two are the example's module
(``default_address.py``), the third its checker test on hand-written histories, the
fourth its scenario file. The workload runs through the real ``Client`` against a small
``httpx.MockTransport`` app with one shared store for every replica, in a correct form and
with the two-statements bug planted; the reference app itself is exercised by
tests/integration/test_invariants_refapp.py.
"""

from __future__ import annotations

import importlib.util
import json
import re
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest

from harness import Client, History, Outcome, Validity

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "extending.md"


def blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", DOC.read_text(), flags=re.S)


@pytest.fixture
def example(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """The example's module, saved as the page says (``default_address.py``) and imported."""
    path = tmp_path / "default_address.py"
    path.write_text(blocks("python")[0] + "\n" + blocks("python")[1])
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "default_address", raising=False)
    spec = importlib.util.spec_from_file_location("default_address", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "default_address", module)
    spec.loader.exec_module(module)
    return module


def test_the_page_has_the_example_and_the_readme_links_it() -> None:
    assert len(blocks("python")) == 4
    assert "docs/extending.md" in (ROOT / "README.md").read_text()


def test_the_checker_block_runs_on_its_histories(example: ModuleType) -> None:
    """The page's own asserts: two explainable final reads pass, the planted lost default fails."""
    exec(compile(blocks("python")[2], f"{DOC}:python-3", "exec"), dict(vars(example)))  # noqa: S102 - our docs


def test_the_scenario_block_imports_the_example(example: ModuleType) -> None:
    scope: dict[str, Any] = {}
    exec(compile(blocks("python")[3], f"{DOC}:python-4", "exec"), scope)  # noqa: S102 - our docs
    test = scope["test_default_address_survives"]
    faults = [m for m in test.pytestmark if m.name == "parametrize"][0].args[1]
    assert [type(f).__name__ for f in faults] == ["Crash", "GracefulRestart", "Redeploy"]
    assert scope["pytestmark"].name == "restart"


class Shop:
    """One store behind every replica; ``two_statements`` plants the bug, ``crashed`` the crash between."""

    def __init__(self, two_statements: bool = False) -> None:
        self.two_statements = two_statements
        self.addresses: dict[str, dict[str, Any]] = {}
        self.crashed = False   # the next set-default on app-0 dies between its two statements

    def __call__(self, request: httpx.Request) -> httpx.Response:
        parts = request.url.path.strip("/").split("/")
        user = parts[1]
        mine = [a for a in self.addresses.values() if a["user"] == user]
        if request.method == "POST" and len(parts) == 3:
            address = {"id": f"a{len(self.addresses)}", "user": user, "is_default": False,
                       **json.loads(request.content)}
            self.addresses[address["id"]] = address
            return httpx.Response(201, json=address)
        if request.method == "POST":
            chosen = self.addresses.get(parts[3])
            if chosen is None or chosen["user"] != user:
                return httpx.Response(404)
            if self.two_statements:
                for a in mine:
                    a["is_default"] = False       # committed on its own
                if self.crashed and request.url.host == "app-0":
                    self.crashed = False
                    raise httpx.ReadError("connection reset: app-0 was killed")
            for a in mine:
                a["is_default"] = a["id"] == chosen["id"]
            return httpx.Response(200, json={"default": chosen["id"]})
        return httpx.Response(200, json={"addresses": mine})


class Replicas:
    def endpoint(self, replica: str) -> str:
        return f"http://{replica}"


def run_example(example: ModuleType, shop: Shop) -> History:
    """The workload's phases as a scenario runs them, with a crash of app-0 during the steps."""
    history = History()
    replicas = ["app-0", "app-1"]
    workload = example.DefaultAddressWorkload(users=2, seed=7)
    with Client(Replicas(), history, transport=httpx.MockTransport(shop)) as client:
        workload.write(client, replicas)
        start = history.clock.now()
        shop.crashed = True
        for i in range(2):   # one step per user: the first, on app-0, is the one the crash cuts
            workload.step(client, replicas, i)
        history.record_fault("crash", "app-0", start, history.clock.now())
        workload.final_read(client, replicas)
    return history


def test_the_workload_passes_a_correct_app(example: ModuleType) -> None:
    history = run_example(example, Shop())
    verdict = example.check_default_address(history)
    assert verdict.validity is Validity.PASS, verdict.explain()
    finals = [op for op in history.operations("default_address") if op.phase == "final"]
    assert len(finals) == 4 and all(len(op.value["defaults"]) == 1 for op in finals)


def test_the_workload_catches_the_planted_bug(example: ModuleType) -> None:
    history = run_example(example, Shop(two_statements=True))
    unknown = [op for op in history.operations("default_address") if op.outcome is Outcome.UNKNOWN]
    assert [op.name for op in unknown] == ["set_default"]   # the one killed between its statements
    verdict = example.check_default_address(history)
    assert verdict.validity is Validity.FAIL
    assert any("no default address" in v.message and "(final read)" in v.message for v in verdict.violations)
    assert any(v.evidence["faults_between"] == ["crash of app-0"] for v in verdict.violations), verdict.explain()


def _history(example: ModuleType, ops: list[dict[str, Any]]) -> History:
    history = History()
    for i, op in enumerate(ops):
        history.record_op(**{"kind": example.KIND, "replica": "app-0", "start": float(i), "end": i + 0.5,
                             "outcome": Outcome.OK, "phase": "main", **op})
    return history


def test_two_defaults_fail_and_a_missing_final_read_is_unknown(example: ModuleType) -> None:
    add = {"name": "add", "args": {"user": "u", "label": "home"}, "value": {"id": "a1"}}
    put = {"name": "set_default", "args": {"user": "u", "id": "a1"}}
    two = {"name": "read", "args": {"user": "u"}, "value": {"ids": ["a1", "a2"], "defaults": ["a1", "a2"]},
           "phase": "final"}
    verdict = example.check_default_address(_history(example, [add, put, two]))
    assert verdict.validity is Validity.FAIL and "2 default addresses" in verdict.violations[0].message
    unread = {**two, "outcome": Outcome.UNKNOWN, "value": None}
    verdict = example.check_default_address(_history(example, [add, put, unread]))
    assert verdict.validity is Validity.UNKNOWN and verdict.notes == ("user u: no final read answered",)
    stale = {**two, "value": {"ids": ["a1", "a2"], "defaults": ["a2"]}}
    verdict = example.check_default_address(_history(example, [add, put, stale]))
    assert verdict.validity is Validity.FAIL and "never set last" in verdict.violations[0].message
