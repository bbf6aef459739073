"""One table of abstract operations, and everything made from it: no operation half added.

``harness.operation_table`` says per (state kind, operation) what it receives, must
extract and replies. The spec's models, the Python adapter's methods, the readers of
YAML answers and the docs are walked against it both ways; a planted entry the others
lack is reported, so the walk cannot pass by checking nothing.
"""

from __future__ import annotations

import inspect
from dataclasses import replace
from typing import Any, get_args

import httpx
import pytest
from pydantic import Field

from harness.adapter import Adapter
from harness.operation_table import (KIND_OPERATIONS, OPERATIONS, REQUIRED, SETTINGS, TABLE, VARIABLES, OperationDef,
                                     operation)
from harness.operations import HttpOperation, Operations, _Kind, _operation
from harness.report.spec_reference import reference
from harness.spec_adapter import READERS
from harness.vocabulary import StateKind

#: a value for every variable and extraction a reader may use
SAMPLE: dict[str, Any] = {"token": "t", "user": "al", "expires_at": 1700.0, "id": "i1", "version": 2, "data": {"n": 1},
                          "records": {"i1": {"n": 1}}, "sha256": "ab", "value": 3, "used": True, "until": 1800.0,
                          "content": b"x", "filename": "f.bin", "amount": 1, "ttl": 5, "key": "k", "name": "c",
                          "by": 1}


def kind_model(kind: StateKind) -> type[_Kind]:
    [model] = [m for m in get_args(Operations.model_fields[kind].annotation) if isinstance(m, type)
               and issubclass(m, _Kind)]
    return model


def problems(operations: tuple[OperationDef, ...], readers: dict[tuple[str, str], dict[str, Any]],
             adapter: type[Adapter] = Adapter) -> list[str]:
    """Every way the table and what is made from it disagree, in both directions."""
    found = []
    table = {(op.kind, op.name): op for op in operations}
    for op in operations:
        field = kind_model(op.kind).model_fields.get(op.name)
        if field is None or HttpOperation not in (field.annotation, *get_args(field.annotation)):
            found.append(f"{op.qualname}: no spec field")
        elif field.is_required() != op.required:
            found.append(f"{op.qualname}: spec field required={field.is_required()}")
        method = getattr(adapter, op.method, None)
        if method is None:
            found.append(f"{op.qualname}: no adapter method")
        elif list(inspect.signature(method).parameters) != ["self", "http", *op.variables]:
            found.append(f"{op.qualname}: adapter method takes {list(inspect.signature(method).parameters)}")
        reader = readers.get((op.kind, op.name))
        if reader is None:
            found.append(f"{op.qualname}: no reader")
        elif set(reader) != set(op.replies):
            found.append(f"{op.qualname}: readers for {sorted(reader)}, replies for {sorted(op.replies)}")
    for key in readers:
        if key not in table:
            found.append(f"{key}: a reader of no operation")
    for kind in StateKind:
        for name, field in kind_model(kind).model_fields.items():
            if HttpOperation in (field.annotation, *get_args(field.annotation)) and (kind, name) not in table:
                found.append(f"{kind}.{name}: a spec field of no operation")
    for name, member in vars(adapter).items():
        kind = next((k for k in StateKind if name.startswith(f"{k}_")), None)
        if kind is not None and callable(member) and (kind, name.removeprefix(f"{kind}_")) not in table:
            found.append(f"{name}: an adapter method of no operation")
    return found


def test_the_table_and_what_is_made_from_it_agree() -> None:
    assert problems(OPERATIONS, READERS) == []


def test_a_planted_operation_is_reported_half_added() -> None:
    planted = OperationDef(StateKind.RECORDS, "archive", ("id",), False, {"accepted": {}})
    found = problems((*OPERATIONS, planted), READERS)
    assert found == ["records.archive: no spec field", "records.archive: no adapter method",
                     "records.archive: no reader"]


def test_a_planted_reader_or_method_of_no_operation_is_reported() -> None:
    readers = {**READERS, ("records", "archive"): {"accepted": lambda x, v, r, _: {}}}
    assert problems(OPERATIONS, readers) == ["('records', 'archive'): a reader of no operation"]

    class Extra(Adapter):
        def records_archive(self, http: Any, id: str) -> Any: ...

    assert problems(OPERATIONS, READERS, Extra) == ["records_archive: an adapter method of no operation"]


