"""Target specs: extends, and errors that name the file, the field and what was expected."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.errors import SpecError
from harness.spec import load_spec

ROOT = Path(__file__).resolve().parents[2]
MODES = ["durable", "memory", "fallback", "local-disk", "write-behind", "racy-limit", "stale-cache",
         "volatile-redis", "no-expiry"]


@pytest.mark.parametrize("mode", MODES)
def test_every_reference_mode_has_a_spec(mode: str) -> None:
    spec = load_spec(ROOT / "targets" / "refapp" / f"{mode}.yaml")
    assert spec.app.env["STORAGE"] == mode
    assert spec.app.env["DATABASE_URL"] == "{postgres.url}"
    assert spec.dependencies.redis.persistence is (mode != "volatile-redis")


def write(tmp_path: Path, text: str, name: str = "t.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_unknown_field_is_named(tmp_path: Path) -> None:
    path = write(tmp_path, "name: x\napp:\n  image: i\n  prot: 80\n")
    with pytest.raises(SpecError, match=r"t\.yaml.*\n.*field 'app\.prot': Extra inputs are not permitted"):
        load_spec(path)


def test_missing_field_is_named(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match=r"field 'name': Field required"):
        load_spec(write(tmp_path, "app:\n  port: 80\n"))


def test_wrong_type_shows_the_value(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match=r"field 'app\.port'.*got 'eighty'"):
        load_spec(write(tmp_path, "name: x\napp:\n  image: i\n  port: eighty\n"))


def test_missing_file_and_extends_loop(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="not found"):
        load_spec(tmp_path / "absent.yaml")
    write(tmp_path, "extends: b.yaml\n", "a.yaml")
    write(tmp_path, "extends: a.yaml\n", "b.yaml")
    with pytest.raises(SpecError, match="loops back"):
        load_spec(tmp_path / "a.yaml")


def test_extends_replaces_a_mapping_that_names_another_variant(tmp_path: Path) -> None:
    """A token bucket over an inherited fixed window must not inherit the window's anchor."""
    base = write(tmp_path, "name: x\napp:\n  image: i\n  port: 80\noperations:\n  rate_limit:\n"
                 "    hit: {path: '/l/{key}'}\n    limit: 5\n    window: 10\n"
                 "    algorithm: {name: fixed-window, anchor: epoch}\n", "base.yaml")
    bucket = load_spec(write(tmp_path, f"extends: {base.name}\noperations:\n  rate_limit:\n"
                             "    algorithm: {name: token-bucket, burst: 4}\n", "bucket.yaml"))
    first_hit = load_spec(write(tmp_path, f"extends: {base.name}\noperations:\n  rate_limit:\n"
                                "    algorithm: {anchor: first-hit}\n", "first.yaml"))
    assert bucket.operations.rate_limit.algorithm.name == "token-bucket"
    assert bucket.operations.rate_limit.algorithm.burst == 4
    assert first_hit.operations.rate_limit.algorithm.anchor == "first-hit"  # same variant: merged
