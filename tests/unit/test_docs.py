"""The spec reference in docs/ is generated from the models and must match them."""

from __future__ import annotations

from pathlib import Path

from harness.report.spec_reference import reference

DOC = Path(__file__).resolve().parents[2] / "docs" / "spec-reference.md"


def test_spec_reference_is_current() -> None:
    assert DOC.read_text() == reference(), (
        "docs/spec-reference.md is stale: run `python -m harness.report.spec_reference > docs/spec-reference.md`")


def test_spec_reference_lists_every_operation_field() -> None:
    text = reference()
    for field in ("`accepted`", "`rejected`", "`limited`", "`extract`", "`cookie`", "`multipart`", "`exempt`",
                  "`build`", "`adapter`", "`sessions.login`", "`before`", "`body`", "`follow_redirects`",
                  "## StatusRule", "## Step", "**Redirects are never followed**"):
        assert field in text
