"""The abstract operations, written once: per (state kind, operation), what it receives and yields.

Workloads ask for abstract operations (``sessions.login``, ``records.read``, ...). This
table says, for each one, the variables it receives, whether a kind's workload needs it,
what a spec must extract from an accepted answer, the statuses it reads by default, and
the keys of the reply the checkers read; and, per kind, the settings a workload and its
checker need (a rate limit's limit and window, a cooldown's period). Everything else is
derived from it: the spec's ``operations`` models (``harness.operations``), the Python
adapter's methods (``harness.adapter``), the readers of YAML answers
(``harness.spec_adapter``) and the spec reference in docs/; a unit test walks the table
against each, so an operation cannot be half added.

It imports nothing of the harness but the vocabulary: every layer above may read it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Mapping

from harness.vocabulary import StateKind

#: the categories of an answer a reply can be read from: took effect / definite "no" / a limiter's denial
ACCEPTED, REJECTED, LIMITED = "accepted", "rejected", "limited"


@dataclass(frozen=True)
class OperationDef:
    """One abstract operation of one state kind.

    ``replies`` maps an answer's category to the reply's keys, each with what its value
    is: what a Python adapter returns (``accepted(**keys)``, ``rejected(**keys)`` for both
    a rejection and a limiter's denial) and what the spec adapter's reader builds.
    """

    kind: StateKind
    name: str
    #: what the operation receives: the placeholders a spec may use, the adapter method's parameters
    variables: tuple[str, ...]
    #: the kind's workload cannot run without it (a spec must declare it; an adapter must implement it)
    required: bool
    replies: Mapping[str, Mapping[str, str]]
    #: values a spec must extract from an accepted answer
    extract: tuple[str, ...] = ()
    #: values a spec may extract; read when present
    optional_extract: tuple[str, ...] = ()
    #: statuses read as a definite "no" when a spec gives none, with the reason each means
    rejected: Mapping[int, str] = field(default_factory=dict)
    #: statuses read as a limiter's denial when a spec gives none
    limited: tuple[int, ...] = ()
    #: anything else a spec writer must know, for the docs
    note: str = ""

    @property
    def qualname(self) -> str:
        """``kind.operation``, as specs, errors and the docs write it."""
        return f"{self.kind}.{self.name}"

    @property
    def method(self) -> str:
        """The Python adapter's method name."""
        return f"{self.kind}_{self.name}"

    def reply_doc(self) -> str:
        """What the operation returns, in the adapter helpers' words, e.g. ``accepted(found=True, ...)``."""
        parts = []
        for category, keys in self.replies.items():
            helper = ACCEPTED if category == ACCEPTED else REJECTED
            args = ", ".join(f"{key}={meaning}" for key, meaning in keys.items())
            when = " when limited" if category == LIMITED else ""
            parts.append(f"{helper}({args}){when}")
        return " / ".join(parts)

    def spec_doc(self) -> str:
        """The spec field's description: its variables, what it extracts, its rejection reasons."""
        words = [f"variables: {', '.join(self.variables) or 'none'}"]
        optional = f"optionally {', '.join(self.optional_extract)}" if self.optional_extract else ""
        if self.extract:
            words.append(f"extracts {' and '.join(self.extract)}" + (f" ({optional})" if optional else ""))
        elif optional:
            words.append(optional.replace("optionally ", "optionally extracts ", 1))
        reasons = [r for r in dict.fromkeys(self.rejected.values()) if r != REJECTED]
        if reasons:
            words.append(f"rejected reasons: {', '.join(reasons)}")
        if self.note:
            words.append(self.note)
        return "; ".join(words)


@dataclass(frozen=True)
class Setting:
    """A parameter a kind's workload and checker need, given by a spec field or an adapter attribute."""

    kind: StateKind
    #: the spec field in ``operations.<kind>`` and the key in ``Adapter.settings(kind)``
    name: str
    #: the Python adapter's class attribute
    attribute: str
    #: no default is sound (a wrong limit judges an app against another app's numbers): must be given
    required: bool
    meaning: str
    #: how the attribute is written in a Python adapter, for error messages and docs
    example: str


def _op(kind: StateKind, name: str, variables: tuple[str, ...], required: bool,
        replies: dict[str, dict[str, str]], **more: object) -> OperationDef:
    frozen = {category: MappingProxyType(keys) for category, keys in replies.items()}
    if isinstance(more.get("rejected"), dict):
        more["rejected"] = MappingProxyType(more["rejected"])  # type: ignore[arg-type]
    return OperationDef(kind, name, variables, required, MappingProxyType(frozen), **more)  # type: ignore[arg-type]


K = StateKind
#: every abstract operation, grouped by kind in the vocabulary's order
OPERATIONS: tuple[OperationDef, ...] = (
    _op(K.SESSIONS, "login", ("user",), True,
        {ACCEPTED: {"token": "<the session token>", "user": "<the user>", "expires_at": "<epoch seconds> or None"}},
        extract=("token",), optional_extract=("expires_at",)),
    _op(K.SESSIONS, "whoami", ("token",), True,
        {ACCEPTED: {"accepted": "True", "user": "<who the app says is logged in> or None"},
         REJECTED: {"accepted": "False"}},
        optional_extract=("user",), rejected={401: "rejected", 403: "rejected"},
        note="accepted = logged in, rejected = not"),
    _op(K.SESSIONS, "logout", ("token",), False,
        {ACCEPTED: {"revoked": "True"}, REJECTED: {"revoked": "False"}},
        rejected={401: "rejected"}, note="rejected = an unknown token"),
    _op(K.FILES, "upload", ("content", "filename"), True,
        {ACCEPTED: {"id": "<the file's id>", "sha256": "<what the app says it stored> or None"}},
        extract=("id",), optional_extract=("sha256",), note="content is bytes"),
    _op(K.FILES, "download", ("id",), True,
        {ACCEPTED: {"found": "True", "sha256": "<sha256 of the body>"},
         REJECTED: {"found": "False", "sha256": "None"}},
        rejected={404: "not-found"}, note="the body is the file"),
    _op(K.QUOTES, "create", ("amount", "ttl"), True,
        {ACCEPTED: {"id": "<the quote's id>", "expires_at": "<epoch seconds>"}},
        extract=("id", "expires_at"), note="expires_at in epoch seconds or ISO 8601"),
    _op(K.QUOTES, "use", ("id",), True,
        {ACCEPTED: {"used": "True"}, REJECTED: {"used": "False", "reason": "'not-found'|'already-used'|'expired'"}},
        rejected={404: "not-found", 409: "already-used", 410: "expired"}),
    _op(K.QUOTES, "read", ("id",), False,
        {ACCEPTED: {"found": "True", "expired": "False", "used": "<bool>"},
         REJECTED: {"found": "<False, or True when expired>", "expired": "<True when expired>",
                    "used": "<False, or None when expired>"}},
        optional_extract=("used",), rejected={404: "not-found", 410: "expired"}),
    _op(K.RATE_LIMIT, "hit", ("key",), True,
        {ACCEPTED: {"allowed": "True"}, LIMITED: {"allowed": "False"}},
        limited=(429,), note="accepted = allowed, limited = denied"),
    _op(K.COOLDOWNS, "start", ("key",), True,
        {ACCEPTED: {"allowed": "True", "until": "<epoch> or None"},
         LIMITED: {"allowed": "False", "until": "<epoch> or None"}},
        optional_extract=("until",), limited=(429,), note="accepted = started, limited = still cooling down"),
    _op(K.RECORDS, "create", ("data",), True,
        {ACCEPTED: {"id": "<the record's id>", "version": "<its version> or None"}},
        extract=("id",), optional_extract=("version",)),
    _op(K.RECORDS, "read", ("id",), True,
        {ACCEPTED: {"found": "True", "data": "<the record's data>", "version": "<its version> or None"},
         REJECTED: {"found": "False", "data": "None", "version": "None"}},
        extract=("data",), optional_extract=("version",), rejected={404: "not-found"}),
    _op(K.RECORDS, "update", ("id", "data"), False,
        {ACCEPTED: {"id": "<the record's id>", "version": "<its version> or None"}},
        optional_extract=("id", "version"),
        note="version: a number every applied update raises (a version column, lock_version), never a "
             "timestamp; two concurrent updates answering the same one are a lost update"),
    _op(K.RECORDS, "delete", ("id",), False, {ACCEPTED: {}}),
    _op(K.RECORDS, "list", (), False,
        {ACCEPTED: {"records": "{id: data, ...} of every record the app holds"}},
        extract=("records",), note="records: a mapping id -> data, or a list of objects holding both "
        "(see list_id and list_data)"),
    _op(K.COUNTERS, "increment", ("name", "by"), True,
        {ACCEPTED: {"value": "<the new value> or None"}}, optional_extract=("value",)),
    _op(K.COUNTERS, "read", ("name",), True, {ACCEPTED: {"value": "<int>"}}, extract=("value",)),
)
del K

#: (kind, operation) -> its definition
TABLE: Mapping[tuple[StateKind, str], OperationDef] = MappingProxyType({(op.kind, op.name): op for op in OPERATIONS})

#: kind -> its operations' names, in the table's order
KIND_OPERATIONS: Mapping[StateKind, tuple[str, ...]] = MappingProxyType(
    {kind: tuple(op.name for op in OPERATIONS if op.kind is kind) for kind in StateKind})

#: kind -> the operations without which its workload cannot run
REQUIRED: Mapping[StateKind, tuple[str, ...]] = MappingProxyType(
    {kind: tuple(op.name for op in OPERATIONS if op.kind is kind and op.required) for kind in StateKind})

#: (kind, operation) -> the variables it receives
VARIABLES: Mapping[tuple[StateKind, str], tuple[str, ...]] = MappingProxyType(
    {key: op.variables for key, op in TABLE.items()})

#: kind -> the settings its workload and checker need
SETTINGS: Mapping[StateKind, tuple[Setting, ...]] = MappingProxyType({
    StateKind.SESSIONS: (
        Setting(StateKind.SESSIONS, "model", "sessions_model", False,
                "'server-side' or 'client-side' (docs/models.md); None: judged as server-side",
                'sessions_model = "client-side"'),
    ),
    StateKind.FILES: (),
    StateKind.QUOTES: (),
    StateKind.RATE_LIMIT: (
        Setting(StateKind.RATE_LIMIT, "limit", "rate_limit_limit", True,
                "allowed hits per window and key", "rate_limit_limit = 10"),
        Setting(StateKind.RATE_LIMIT, "window", "rate_limit_window", True,
                "the window's length in seconds", "rate_limit_window = 60.0"),
        Setting(StateKind.RATE_LIMIT, "algorithm", "rate_limit_algorithm", False,
                "the algorithm as in a spec's long form (docs/models.md); None: a fixed window starting anywhere",
                'rate_limit_algorithm = {"name": "sliding-window"}'),
    ),
    StateKind.COOLDOWNS: (
        Setting(StateKind.COOLDOWNS, "period", "cooldown_period", True,
                "seconds a started cooldown lasts", "cooldown_period = 86400.0"),
    ),
    StateKind.RECORDS: (),
    StateKind.COUNTERS: (),
})


def operation(kind: str, name: str) -> OperationDef:
    """The definition of ``kind.name``; KeyError naming the known operations when there is none."""
    try:
        return TABLE[(StateKind(kind), name)]
    except (KeyError, ValueError):
        known = ", ".join(op.qualname for op in OPERATIONS)
        raise KeyError(f"no abstract operation {kind}.{name}; expected one of {known}") from None


__all__ = ["ACCEPTED", "KIND_OPERATIONS", "LIMITED", "OPERATIONS", "REJECTED", "REQUIRED", "SETTINGS", "TABLE",
           "VARIABLES", "OperationDef", "Setting", "operation"]
