"""The HTML report in a real browser: headless Chromium loads it, its DOM has the verdict
table and the timelines, and a screenshot of it is kept as docs/report.png.

Needs ``chromium`` (``scripts/chromium.sh ensure`` installs it). Without it the test is
skipped, except under CI=true, where a missing browser is a failure: CI must not pass
by skipping the only check that a person can actually read the report.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from harness.report.folder import write_reports
from tests.unit.test_report_html import PASSWORD, write_sample_run

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOT = ROOT / "docs" / "report.png"

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail("CI=true and no chromium on PATH: run `scripts/chromium.sh ensure` (as root) before the tests",
                    pytrace=False)
    pytest.skip("no chromium on PATH (install it with `scripts/chromium.sh ensure`)")


def _run(chromium: str, profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    # --no-sandbox: CI runs as root, where Chromium's sandbox refuses to start.
    cmd = [chromium, "--headless=new", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
           "--no-first-run", f"--user-data-dir={profile}", *args]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, f"{' '.join(cmd)} exited {done.returncode}:\n{done.stderr[-2000:]}"
    return done


def test_report_renders_in_chromium(chromium: str, tmp_path: Path) -> None:
    run = tmp_path / "run"
    write_sample_run(run)
    html = write_reports(run, extra_secrets=[PASSWORD])["html"]
    url = html.resolve().as_uri()

    dom = _run(chromium, tmp_path / "profile-dom", "--dump-dom", url).stdout
    assert '<table id="verdicts">' in dom
    assert dom.count('class="timeline"') == 3
    assert 'class="violating lost"' in dom
    assert "history not found" in dom

    shot = tmp_path / "report.png"
    _run(chromium, tmp_path / "profile-shot", f"--screenshot={shot}", "--window-size=1400,1000", url)
    assert shot.is_file() and shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert shot.stat().st_size > 20_000  # a blank page compresses to far less
    SCREENSHOT.parent.mkdir(exist_ok=True)
    shutil.copyfile(shot, SCREENSHOT)
