"""Run scenario suites as a user would: a pytest subprocess against a spec, verdicts read back."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class SuiteRun:
    """One pytest session of scenarios against one target spec."""

    target: str
    code: int
    verdicts: list[dict[str, Any]]
    output: str
    seconds: float
    out: Path

    def scenario(self, name: str) -> dict[str, Any]:
        found = [v for v in self.verdicts if v["scenario"] == name]
        assert found, f"{self.target}: no verdict for scenario {name!r}\n{self.tail()}"
        return found[0]

    def violations(self, name: str, checker: str | None = None, kind: str | None = None) -> list[dict[str, Any]]:
        return [v for v in self.scenario(name)["violations"]
                if (checker is None or v["checker"] == checker) and (kind is None or v["kind"] == kind)]

    def tail(self, chars: int = 3000) -> str:
        return f"(exit {self.code}, {self.seconds:.0f}s) ...{self.output[-chars:]}"


def run_suites(spec: Path, out: Path, *select: str) -> SuiteRun:
    """``pytest scenarios --target SPEC --harness-out OUT *select`` in a subprocess."""
    cmd = [sys.executable, "-m", "pytest", str(ROOT / "scenarios"), "--target", str(spec), "--harness-out", str(out),
           "-p", "no:cacheprovider", "-q", "--rootdir", str(ROOT), *select]
    start = time.monotonic()
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=1800, env={**os.environ})
    verdicts_file = out / "verdicts.json"
    verdicts = json.loads(verdicts_file.read_text()) if verdicts_file.exists() else []
    return SuiteRun(spec.stem, proc.returncode, verdicts, proc.stdout + proc.stderr, time.monotonic() - start, out)
