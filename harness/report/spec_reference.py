"""The spec reference (docs/spec-reference.md), generated from the pydantic models.

Written by hand, a field reference drifts from the code; generated, it cannot. A
unit test compares the committed file with this output. Regenerate it with
``python -m harness.report.spec_reference > docs/spec-reference.md``.
"""

from __future__ import annotations

import enum
import types
import typing
from typing import Any, get_args, get_origin

from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from harness.operation_table import OPERATIONS, SETTINGS
from harness.policy import DEFAULT_EXEMPT, FAULTS
from harness.spec import TargetSpec

INTRO = """# Target spec reference

Generated from the models in `harness/spec.py` and `harness/operations.py` by
`python -m harness.report.spec_reference`; do not edit by hand.

A spec is a YAML file. `extends: other.yaml` deep-merges another file underneath.
Unknown fields are errors. Every error names the file, the field path and what was
expected. Check a spec with `harness check-spec FILE`.
"""


ANSWERS = """
## How an answer reads: statuses, header rules, redirects, setup steps

- **Redirects are never followed**: a 3xx is the answer itself, read like any status
  (a login setting its cookie on a 302, a create answered by a 303). An operation or a step
  with `follow_redirects: true` has them followed by the harness: at most 5, to the replica's
  own origin only (a redirect elsewhere, or a sixth, is then the answer), with the same headers
  and the cookies sent plus those set on the way; a 303, or a 301/302 answering a POST,
  continues as a GET without body. Statuses, rules and extractions read the final answer.
- **Order of decision**: a response matching an `accepted` or `rejected` rule with headers
  (`{status: 302, header: {Location: "^/login"}}`; each header value a regular expression
  searched in the response's header, all must match) is decided by that rule; one matching rules
  of both is a spec error. Then bare statuses: `accepted`, `limited`, `rejected`. So
  `accepted: [302]` with `rejected: [{status: 302, header: {Location: "^/login"}}]` reads a 302
  to /login as rejected and any other 302 as accepted.
- **Anything undeclared** goes by its class (`harness/outcome.py`): a 4xx is `fail` (refused),
  a 5xx, 3xx or 2xx `unknown` (it may have been applied). A declared rejection is a definite "no":
  `fail` for an operation whose reply has no rejected form (`records.create`).
- **Body extraction**: `{body: true, pattern: '...'}` searches the raw body; the pattern's first
  group (or the whole match), HTML-unescaped, is the value; `parse: json` then reads it as JSON
  (a record's data shown on a page). A pattern may hold the operation's placeholders
  (`'<a href="/notes/(\\d+)">{title}</a>'`), filled in escaped, so it finds the item just written.
  A mapping or list placeholder inside a string, or as a form field, is sent as its JSON text.
- **Setup steps** (`before`): requests sent in order on the same replica before the operation's
  own, each with its own `accepted` (default any 2xx or 3xx) and `extract`, whose values are
  placeholders for the later steps and the operation. A step answered with a status it does not
  accept, or not answered at all, ends the operation as `fail` with an error naming the step: the
  operation's own request was never sent, and a step is not a write any checker counts (keep the
  operation's effect in its own request). A step's extraction that finds nothing is a spec error.
  Steps are part of the one recorded operation.
"""


