"""An adapter made from a spec's ``operations`` section: render the request, read the answer.

Rendering fills placeholders; reading picks the status category (accepted,
limited, rejected, anything else) and extracts the declared values. A required
value the response does not hold (a login answered 200 without the token the spec
points at) is a mistake in the spec, not an outcome of the app: it stops the run
with an error naming the spec file, the field and what was expected.

``make_adapter`` gives a target spec its adapter: this one, or the Python class the spec
names (``load_adapter``). It lives here, above both the spec and the adapter base class,
so that neither of them imports the other's layer.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import re
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Mapping
from urllib.parse import quote

import httpx
from pydantic import BaseModel

from harness.adapter import Adapter, ReplicaHttp, Reply, response_cookies, unexpected
from harness.errors import ExtractionError, SpecError
from harness.history import Outcome
from harness.operation_table import ACCEPTED, LIMITED, REJECTED, SETTINGS, TABLE
from harness.operations import PLACEHOLDER, Extraction, HttpOperation, Operations
from harness.spec import adapter_reference
from harness.vocabulary import StateKind

if TYPE_CHECKING:
    from harness.spec import TargetSpec

_MISSING = object()


def render(template: Any, variables: Mapping[str, Any], escape: Callable[[str], str] = str) -> Any:
    """Fill placeholders; a string that is exactly one placeholder becomes the value itself (typed)."""
    if isinstance(template, str):
        whole = PLACEHOLDER.fullmatch(template)
        if whole:
            value = variables[whole.group(1)]
            return escape(str(value)) if escape is not str else value
        return PLACEHOLDER.sub(lambda m: escape(str(variables[m.group(1)])), template)
    if isinstance(template, dict):
        return {render(k, variables, escape): render(v, variables, escape) for k, v in template.items()}
    if isinstance(template, list):
        return [render(v, variables, escape) for v in template]
    return template


def json_path(body: Any, path: str) -> Any:
    """Follow a dotted path ('data.items.0.id', '$.token'); _MISSING when any step is absent."""
    node = body
    for step in [s for s in path.removeprefix("$").split(".") if s]:
        if isinstance(node, dict) and step in node:
            node = node[step]
        elif isinstance(node, list) and step.lstrip("-").isdigit() and -len(node) <= int(step) < len(node):
            node = node[int(step)]
        else:
            return _MISSING
    return node


def extract(response: httpx.Response, how: Extraction) -> Any:
    """The value an extraction points at (narrowed by its pattern), or _MISSING."""
    if how.header is not None:
        value = response.headers.get(how.header, _MISSING)
    elif how.cookie is not None:
        value = response_cookies(response).get(how.cookie, _MISSING)
    else:
        try:
            value = json_path(response.json(), how.json_path or "")
        except ValueError:
            value = _MISSING
    if how.pattern is None or value is _MISSING or value is None:
        return value
    match = re.search(how.pattern, str(value))
    if match is None:
        return _MISSING
    return match.group(1) if match.groups() else match.group(0)


def build_request(op: HttpOperation, variables: Mapping[str, Any]) -> dict[str, Any]:
    """The keyword arguments of ``ReplicaHttp.request`` for one operation."""
    request: dict[str, Any] = {
        "method": op.method,
        "path": render(op.path, variables, escape=lambda s: quote(s, safe="")),
        "headers": render(op.headers, variables),
        "cookies": render(op.cookies, variables),
    }
    if op.query:
        request["params"] = render(op.query, variables)
    if op.json_body is not None:
        request["json"] = render(op.json_body, variables)
    elif op.form is not None:
        request["data"] = render(op.form, variables)
    elif op.multipart is not None:
        fields = render(op.multipart, variables)
        name = str(variables.get("filename", "upload.bin"))
        request["files"] = {k: (name, v, "application/octet-stream") for k, v in fields.items() if isinstance(v, bytes)}
        request["data"] = {k: v for k, v in fields.items() if not isinstance(v, bytes)}
    return request


def epoch(value: Any) -> float:
    """A time as epoch seconds: a number, a numeric string, or an ISO 8601 time (UTC unless it says)."""
    try:
        return float(value)
    except (TypeError, ValueError):
        pass
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise ExtractionError(f"expected a time as epoch seconds or ISO 8601, got {value!r}") from None
    return (moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)).timestamp()


def _records(value: Any, id_key: str = "id", data_key: str = "data") -> dict[str, Any]:
    """A listing as {id: data}: from a mapping, or from a list of objects holding both."""
    if isinstance(value, dict):
        return {str(k): v for k, v in value.items()}
    return {str(item.get(id_key)): item.get(data_key) for item in value or [] if isinstance(item, dict)}


def _sha256(response: httpx.Response) -> str:
    return hashlib.sha256(response.content).hexdigest()


#: (kind, operation) -> how an accepted / rejected (with reason) / limited answer reads: one reader per
#: category of ``harness.operation_table``'s replies, building exactly that reply's keys (a unit test checks).
#: ``x`` holds the extracted values, ``v`` the operation's variables, ``r`` the response.
Reader = Callable[[dict[str, Any], Mapping[str, Any], httpx.Response, str], Any]
READERS: dict[tuple[str, str], dict[str, Reader]] = {
    ("sessions", "login"): {"accepted": lambda x, v, r, _: {"token": x["token"], "user": v["user"],
                                                            "expires_at": x.get("expires_at")}},
    ("sessions", "whoami"): {"accepted": lambda x, v, r, _: {"accepted": True, "user": x.get("user")},
                             "rejected": lambda x, v, r, _: {"accepted": False}},
    ("sessions", "logout"): {"accepted": lambda x, v, r, _: {"revoked": True},
                             "rejected": lambda x, v, r, _: {"revoked": False}},
    ("records", "create"): {"accepted": lambda x, v, r, _: {"id": str(x["id"]), "version": x.get("version")}},
    ("records", "update"): {"accepted": lambda x, v, r, _: {"id": str(x.get("id", v["id"])),
                                                            "version": x.get("version")}},
    ("records", "read"): {"accepted": lambda x, v, r, _: {"found": True, "data": x["data"], "version": x.get("version")},
                          "rejected": lambda x, v, r, _: {"found": False, "data": None, "version": None}},
    ("records", "delete"): {"accepted": lambda x, v, r, _: {}},
    ("records", "list"): {"accepted": lambda x, v, r, _: {"records": x["records"]}},
    ("files", "upload"): {"accepted": lambda x, v, r, _: {"id": str(x["id"]), "sha256": x.get("sha256")}},
    ("files", "download"): {"accepted": lambda x, v, r, _: {"found": True, "sha256": _sha256(r)},
                            "rejected": lambda x, v, r, _: {"found": False, "sha256": None}},
    ("counters", "increment"): {"accepted": lambda x, v, r, _: {"value": x.get("value")}},
    ("counters", "read"): {"accepted": lambda x, v, r, _: {"value": x["value"]}},
    ("quotes", "create"): {"accepted": lambda x, v, r, _: {"id": str(x["id"]), "expires_at": epoch(x["expires_at"])}},
    ("quotes", "use"): {"accepted": lambda x, v, r, _: {"used": True},
                        "rejected": lambda x, v, r, reason: {"used": False, "reason": reason}},
    ("quotes", "read"): {
        "accepted": lambda x, v, r, _: {"found": True, "expired": False, "used": bool(x.get("used"))},
        "rejected": lambda x, v, r, reason: ({"found": True, "expired": True, "used": None} if reason == "expired"
                                             else {"found": False, "expired": False, "used": False}),
    },
    ("rate_limit", "hit"): {"accepted": lambda x, v, r, _: {"allowed": True},
                            "limited": lambda x, v, r, _: {"allowed": False}},
    ("cooldowns", "start"): {"accepted": lambda x, v, r, _: {"allowed": True, "until": x.get("until")},
                             "limited": lambda x, v, r, _: {"allowed": False, "until": x.get("until")}},
}


_KINDS = frozenset(StateKind)


class SpecAdapter(Adapter):
    """Performs the operations a YAML spec describes."""

    def __init__(self, operations: Operations, source: str | None = None) -> None:
        self.operations = operations
        self.source = source or "<spec>"

    def _kind(self, kind: str) -> Any:
        return getattr(self.operations, kind, None) if kind in _KINDS else None

    def _op(self, kind: str, operation: str) -> HttpOperation | None:
        ops = self._kind(kind)
        return getattr(ops, operation, None) if ops is not None else None

    def _in_python(self, kind: str, operation: str) -> bool:
        """A subclass implements this operation itself (the escape hatch wins over YAML)."""
        return Adapter.supports(self, kind, operation)

    def supports(self, kind: str, operation: str) -> bool:
        return self._in_python(kind, operation) or isinstance(self._op(kind, operation), HttpOperation)

    def settings(self, kind: str) -> dict[str, Any]:
        """The kind's settings from its spec section (an algorithm in its long form, defaults filled in);
        a kind the spec leaves to Python takes them from the class attributes, as any adapter."""
        ops = self._kind(kind)
        if ops is None:
            return super().settings(kind) if kind in self.kinds() else {}
        found: dict[str, Any] = {}
        for setting in SETTINGS[StateKind(kind)]:
            value = getattr(ops, setting.name)
            if value is not None:
                found[setting.name] = value.model_dump() if isinstance(value, BaseModel) else value
        return found

    def describe(self) -> str:
        return f"operations in {self.source}"

    def perform(self, kind: str, operation: str, http: ReplicaHttp, variables: Mapping[str, Any]) -> Reply:
        if self._in_python(kind, operation):
            return super().perform(kind, operation, http, variables)
        op = self._op(kind, operation)
        if op is None:
            raise NotImplementedError(f"{self.source} has no operations.{kind}.{operation}")
        request = build_request(op, variables)
        response = http.request(request.pop("method"), request.pop("path"), **request)
        status = response.status_code
        if status in op.accepted:
            category, reason = ACCEPTED, ""
        elif status in op.limited:
            category, reason = LIMITED, ""
        elif status in op.rejected:
            category, reason = REJECTED, op.rejected[status]
        else:
            return unexpected(response)
        reader = READERS[(kind, operation)].get(category)
        if reader is None:
            return unexpected(response)
        values = self._extract(kind, operation, op, response, http, required=category == ACCEPTED)
        if (kind, operation) == ("records", "list") and "records" in values:
            records = self.operations.records
            values["records"] = _records(values["records"], records.list_id, records.list_data)
        return Outcome.OK, reader(values, variables, response, reason)

    def _extract(self, kind: str, operation: str, op: HttpOperation, response: httpx.Response, http: ReplicaHttp,
                 required: bool) -> dict[str, Any]:
        """Every declared extraction; a required one that finds nothing is a spec error."""
        needed = TABLE[(StateKind(kind), operation)].extract
        values: dict[str, Any] = {}
        for key, how in op.extract.items():
            value = extract(response, how)
            if value is not _MISSING and value is not None:
                values[key] = value
            elif required and key in needed:
                raise ExtractionError(
                    f"{self.source}: field 'operations.{kind}.{operation}.extract.{key}': {how.describe()} found "
                    f"{'null' if value is None else 'nothing'} in the {response.status_code} response to {op.method} {response.request.url.path} "
                    f"({http.base_url}); expected the {key} there. Response headers: "
                    f"{dict(response.headers)}; body: {response.text[:300]!r}"
                )
        return values


def load_adapter(ref: str, base: Path, operations: Operations | None = None, source: str | None = None) -> Adapter:
    """Instantiate the adapter a spec names: ``file.py:Class`` (relative to ``base``) or ``module:Class``.

    A subclass of ``SpecAdapter`` gets the spec's operations, so it overrides only
    the operations YAML cannot express and inherits the rest. The adapter's required
    settings are checked here, so a missing one stops the run before anything starts.
    """
    where = f"{source or 'spec'}: field 'adapter'"
    target, cls_name, file = adapter_reference(ref, base, where)
    try:
        if file is not None:
            spec = importlib.util.spec_from_file_location(f"harness_adapter_{file.stem}", file)
            module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
            spec.loader.exec_module(module)  # type: ignore[union-attr]
        else:
            module = importlib.import_module(target)
    except Exception as exc:  # noqa: BLE001 - any import failure is the spec's adapter's fault
        raise SpecError(f"{where}: could not import {target}: {type(exc).__name__}: {exc}") from exc
    cls = getattr(module, cls_name, None)
    if not (isinstance(cls, type) and issubclass(cls, Adapter)):
        raise SpecError(f"{where}: {target} has no Adapter subclass named {cls_name!r}")
    if issubclass(cls, SpecAdapter):
        if operations is None:
            raise SpecError(f"{where}: {cls_name} extends SpecAdapter, so the spec needs an 'operations' section")
        adapter: Adapter = cls(operations, source)
    else:
        adapter = cls()
    try:
        adapter.check_settings()
    except SpecError as exc:
        raise SpecError(f"{where}: {exc}") from None
    return adapter


def make_adapter(spec: "TargetSpec") -> Adapter:
    """The adapter that performs a target's operations: the Python class its spec names, or its ``operations``."""
    if spec.adapter is not None:
        base = Path(spec.source).parent if spec.source else Path.cwd()
        return load_adapter(spec.adapter, base, spec.operations, spec.source)
    if spec.operations is None:  # the spec's own validation refuses this; a hand-built spec may not have it
        raise SpecError(f"{spec.source or 'spec'}: a target needs 'operations' or an 'adapter'")
    return SpecAdapter(spec.operations, spec.source)
