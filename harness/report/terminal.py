"""The verdict table printed at the end of a run."""

from __future__ import annotations

from typing import Any, Iterable

from rich.console import Console
from rich.table import Table

STYLE = {"pass": "bold green", "fail": "bold red", "unknown": "bold yellow"}


def verdict_table(results: Iterable[dict[str, Any]], title: str = "verdicts") -> Table:
    table = Table(title=title, show_lines=False)
    table.add_column("scenario")
    table.add_column("target")
    table.add_column("replicas", justify="right")
    table.add_column("verdict")
    table.add_column("violations", justify="right")
    table.add_column("first violation", overflow="fold", max_width=70)
    for r in results:
        validity = r.get("validity", "unknown")
        violations = r.get("violations", [])
        table.add_row(
            r.get("scenario", "?"), r.get("target", "?"), str(r.get("replicas", "")),
            f"[{STYLE.get(validity, '')}]{validity}[/]", str(len(violations)),
            violations[0]["message"] if violations else "",
        )
    return table


def print_verdicts(results: list[dict[str, Any]], console: Console | None = None) -> None:
    console = console or Console()
    if not results:
        console.print("[yellow]no scenario produced a verdict[/]")
        return
    console.print(verdict_table(results))