def _models(annotation: Any) -> list[type[BaseModel]]:
    """The models inside a field's type (through Optional, lists and dicts)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for arg in get_args(annotation) for m in _models(arg)]


def _type(annotation: Any) -> str:
    origin = get_origin(annotation)
    if origin is typing.Annotated:  # a constrained type (a status 100-599) reads as its base type
        return _type(get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        args = [a for a in get_args(annotation) if a is not type(None)]
        return " or ".join(_type(a) for a in args)
    if origin is typing.Literal:
        return " / ".join(repr(a) for a in get_args(annotation))
    if origin in (list, tuple):
        return f"list of {_type(get_args(annotation)[0])}"
    if origin is dict:
        key, value = get_args(annotation)
        return f"map of {_type(key)} to {_type(value)}"
    if annotation is Any:
        return "any"
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return " / ".join(repr(member.value) for member in annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return f"[{annotation.__name__}](#{annotation.__name__.lower()})"
    return getattr(annotation, "__name__", str(annotation))


def _default(field: FieldInfo) -> str:
    if field.is_required():
        return "**required**"
    if field.default_factory is not None:
        value = field.default_factory()  # type: ignore[call-arg]
    elif field.default is PydanticUndefined:
        return ""
    else:
        value = field.default
    return "" if value in (None, {}, []) or isinstance(value, BaseModel) else f"`{value}`"


def _section(model: type[BaseModel]) -> list[str]:
    doc = (model.__doc__ or "").strip()
    lines = [f"## {model.__name__}", ""]
    if doc and not doc.startswith("!!!") and model.__doc__ is not BaseModel.__doc__:
        lines += [doc.split("\n\n")[0].replace("\n", " "), ""]
    lines += ["| field | type | default | meaning |", "|---|---|---|---|"]
    for name, field in model.model_fields.items():
        if field.exclude:
            continue
        key = field.alias or name
        description = (field.description or "").replace("|", "\\|")
        lines.append(f"| `{key}` | {_type(field.annotation)} | {_default(field)} | {description} |")
    return lines + [""]


def _codes(names: Any) -> str:
    return ", ".join(f"`{n}`" for n in names)


def _operations() -> list[str]:
    """The abstract operations, from ``harness.operation_table``: what a spec and a Python adapter give each."""
    lines = ["## Operations", "",
             "Generated from `harness/operation_table.py`. Variables are the placeholders an operation may use in "
             "its path, query, headers, cookies and body (and a Python adapter method's parameters after `http`); "
             "a required operation must be declared for its kind to be tested. Extractions are read from an "
             "accepted answer; a required one that finds nothing stops the run with an error.", "",
             "| operation | variables | required | must extract | may extract | default statuses |",
             "|---|---|---|---|---|---|"]
    for op in OPERATIONS:
        statuses = [f"rejected {', '.join(f'{s}: {r}' for s, r in op.rejected.items())}"] if op.rejected else []
        statuses += [f"limited {', '.join(map(str, op.limited))}"] if op.limited else []
        lines.append(f"| `{op.qualname}` | {', '.join(f'`{{{v}}}`' for v in op.variables) or '(none)'} | "
                     f"{'yes' if op.required else 'no'} | {_codes(op.extract)} | {_codes(op.optional_extract)} | "
                     f"{'; '.join(statuses)} |")
    lines += ["", "## Python adapter methods", "",
              "A Python adapter (`adapter: file.py:Class`) subclasses `harness.Adapter` and overrides one method "
              "per operation; each returns `accepted(...)` or `rejected(...)` with the keys below (the ones the "
              "checkers read), or `unexpected(response)`.", "",
              "| method | returns |", "|---|---|"]
    for op in OPERATIONS:
        returns = op.reply_doc().replace("|", "\\|")  # a literal bar inside a table cell
        lines.append(f"| `{op.method}({', '.join(('http', *op.variables))})` | `{returns}` |")
    lines += ["", "Settings are class attributes; a required one must be set by an adapter that has its kind "
              "(no default is sound), else loading the adapter fails naming it.", "",
              "| attribute | required | meaning |", "|---|---|---|"]
    lines += [f"| `{s.attribute}` | {'yes' if s.required else 'no'} | {s.meaning} |"
              for settings in SETTINGS.values() for s in settings]
    return lines


def reference() -> str:
    """The whole reference as Markdown."""
    seen: list[type[BaseModel]] = []
    queue: list[type[BaseModel]] = [TargetSpec]
    while queue:
        model = queue.pop(0)
        if model in seen:
            continue
        seen.append(model)
        for field in model.model_fields.values():
            queue += [m for m in _models(field.annotation) if m not in seen]
    parts = [INTRO]
    for model in seen:
        parts += _section(model)
    parts += _operations()
    parts += ["", *ANSWERS.strip("\n").split("\n")]
    parts += ["", "## Policy fault names", "",
              f"`exempt` entries are one of {', '.join(f'`{f}`' for f in sorted(FAULTS))}, optionally narrowed "
              "to a target (`dependency-restart:redis`). Defaults:", ""]
    parts += [f"- `{kind}`: {', '.join(f'`{e}`' for e in sorted(entries))}" for kind, entries in DEFAULT_EXEMPT.items()]
    return "\n".join(parts) + "\n"


if __name__ == "__main__":
    print(reference(), end="")
