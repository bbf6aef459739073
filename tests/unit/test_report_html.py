"""The HTML report and the run folder writer, on a hand-written run folder.

``write_sample_run`` writes a folder the way the pytest plugin does (unredacted): a
sessions scenario on three replicas that loses the sessions of a crashed replica, the
same scenario passing, an unknown verdict, and a record whose history is missing.
The browser test (tests/integration/test_html_report.py) renders the same folder.
"""

from __future__ import annotations

import json
import random
import re
from dataclasses import dataclass
from pathlib import Path

from harness.checkers.base import Validity, Verdict
from harness.checkers.sessions import check_sessions
from harness.history import History, Outcome
from harness.report.folder import write_reports
from harness.report.html import render_html, timeline_svg
from harness.redaction import pseudonym

PASSWORD = "pg-Sup3r-secret-pw"
REPLICAS = ("app-0", "app-1", "app-2")
NASTY = "<script>alert('x')</script>"


@dataclass
class Sample:
    out: Path
    tokens: list[str]
    lost: list[str]          # tokens whose session the crash lost
    secrets: list[str]       # every secret that must not appear in any file of the folder


def sessions_history(lose: bool, rng: random.Random, t0: float = 1_700_000_000.0) -> tuple[History, list[str], list[str]]:
    """Logins on three replicas, a crash of app-1, a postgres restart, background reads, a final read everywhere.

    With ``lose``, app-1 forgets every session it created before the crash (a
    per-replica cache in front of a store that never got them): its final reads
    reject them, the other replicas still accept them.
    """
    h = History()
    tokens: list[tuple[str, str, float]] = []
    users: dict[str, str] = {}
    crash, pg = (t0 + 2.0, t0 + 2.6), (t0 + 4.5, t0 + 5.4)

    def op(name: str, replica: str, start: float, duration: float, token: str | None, outcome: Outcome,
           value: object = None, status: int | None = 200, phase: str = "main", error: str | None = None) -> None:
        args = {"token": token} if token else {"user": f"user-{len(tokens)}"}
        h.record_op(kind="sessions", name=name, replica=replica, start=start, end=start + duration, outcome=outcome,
                    args=args, value=value, status=status, error=error, phase=phase)

    t = t0
    for i in range(30):
        replica = REPLICAS[i % 3]
        token = f"tk-{rng.getrandbits(128):032x}"
        op("login", replica, t, 0.02, None, Outcome.OK, {"token": token, "user": f"user-{i}", "expires_at": None})
        users[token] = f"user-{i}"
        tokens.append((token, replica, t))
        t += 0.05
    h.record_fault("crash", "app-1", *crash, detail="SIGKILL")
    h.record_fault("dependency-restart", "postgres", *pg, detail=f"restarted with password {PASSWORD}")
    # background reads from 1.5 s to 6 s, a few hundred per replica
    t = t0 + 1.5
    while t < t0 + 6.0:
        replica = rng.choice(REPLICAS)
        token = rng.choice(tokens)[0]
        if replica == "app-1" and crash[0] <= t < crash[1]:
            op("whoami", replica, t, 0.004, token, Outcome.FAIL, status=None, error="ConnectError: connection refused")
        elif pg[0] <= t < pg[1] and rng.random() < 0.4:
            op("whoami", replica, t, 0.3, token, Outcome.UNKNOWN, status=None, error=f"ReadTimeout for Bearer {token}")
        else:
            op("whoami", replica, t, 0.006, token, Outcome.OK, {"accepted": True, "user": users[token]})
        t += 0.004
    # the final read: every token on every replica
    t = t0 + 6.5
    lost = []
    for token, created_on, _ in tokens:
        for replica in REPLICAS:
            gone = lose and created_on == replica == "app-1"
            op("whoami", replica, t, 0.01, token, Outcome.OK,
               {"accepted": False} if gone else {"accepted": True, "user": users[token]}, 401 if gone else 200, "final")
            t += 0.012
        if lose and created_on == "app-1":
            lost.append(token)
    return h, [tk for tk, _, _ in tokens], lost