def test_a_planted_change_of_variables_or_replies_is_reported() -> None:
    login = TABLE[(StateKind.SESSIONS, "login")]
    changed = tuple(replace(op, variables=("user", "password")) if op is login else op for op in OPERATIONS)
    assert problems(changed, READERS) == ["sessions.login: adapter method takes ['self', 'http', 'user']"]
    denied = tuple(replace(op, replies={**op.replies, "limited": {}}) if op is login else op for op in OPERATIONS)
    assert problems(denied, READERS) == ["sessions.login: readers for ['accepted'], replies for "
                                         "['accepted', 'limited']"]


@pytest.mark.parametrize("op", OPERATIONS, ids=lambda op: op.qualname)
def test_every_reader_builds_the_reply_keys_the_table_gives(op: OperationDef) -> None:
    extracted = {k: SAMPLE[k] for k in (*op.extract, *op.optional_extract)}
    variables = {k: SAMPLE[k] for k in op.variables}
    for category, keys in op.replies.items():
        reply = READERS[(op.kind, op.name)][category](extracted, variables, httpx.Response(200, content=b"x"), "")
        assert set(reply) == set(keys), (op.qualname, category)


def test_a_kind_model_that_differs_from_the_table_is_refused_when_defined() -> None:
    with pytest.raises(TypeError, match=r"Extra: the operations must be the table's counters operations increment, "
                                        r"read \(harness.operation_table\); not in the table: create, update; "
                                        r"missing: none"):
        class Extra(_Kind):  # noqa: F841 - defining it is the test
            KIND = StateKind.COUNTERS
            increment: HttpOperation = _operation(StateKind.COUNTERS, "increment")
            read: HttpOperation = _operation(StateKind.COUNTERS, "read")
            create: HttpOperation | None = Field(None)
            update: HttpOperation | None = Field(None)
    with pytest.raises(TypeError, match=r"Optional\.read: required=False, but the table says required=True"):
        class Optional(_Kind):  # noqa: F841
            KIND = StateKind.COUNTERS
            increment: HttpOperation = _operation(StateKind.COUNTERS, "increment")
            read: HttpOperation | None = Field(None)
    with pytest.raises(TypeError, match=r"setting cooldowns\.period \(required=True\) needs a field"):
        class NoPeriod(_Kind):  # noqa: F841
            KIND = StateKind.COOLDOWNS
            start: HttpOperation = _operation(StateKind.COOLDOWNS, "start")


def test_every_kind_has_operations_settings_and_a_spec_section() -> None:
    assert set(KIND_OPERATIONS) == set(REQUIRED) == set(SETTINGS) == set(StateKind) == set(Operations.model_fields)
    for kind in StateKind:
        assert REQUIRED[kind] and set(REQUIRED[kind]) <= set(KIND_OPERATIONS[kind])
        for setting in SETTINGS[kind]:
            assert setting.name in kind_model(kind).model_fields  # checked when the model is defined, too
            assert setting.attribute in Adapter.__annotations__
            assert (setting.attribute in vars(Adapter)) is not setting.required  # a default only when not required
    assert VARIABLES == {key: op.variables for key, op in TABLE.items()}
    assert len(TABLE) == len(OPERATIONS)  # no operation twice


def test_the_spec_model_and_the_adapter_method_say_what_the_table_says() -> None:
    whoami = operation("sessions", "whoami")
    description = kind_model(StateKind.SESSIONS).model_fields["whoami"].description
    assert description == whoami.spec_doc() and "variables: token" in description
    assert Adapter.sessions_whoami.__doc__ == (
        "Receives token; returns accepted(accepted=True, user=<who the app says is logged in> or None) / "
        "rejected(accepted=False)")
    assert Adapter.records_list.__doc__.startswith("Receives no variables; returns accepted(records=")
    with pytest.raises(NotImplementedError, match="Adapter does not implement quotes.read"):
        Adapter().quotes_read(None, "q1")


def test_an_unknown_operation_names_the_known_ones() -> None:
    with pytest.raises(KeyError, match=r"no abstract operation carts\.add; expected one of sessions\.login, "):
        operation("carts", "add")
    with pytest.raises(KeyError, match=r"no abstract operation records\.archive"):
        operation("records", "archive")


def test_the_spec_reference_lists_every_operation_method_and_setting() -> None:
    text = reference()
    for op in OPERATIONS:
        assert f"| `{op.qualname}` |" in text
        assert f"| `{op.method}(" in text
    for settings in SETTINGS.values():
        for setting in settings:
            assert f"| `{setting.attribute}` | {'yes' if setting.required else 'no'} |" in text
