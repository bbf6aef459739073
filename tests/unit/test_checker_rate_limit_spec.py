"""``operations.rate_limit.algorithm``: what a spec may declare, the errors it gets, and how it reaches each hit."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest

from harness.adapter import Adapter
from harness.errors import SpecError
from harness.spec import load_spec
from harness.spec_adapter import make_adapter
from harness.workloads.rate_limit import RateLimitWorkload

HEADER = "name: t\napp: {image: i}\noperations:\n  rate_limit:\n    hit: {path: /h}\n    limit: 4\n    window: 2\n"


def spec_with(tmp_path: Path, algorithm: str | None) -> Path:
    path = tmp_path / "t.yaml"
    path.write_text(HEADER + (textwrap.indent(f"algorithm: {algorithm}\n", "    ") if algorithm else ""))
    return path


def settings(tmp_path: Path, algorithm: str | None) -> dict[str, Any]:
    return make_adapter(load_spec(spec_with(tmp_path, algorithm))).settings("rate_limit")


def error(tmp_path: Path, algorithm: str) -> str:
    with pytest.raises(SpecError) as info:
        load_spec(spec_with(tmp_path, algorithm))
    return str(info.value)


@pytest.mark.parametrize(("declared", "long_form"), [
    (None, {"name": "fixed-window", "anchor": "any"}),
    ("fixed-window", {"name": "fixed-window", "anchor": "any"}),
    ("{name: fixed-window, anchor: epoch}", {"name": "fixed-window", "anchor": "epoch"}),
    ("{name: fixed-window, anchor: offset}", {"name": "fixed-window", "anchor": "offset"}),
    ("{name: fixed-window, anchor: first-hit}", {"name": "fixed-window", "anchor": "first-hit"}),
    ("sliding-window", {"name": "sliding-window"}),
    ("{name: sliding-window-counter}", {"name": "sliding-window-counter"}),
    ("token-bucket", {"name": "token-bucket", "burst": 4, "rate": 2.0}),
    ("{name: token-bucket, burst: 11, rate: 0.5}", {"name": "token-bucket", "burst": 11, "rate": 0.5}),
])
def test_settings_carry_the_long_form_with_defaults_filled_in(tmp_path: Path, declared: str | None,
                                                              long_form: dict[str, Any]) -> None:
    assert settings(tmp_path, declared) == {"limit": 4, "window": 2, "algorithm": long_form}


@pytest.mark.parametrize(("declared", "field", "expected"), [
    ("leaky", "operations.rate_limit.algorithm'", "'fixed-window', 'sliding-window', 'sliding-window-counter', "
                                                   "'token-bucket'"),
    ("{anchor: epoch}", "operations.rate_limit.algorithm'", "give the algorithm's 'name'"),
    ("{name: fixed-window, anchor: start}", "operations.rate_limit.algorithm.fixed-window.anchor'",
     "'epoch', 'offset', 'first-hit' or 'any'"),
    ("{name: token-bucket, burst: 0}", "operations.rate_limit.algorithm.token-bucket.burst'", "greater than or equal to 1"),
    ("{name: token-bucket, rate: -1}", "operations.rate_limit.algorithm.token-bucket.rate'", "greater than 0"),
    ("{name: sliding-window, anchor: epoch}", "operations.rate_limit.algorithm.sliding-window.anchor'",
     "Extra inputs are not permitted"),
    ("[fixed-window]", "operations.rate_limit.algorithm'", "expected an algorithm name"),
])
def test_a_bad_algorithm_names_the_file_the_field_and_what_is_expected(tmp_path: Path, declared: str, field: str,
                                                                        expected: str) -> None:
    message = error(tmp_path, declared)
    assert str(tmp_path / "t.yaml") in message and f"field '{field}" in message and expected in message, message


class _Client:
    """Only what the workload's hit needs: the adapter's settings, and a call whose args are kept."""

    def __init__(self, adapter: Adapter) -> None:
        self.adapter = adapter
        self.args: list[dict[str, Any]] = []

    def call(self, kind: str, name: str, replica: str, variables: dict, args: dict, phase: str = "main") -> None:
        self.args.append(args)


def test_every_hit_carries_the_algorithm_so_the_history_alone_is_judged(tmp_path: Path) -> None:
    client = _Client(make_adapter(load_spec(spec_with(tmp_path, "sliding-window"))))
    RateLimitWorkload(seed=3).hit(client, "app-0")  # type: ignore[arg-type]
    assert client.args == [{"key": "rl-3", "limit": 4, "window": 2, "algorithm": {"name": "sliding-window"}}]


def test_a_python_adapter_declares_it_or_leaves_the_default() -> None:
    class Undeclared(Adapter):
        rate_limit_limit, rate_limit_window = 4, 2.0

    class Declared(Undeclared):
        rate_limit_algorithm = {"name": "token-bucket", "burst": 3, "rate": 1.0}

    assert Declared().settings("rate_limit")["algorithm"] == {"name": "token-bucket", "burst": 3, "rate": 1.0}
    client = _Client(Undeclared())
    RateLimitWorkload().hit(client, "app-0")  # type: ignore[arg-type]
    assert "algorithm" not in client.args[0]  # judged as a fixed window starting anywhere
