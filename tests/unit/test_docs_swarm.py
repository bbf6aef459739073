"""docs/swarm.md keeps up with the swarm backend: every fault has a row, every capability the backend has is
named in its table and every one it lacks is marked absent, and the README points to the page."""

from __future__ import annotations

from pathlib import Path

from harness.backends import swarm_kind
from harness.capabilities import CAPABILITIES, capabilities_of
from harness.vocabulary import FaultName

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "swarm.md"
README = ROOT / "README.md"


def fault_rows() -> dict[str, str]:
    """The fault table's rows: the fault's words -> the whole row."""
    table = DOC.read_text().split("## Faults and how each is carried out", 1)[1].split("\n## ", 1)[0]
    return {line.split("|")[1].strip(): line for line in table.splitlines() if line.startswith("| ")}


def test_every_fault_has_a_row() -> None:
    rows = fault_rows()
    for fault in FaultName:
        assert fault.value.replace("-", " ") in rows, f"{fault} has no row in docs/swarm.md"


def test_every_capability_is_named_and_every_missing_one_marked_absent() -> None:
    rows = list(fault_rows().values())
    has = capabilities_of(swarm_kind())
    assert has, "the swarm backend has optional capabilities"
    for capability in has:
        named = [row for row in rows if f"`{capability.name}`" in row.split("|")[2]]
        assert named, f"docs/swarm.md names no fault needing {capability.name}, which SwarmDeployment has"
        assert all("absent" not in row.split("|")[2] for row in named), f"{capability.name} is not absent"
    lacking = [c for c in CAPABILITIES if c not in has]
    for capability in lacking:
        assert any(f"`{capability.name}`: **absent**" in row for row in rows), (
            f"docs/swarm.md does not say the swarm backend lacks {capability.name}")
    assert [c.name for c in lacking] == ["network-cut"]


def test_the_readme_points_to_it() -> None:
    text = README.read_text()
    assert "--backend swarm" in text and "(docs/swarm.md)" in text
