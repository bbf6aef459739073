"""How every report words a record's causes (``harness.checkers.causes``) and the kinds its spec lacks.

One wording for the terminal, JUnit and HTML alike: the cause summary first ("crash of
app-0: nothing lost on app-0; replicas do not share sessions (12 never seen on another
replica)"), then one line per group with its counts and first example; the state kinds
no checker had anything to judge in are said once, "not in the spec: files, quotes".
Records written before causes existed simply have none: every helper returns nothing.
"""

from __future__ import annotations

from typing import Any

NOT_IN_SPEC = "not in the spec"


def summary(record: dict[str, Any]) -> str | None:
    """The one-line cause of a record's violations, or None (no violation, or an older record)."""
    causes = record.get("causes")
    text = causes.get("summary") if isinstance(causes, dict) else None
    return str(text) if text else None


def groups(record: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(cause, group) in the order the record gives them."""
    causes = record.get("causes")
    found = causes.get("groups") if isinstance(causes, dict) else None
    return [(str(k), g) for k, g in found.items() if isinstance(g, dict)] if isinstance(found, dict) else []


def counts_text(group: dict[str, Any]) -> str:
    """``{"sessions": 12, "records": 3}`` -> ``sessions 12, records 3``."""
    return ", ".join(f"{kind} {n}" for kind, n in (group.get("counts") or {}).items())


def group_line(cause: str, group: dict[str, Any]) -> str:
    """One group in words: its title, how many violations, their counts, where, after which faults."""
    n = group.get("violations", 0)
    where = f" on {', '.join(group['replicas'])}" if group.get("replicas") else ""
    # replicas that do not share a state miss it whatever happened in between: faults are no cause there
    after = f", after {', '.join(group['faults'])}" if group.get("faults") and cause != "not_shared" else ""
    return (f"{group.get('title', cause)}: {n} violation{'s' if n != 1 else ''} ({counts_text(group)})"
            f"{where}{after}")


def cause_lines(record: dict[str, Any]) -> list[str]:
    """The summary, then each group and its first example, as plain text lines (JUnit, terminal)."""
    text = summary(record)
    if text is None:
        return []
    lines = [f"cause: {text}"]
    for cause, group in groups(record):
        lines.append(f"  {group_line(cause, group)}")
        first = group.get("first") or {}
        if first.get("message"):
            lines.append(f"    first: [{first.get('checker', '?')}/{first.get('kind', '?')}] {first['message']}")
    return lines


def not_in_spec(record: dict[str, Any]) -> list[str]:
    """The state kinds the record's checkers found no operation of (while others were judged)."""
    kinds = record.get("not_in_spec")
    return [str(k) for k in kinds] if isinstance(kinds, list) else []


def not_in_spec_text(record: dict[str, Any]) -> str | None:
    kinds = not_in_spec(record)
    return f"{NOT_IN_SPEC}: {', '.join(kinds)}" if kinds else None
