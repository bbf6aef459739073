"""The verdict table printed at the end of a run."""

from __future__ import annotations

from typing import Any, Iterable

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from harness.report.errors import reason

STYLE = {"pass": "bold green", "fail": "bold red", "unknown": "bold yellow", "error": "bold red reverse",
         "interrupted": "bold magenta"}  # the mark of a run a signal stopped (harness.report.interrupted)
FINDING_STYLE = "yellow"


def verdict_table(results: Iterable[dict[str, Any]], title: str = "verdicts") -> Table:
    table = Table(title=title, show_lines=False)
    table.add_column("scenario")
    table.add_column("target")
    table.add_column("replicas", justify="right")
    table.add_column("verdict")
    table.add_column("violations", justify="right")
    table.add_column("findings", justify="right")
    table.add_column("first violation (or finding)", overflow="fold", max_width=70)
    for r in results:
        validity = r.get("validity", "unknown")
        violations = r.get("violations", [])
        findings = r.get("findings", [])
        table.add_row(
            r.get("scenario", "?"), r.get("target", "?"), str(r.get("replicas", "")),
            f"[{STYLE.get(validity, 'bold')}]{escape(str(validity))}[/]", str(len(violations)),
            f"[{FINDING_STYLE}]{len(findings)}[/]" if findings else "0",
            escape(violations[0]["message"]) if violations else first_finding(findings) or escape(reason(r)),
        )
    return table


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