def _record(nodeid: str, scenario: str, verdict: Verdict, history_path: Path | str, seed: int = 7) -> dict:
    return {"nodeid": nodeid, "seed": seed, "scenario": scenario, "target": "refapp-memory", "replicas": 3,
            **verdict.to_dict(), "history": str(history_path)}


def write_sample_run(out: Path) -> Sample:
    """A run folder as the plugin leaves it before reports: histories, verdicts, verdicts.json."""
    out.mkdir(parents=True, exist_ok=True)
    rng = random.Random(7)
    records = []
    lost_h, tokens, lost = sessions_history(True, rng)
    kept_h, more_tokens, _ = sessions_history(False, rng)
    small = History()
    small.record_op(kind="records", name="write", replica="app-0", start=10.0, end=10.1, outcome=Outcome.UNKNOWN,
                    args={"data": NASTY}, error=NASTY)
    unknown = Verdict("records", Validity.UNKNOWN, notes=(f"no final read answered {NASTY}",))
    cases = [("scenarios/test_restart.py::test_sessions_survive_crash[memory]", "sessions survive a crash", lost_h,
              check_sessions(lost_h)),
             ("scenarios/test_restart.py::test_sessions_survive_crash[durable]", "sessions survive a crash", kept_h,
              check_sessions(kept_h)),
             ("scenarios/test_dependency.py::test_records_survive_outage", "records survive an outage", small, unknown)]
    for nodeid, scenario, history, verdict in cases:
        slug = re.sub(r"[^A-Za-z0-9_.-]+", "_", nodeid)
        path = out / f"{slug}.history.jsonl"
        history.to_jsonl(path)
        record = _record(nodeid, scenario, verdict, path)
        (out / f"{slug}.verdict.json").write_text(json.dumps(record, indent=2, default=str))
        records.append(record)
    records.append(_record("scenarios/test_restart.py::test_files_survive_redeploy", "files survive a redeploy",
                           Verdict("files", Validity.PASS), out / "gone.history.jsonl"))
    (out / "verdicts.json").write_text(json.dumps(records, indent=2, default=str))
    return Sample(out, tokens + more_tokens, lost, tokens + more_tokens + [PASSWORD])


def test_sample_run_loses_what_it_should(tmp_path: Path) -> None:
    sample = write_sample_run(tmp_path)
    records = json.loads((tmp_path / "verdicts.json").read_text())
    assert [r["validity"] for r in records] == ["fail", "pass", "unknown", "pass"]
    assert {v["kind"] for v in records[0]["violations"]} == {"lost"}
    assert len(sample.lost) == 10


def test_report_has_table_timelines_legend_and_marks_the_lost_writes(tmp_path: Path) -> None:
    sample = write_sample_run(tmp_path)
    paths = write_reports(tmp_path, extra_secrets=[PASSWORD])
    html = paths["html"].read_text()
    assert html.startswith("<!DOCTYPE html>")
    assert '<table id="verdicts">' in html and html.count("<tr>") == 5
    assert html.count('<svg class="timeline"') == 3
    assert 'id="legend"' in html
    assert "history not found" in html
    first = html.split('id="scenario-0"')[1].split('id="scenario-1"')[0]
    assert first.count('class="violating lost"') >= 2 * len(sample.lost)  # each login and each losing read
    assert "was rejected (HTTP 401) by app-1" in first  # the violation message is the tooltip
    assert pseudonym(sample.lost[0]) in first
    assert "crash app-1" in first and "dependency-restart postgres" in first  # fault labels
    second = html.split('id="scenario-1"')[1].split('id="scenario-2"')[0]
    assert "violating" not in second


def test_report_is_self_contained_escaped_and_bounded(tmp_path: Path) -> None:
    write_sample_run(tmp_path)
    html = write_reports(tmp_path)["html"].read_text()
    assert "<script" not in html and NASTY not in html and "&lt;script&gt;" in html
    assert not re.search(r"""(src|href)=["']?(https?:|//)""", html)
    assert "<link" not in html
    assert len(html) < 600_000


