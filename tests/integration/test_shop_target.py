"""A second, differently shaped target: the shop (targets/shop), judged in both configurations.

The shop is Flask under gunicorn with form login (303 + ``Set-Cookie``), cookie
sessions (a redirect to /login when not signed in), orders nested in
``{"result": ...}`` and a search rate-limited with 403. Each configuration runs the
restart suite's crash scenario and the scale-out suite in ONE pytest subprocess, as a
user would, and the verdicts it wrote are read back:

- ``memory`` (process dicts) must be caught: sessions and orders lost to the crash
  and missing on the replicas added by a scale-out;
- ``persistent`` (PostgreSQL) must pass every selected scenario with no violation,
  and its rate limit must have been reached and denied with 403, never exceeded.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

import pytest

from harness.history import History, Outcome
from tests.integration.suite_runs import ROOT, SuiteRun, run_suites

SHOP = ROOT / "targets" / "shop"
pytestmark = pytest.mark.docker

SELECTED = ("-k", "test_state_survives and crash or scale_out")
SCENARIOS = {"state survives crash", "state after scale-out 1 -> 3", "state after scale-in 3 -> 1",
             "logout on one replica, honoured by all"}


class ShopRuns:
    """Runs each configuration on first use and keeps it for the other tests."""

    def __init__(self, out: Path) -> None:
        self.out = out
        self.runs: dict[str, SuiteRun] = {}

    def __getitem__(self, config: str) -> SuiteRun:
        if config not in self.runs:
            # The subprocess's harness_images fixture builds harness-shop:latest from the spec's app.build.
            run = run_suites(SHOP / f"{config}.yaml", self.out / config, *SELECTED)
            print(f"\nshop-{config}: exit {run.code} in {run.seconds:.0f}s, "
                  + ", ".join(f"{v['scenario']}: {v['validity']} ({len(v['violations'])})" for v in run.verdicts))
            self.runs[config] = run
        return self.runs[config]


@pytest.fixture(scope="module")
def runs(docker_engine: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ShopRuns]:
    yield ShopRuns(tmp_path_factory.mktemp("shop"))


def found(verdict: dict[str, Any], checker: str, kind: str) -> list[dict[str, Any]]:
    return [v for v in verdict["violations"] if v["checker"] == checker and v["kind"] == kind]


def test_memory_loses_sessions_and_orders(runs: ShopRuns) -> None:
    run = runs["memory"]
    assert run.code == 1, run.tail()
    assert {v["scenario"] for v in run.verdicts} == SCENARIOS, run.tail()

    crash = run.scenario("state survives crash")
    assert crash["validity"] == "fail"
    # A cookie session acknowledged by app-0 and rejected (a redirect to /login) by app-0 after its crash.
    lost = [v for v in found(crash, "sessions", "lost")
            if v["replica"] == "app-0" and "acknowledged by app-0" in v["message"] and "crash of app-0" in v["message"]]
    assert lost, crash["violations"]
    assert "HTTP 302" in lost[0]["message"], lost[0]
    assert found(crash, "records", "lost"), crash["violations"]

    scaled = run.scenario("state after scale-out 1 -> 3")
    assert scaled["validity"] == "fail"
    rejecting = {v["replica"] for v in found(scaled, "sessions", "lost") if "acknowledged by app-0" in v["message"]}
    assert rejecting == {"app-1", "app-2"}, scaled["violations"]
    assert {v["replica"] for v in found(scaled, "records", "lost")} >= {"app-1", "app-2"}, scaled["violations"]
    assert "state survives crash" in run.output and "lost" in run.output  # the pytest failure explains itself


def test_persistent_passes_every_scenario(runs: ShopRuns) -> None:
    run = runs["persistent"]
    assert run.code == 0, run.tail()
    assert {v["scenario"] for v in run.verdicts} == SCENARIOS, run.tail()
    for verdict in run.verdicts:
        assert verdict["validity"] == "pass", verdict
        assert verdict["violations"] == [], verdict
        stats = verdict["stats"]
        assert stats["sessions"]["reads_judged"] > 0, stats["sessions"]  # the cookie sessions were really read
        if "records" in stats:
            assert stats["records"]["acknowledged"] > 0 and stats["records"]["observations_judged"] > 0, stats


def test_rate_limit_denies_with_403(runs: ShopRuns) -> None:
    """The search's 403 is read as a denial: the limit was reached, denied, and never exceeded."""
    run = runs["persistent"]
    judged = [v for v in run.verdicts if "rate_limit" in v["stats"]]
    assert judged, run.tail()
    for verdict in judged:
        stats = verdict["stats"]["rate_limit"]
        assert stats["windows_over_limit"] == 0 and stats["max_overshoot"] <= 1.0, stats
        key = stats["keys"]["rl-0"]
        assert key["limit"] == 5 and key["denied"] > 0 and key["allowed"] > 0, key

        hits = History.from_jsonl(run.out / verdict["history"]).operations("rate_limit")
        denied = [op for op in hits if op.status == 403]
        assert denied, verdict["scenario"]
        assert all(op.outcome is Outcome.OK and op.value == {"allowed": False} for op in denied), denied[:3]
        assert all(op.value == {"allowed": True} for op in hits if op.status == 200)
        assert not [op for op in hits if op.status == 429], "the shop never answers 429"
