"""docs/kubernetes.md holds: every attach example is a valid attach section, every fault is mapped,
and the README points to it."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from harness.attach_spec import AttachSpec
from harness.capabilities import capabilities_of
from harness.backends.attach import attach_kind
from harness.vocabulary import FaultName

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "kubernetes.md"
README = ROOT / "README.md"


def yaml_blocks(text: str) -> list[dict]:
    return [yaml.safe_load(block) for block in re.findall(r"```yaml\n(.*?)```", text, re.S)]


def test_every_attach_example_is_valid() -> None:
    sections = [b for b in yaml_blocks(DOC.read_text()) if "verbs" in b]
    sections += [b["attach"] for b in yaml_blocks(README.read_text()) if "attach" in b]
    assert len(sections) >= 3
    parsed = [AttachSpec.model_validate(s) for s in sections]
    # the workstation recipe gives every verb: all capabilities, nothing skipped
    assert [c.name for c in capabilities_of(attach_kind(parsed[0]))] == [
        "pause", "redeploy", "scale", "dependency-faults", "network-cut"]


def test_every_fault_is_mapped() -> None:
    table = DOC.read_text().split("### Faults and their heals", 1)[1].split("###", 1)[0]
    rows = [line.split("|")[1].strip() for line in table.splitlines() if line.startswith("| ")]
    for fault in FaultName:
        words = fault.value.replace("-", " ")
        assert any(words in row for row in rows), f"{fault} has no row in docs/kubernetes.md"


def test_the_readme_points_to_it() -> None:
    text = README.read_text()
    assert "## Attach to an environment that already runs" in text and "docs/kubernetes.md" in text