def test_no_secret_reaches_any_file_of_the_folder(tmp_path: Path) -> None:
    sample = write_sample_run(tmp_path)
    before = (tmp_path / "verdicts.json").read_text() + "".join(p.read_text() for p in tmp_path.glob("*.jsonl"))
    assert sample.lost[0] in before and PASSWORD in before  # the raw folder has them
    write_reports(tmp_path, extra_secrets=[PASSWORD])
    for path in tmp_path.iterdir():
        text = path.read_text()
        leaked = [s for s in sample.secrets if s in text]
        assert not leaked, f"{path.name} leaks {len(leaked)} secrets"
        assert "tk-" not in text, path.name


def test_rendering_twice_gives_the_same_files(tmp_path: Path) -> None:
    write_sample_run(tmp_path)
    write_reports(tmp_path, extra_secrets=[PASSWORD])
    first = {p.name: p.read_text() for p in tmp_path.iterdir() if p.suffix != ".html" and p.suffix != ".xml"}
    write_reports(tmp_path, extra_secrets=[PASSWORD])
    assert first == {p.name: p.read_text() for p in tmp_path.iterdir() if p.suffix != ".html" and p.suffix != ".xml"}


def test_redacted_history_is_judged_as_before(tmp_path: Path) -> None:
    write_sample_run(tmp_path)
    original = json.loads((tmp_path / "verdicts.json").read_text())[0]
    write_reports(tmp_path, extra_secrets=[PASSWORD])
    redacted = json.loads((tmp_path / "verdicts.json").read_text())[0]
    again = check_sessions(History.from_jsonl(tmp_path / redacted["history"]))
    assert [v.message for v in again.violations] == [v["message"] for v in redacted["violations"]]
    assert again.stats == original["stats"]


def test_moved_folder_still_finds_its_histories(tmp_path: Path) -> None:
    write_sample_run(tmp_path / "ran-here")
    (tmp_path / "ran-here").rename(tmp_path / "downloaded")
    html = write_reports(tmp_path / "downloaded")["html"].read_text()
    assert html.count('<svg class="timeline"') == 3


def test_timeline_stays_small_for_thousands_of_operations() -> None:
    h = History()
    for i in range(6000):
        h.record_op(kind="counters", name="add", replica=f"app-{i % 3}", start=i * 0.002, end=i * 0.002 + 0.01,
                    outcome=(Outcome.OK, Outcome.OK, Outcome.OK, Outcome.FAIL, Outcome.UNKNOWN)[i % 5], args={"by": 1})
    h.record_fault("crash", "app-2", 4.0, 4.5)
    svg = timeline_svg(h, [{"kind": "lost", "message": "m", "op_ids": [10, 5000]}])
    assert svg.count("<rect") < 3 * 3 * 700
    assert len(svg) < 250_000
    assert svg.count('class="violating') == 2


def test_lanes_are_one_per_replica_in_natural_order() -> None:
    h = History()
    for i, replica in enumerate(("app-10", "app-2", "app-1")):
        h.record_op(kind="records", name="read", replica=replica, start=float(i), end=i + 0.1, outcome=Outcome.OK)
    svg = timeline_svg(h)
    labels = re.findall(r'text-anchor="end" fill="#212121">([^<]+)<', svg)
    assert labels == ["app-1", "app-2", "app-10"]


def test_render_accepts_a_redactor_and_missing_histories() -> None:
    token = "tk-0123456789abcdef0123456789abcdef"
    h = History()
    h.record_op(kind="sessions", name="login", replica="app-0", start=1.0, end=1.1, outcome=Outcome.OK,
                value={"token": token})
    records = [{"scenario": "s", "validity": "fail", "violations": [{"kind": "lost", "message": f"lost {token}",
                                                                    "op_ids": [0]}]},
               {"scenario": "t", "validity": "pass", "violations": []}]
    from harness.redaction import Redactor

    html = render_html(records, [h, None], redactor=Redactor().collect_history(h))
    assert token not in html and pseudonym(token) in html
    assert "history not found" in html
