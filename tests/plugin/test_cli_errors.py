"""``harness run``'s end in a real pytest session: errors reach it as fields, from any module.

The plugin gives an error's cause as a field of pytest's report and a record of the run
folder; ``harness run`` reads those, never the failure's text. A ``LoadError`` (raised in
``harness.load.runner``, not ``harness.errors``) is an error of the run like any other.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

TESTS = '''
import pytest

@pytest.fixture
def harness():  # stands in for the plugin's: what makes a test a scenario
    return None

def test_load_scenario(harness):
    from harness.load.runner import LoadError
    raise LoadError("locust exited with code 2; last lines of locust.log:\\nError: bad port")

def test_plain_load():
    from harness.load.runner import LoadError
    raise LoadError("locust did not finish within 30s; it was stopped")

def test_passes():
    pass
'''

#: what ``harness run`` does around pytest (``cmd_run``), without deploying anything
RUN = '''
import sys
from pathlib import Path

import pytest

from harness import cli

out, tests = Path(sys.argv[1]), sys.argv[2]
progress = cli.Progress()
code = int(pytest.main([tests, "--harness-out", str(out), "-p", "no:cacheprovider", "-q"], plugins=[progress]))
sys.exit(cli._finish_run(out, "t", code, progress))
'''


def _run(tmp_path: Path) -> subprocess.CompletedProcess[str]:
    (tmp_path / "test_errors.py").write_text(TESTS)
    (tmp_path / "run.py").write_text(RUN)
    env = {**os.environ, "COLUMNS": "300", "NO_COLOR": "1"}
    return subprocess.run([sys.executable, "run.py", str(tmp_path / "out"), "test_errors.py"], cwd=tmp_path,
                          capture_output=True, text=True, env=env, timeout=120)


def test_a_load_error_is_an_error_of_the_run_with_its_cause(tmp_path: Path) -> None:
    proc = _run(tmp_path)
    assert proc.returncode == 2, proc.stdout + proc.stderr  # an error, not a violation (1)
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert errors == [
        "error: test_errors.py::test_load_scenario: load failed: locust exited with code 2; last lines of locust.log:",
        "error: test_errors.py::test_plain_load: load failed: locust did not finish within 30s; it was stopped",
    ], proc.stderr
    # the scenario's error is a record of the run folder, read back by the CLI's table
    [record] = json.loads((tmp_path / "out" / "verdicts.json").read_text())
    assert record["validity"] == "error" and record["error"]["type"] == "LoadError"
    assert "test_load_scenario" in proc.stdout and "error" in proc.stdout
