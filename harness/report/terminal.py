"""The verdict table printed at the end of a run."""

from __future__ import annotations

from typing import Any, Iterable

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from harness.report import causes
from harness.report.errors import reason

STYLE = {"pass": "bold green", "fail": "bold red", "unknown": "bold yellow", "error": "bold red reverse",
         "interrupted": "bold magenta"}  # the mark of a run a signal stopped (harness.report.interrupted)
FINDING_STYLE = "yellow"


def verdict_table(results: Iterable[dict[str, Any]], title: str = "verdicts") -> Table:
    """One row per scenario: its verdict, its cause (``harness.report.causes``) and first violation.

    The kinds the target lacks are said once: under the table when the run has one target (the
    scenarios that name absent kinds name the same), else in each row that names some.
    """
    results = list(results)
    absent = {tuple(causes.not_in_spec(r)) for r in results} - {()}
    one_target = len({r.get("target") for r in results if r.get("validity") != "interrupted"}) == 1
    once = causes.not_in_spec_text({"not_in_spec": list(absent.pop())}) if len(absent) == 1 and one_target else None
    table = Table(title=title, show_lines=False, caption=escape(once) if once else None)
    table.add_column("scenario")
    table.add_column("target")
    table.add_column("replicas", justify="right")
    table.add_column("verdict")
    table.add_column("violations", justify="right")
    table.add_column("findings", justify="right")
    table.add_column("cause, first violation (or finding)", overflow="fold", max_width=70)
    for r in results:
        validity = r.get("validity", "unknown")
        violations = r.get("violations", [])
        findings = r.get("findings", [])
        table.add_row(
            r.get("scenario", "?"), r.get("target", "?"), str(r.get("replicas", "")),
            f"[{STYLE.get(validity, 'bold')}]{escape(str(validity))}[/]", str(len(violations)),
            f"[{FINDING_STYLE}]{len(findings)}[/]" if findings else "0",
            _explained(r, None if once else causes.not_in_spec_text(r),
                       escape(violations[0]["message"]) if violations else first_finding(findings)
                       or escape(reason(r))),
        )
    return table


def _explained(record: dict[str, Any], absent: str | None, first: str) -> str:
    """The cause summary (bold), then the first violation; the kinds the target lacks, dimmed, last."""
    lines = [f"[bold]cause: {escape(text)}[/]"] if (text := causes.summary(record)) else []
    lines.append(first)
    if absent:
        lines.append(f"[dim]{escape(absent)}[/]")
    return "\n".join(line for line in lines if line)


def first_finding(findings: list[dict[str, Any]]) -> str:
    """A finding shown where a violation would be, marked so it cannot be read as one."""
    if not findings:
        return ""
    return f"[{FINDING_STYLE}]finding ({findings[0].get('kind', '?')}):[/] {escape(findings[0].get('message', ''))}"


def print_verdicts(results: list[dict[str, Any]], console: Console | None = None) -> None:
    console = console or Console()
    if not results:
        console.print("[yellow]no scenario produced a verdict[/]")
        return
    console.print(verdict_table(results))
