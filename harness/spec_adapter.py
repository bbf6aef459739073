"""An adapter made from a spec's ``operations`` section: render the request, read the answer.

Rendering fills placeholders; setup steps (``before``) are sent first, each feeding
what it extracts to the next and to the operation; reading picks the status category
(rules with headers first, then accepted, limited, rejected, anything else) and
extracts the declared values. A step refused or unanswered raises ``StepFailed``
(outcome ``fail``: the operation's own request was never sent). Redirects are followed
only where a spec says so (``send``). A required
value the response does not hold (a login answered 200 without the token the spec
points at) is a mistake in the spec, not an outcome of the app: it stops the run
with an error naming the spec file, the field and what was expected.

``make_adapter`` gives a target spec its adapter: this one, or the Python class the spec
names (``load_adapter``). It lives here, above both the spec and the adapter base class,
so that neither of them imports the other's layer.
"""

from __future__ import annotations

import hashlib
import html
import importlib
import importlib.util
import json
import re
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Mapping
from urllib.parse import quote, urlsplit

import httpx
from pydantic import BaseModel

from harness.adapter import Adapter, ReplicaHttp, Reply, StepFailed, response_cookies, unexpected
from harness.errors import ExtractionError, SpecError
from harness.history import Outcome
from harness.operation_table import ACCEPTED, REJECTED, SETTINGS, TABLE
from harness.operations import MISSING, PLACEHOLDER, Extraction, HttpOperation, HttpRequest, Operations, Step, json_path
from harness.spec import adapter_reference
from harness.vocabulary import StateKind

if TYPE_CHECKING:
    from harness.spec import TargetSpec



def text(value: Any) -> str:
    """A value as text inside a string: a mapping or a list as its JSON text (a record's data), else ``str``."""
    return json.dumps(value) if isinstance(value, (dict, list)) else str(value)


def render(template: Any, variables: Mapping[str, Any], escape: Callable[[str], str] = str) -> Any:
    """Fill placeholders; a string that is exactly one placeholder becomes the value itself (typed)."""
    if isinstance(template, str):
        whole = PLACEHOLDER.fullmatch(template)
        if whole:
            value = variables[whole.group(1)]
            return escape(text(value)) if escape is not str else value
        return PLACEHOLDER.sub(lambda m: escape(text(variables[m.group(1)])), template)
    if isinstance(template, dict):
        return {render(k, variables, escape): render(v, variables, escape) for k, v in template.items()}
    if isinstance(template, list):
        return [render(v, variables, escape) for v in template]
    return template


def extract(response: httpx.Response, how: Extraction, variables: Mapping[str, Any] | None = None,
            chain: tuple[httpx.Response, ...] = ()) -> Any:
    """The value an extraction points at (narrowed by its pattern), or MISSING.

    ``variables`` fill the pattern's placeholders, escaped (``re.escape``): the value is
    searched for literally. ``chain``: the redirects followed before ``response``, whose
    cookies count too (a login's 302 sets the cookie the page after it does not repeat).
    """
    if how.header is not None:
        value = response.headers.get(how.header, MISSING)
    elif how.cookie is not None:
        cookies: dict[str, str] = {}
        for hop in (*chain, response):
            cookies.update(response_cookies(hop))
        value = cookies.get(how.cookie, MISSING)
    elif how.body:
        value = response.text
    else:
        try:
            value = json_path(response.json(), how.json_path or "")
        except ValueError:
            value = MISSING
    if how.pattern is not None and value is not MISSING and value is not None:
        match = re.search(render(how.pattern, variables or {}, escape=re.escape), str(value))
        if match is None:
            return MISSING
        value = match.group(1) if match.groups() else match.group(0)
        if how.body and value is not None:
            value = html.unescape(value)  # a page shows stored text escaped
    if how.parse == "json" and value is not MISSING and value is not None:
        try:
            return json.loads(value) if isinstance(value, (str, bytes)) else value
        except ValueError:
            return MISSING
    return value


def build_request(op: HttpRequest, variables: Mapping[str, Any]) -> dict[str, Any]:
    """The keyword arguments of ``ReplicaHttp.request`` for one operation or setup step."""
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
    elif op.form is not None:  # a form field is text: a mapping (a record's data) goes as its JSON text
        request["data"] = {k: text(v) if isinstance(v, dict) or (isinstance(v, list) and any(
            isinstance(item, (dict, list)) for item in v)) else v for k, v in render(op.form, variables).items()}
    elif op.multipart is not None:
        fields = render(op.multipart, variables)
        name = str(variables.get("filename", "upload.bin"))
        request["files"] = {k: (name, v, "application/octet-stream") for k, v in fields.items() if isinstance(v, bytes)}
        request["data"] = {k: v for k, v in fields.items() if not isinstance(v, bytes)}
    return request


#: redirects an operation that follows them follows at most
MAX_REDIRECTS = 5
_REDIRECTS = frozenset({301, 302, 303, 307, 308})


def send(http: ReplicaHttp, request: Mapping[str, Any], follow: bool) -> tuple[httpx.Response, tuple[httpx.Response, ...]]:
    """Send one request; with ``follow``, follow its redirects as a browser would, within bounds.

    Returns the final response and the redirects before it. At most ``MAX_REDIRECTS`` are
    followed, to the replica's own origin only: a redirect elsewhere, or one more, is the
    answer itself. Headers stay; cookies are those sent plus those the redirects set. A 303,
    or a 301/302 answering a POST, continues as a GET without a body; 307/308 repeat the request.
    """
    request = dict(request)
    method, path = request.pop("method"), request.pop("path")
    response = http.request(method, path, **request)
    chain: list[httpx.Response] = []
    origin = urlsplit(http.base_url)
    while follow and response.status_code in _REDIRECTS and len(chain) < MAX_REDIRECTS:
        location = response.headers.get("location")
        if not location:
            break
        target = response.request.url.join(location)
        if (target.scheme, target.host, target.port) != (origin.scheme, origin.hostname, origin.port):
            break
        chain.append(response)
        if response.status_code == 303 or (response.status_code in (301, 302) and method == "POST"):
            method = "GET" if method != "HEAD" else method
            request = {k: v for k, v in request.items() if k not in ("json", "data", "files", "content")}
        request["cookies"] = {**(request.get("cookies") or {}), **response_cookies(response)}
        request.pop("params", None)  # the location carries its own query
        response = http.request(method, target.raw_path.decode("ascii"), **request)
    return response, tuple(chain)


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
        values = dict(variables)
        for i, step in enumerate(op.before):
            values.update(self._step(kind, operation, i, step, http, values))
        response, chain = send(http, build_request(op, values), op.follow_redirects)
        try:
            decided = op.decide(response.status_code, response.headers)
        except ValueError as exc:
            raise SpecError(f"{self.source}: field 'operations.{kind}.{operation}': {exc}") from None
        if decided is None:
            return unexpected(response)
        category, reason = decided
        reader = READERS[(kind, operation)].get(category)
        if reader is None:  # a declared "no" the operation has no reply for is still a definite "no"
            return (Outcome.FAIL, None) if category == REJECTED else unexpected(response)
        found = self._extract(f"{kind}.{operation}", TABLE[(StateKind(kind), operation)].extract if category == ACCEPTED
                              else (), op, response, chain, http, values)
        if (kind, operation) == ("records", "list") and "records" in found:
            records = self.operations.records
            found["records"] = _records(found["records"], records.list_id, records.list_data)
        return Outcome.OK, reader(found, variables, response, reason)

    def _step(self, kind: str, operation: str, i: int, step: Step, http: ReplicaHttp,
              values: Mapping[str, Any]) -> dict[str, Any]:
        """Send setup step ``i``; what it extracts, or ``StepFailed`` when it was not accepted or not answered.

        Every extraction a step declares is required: a later request needs it.
        """
        where = f"operations.{kind}.{operation}.before.{i}"
        request = build_request(step, values)
        said = f"{request['method']} {request['path']}"
        try:
            response, chain = send(http, request, step.follow_redirects)
        except httpx.HTTPError as exc:
            raise StepFailed(f"{where} ({said}): no answer ({type(exc).__name__}: {exc}); the operation's own "
                             "request was not sent") from exc
        if not step.accepts(response.status_code, response.headers):
            wanted = ", ".join(r.describe() for r in step.rules()) if step.accepted is not None else "a 2xx or 3xx"
            location = response.headers.get("location")
            raise StepFailed(f"{where} ({said}): answered {response.status_code}"
                             + (f" to {location}" if location else "")
                             + f", expected {wanted}; the operation's own request was not sent")
        return self._extract(f"{kind}.{operation}.before.{i}", tuple(step.extract), step, response, chain, http, values)

    def _extract(self, where: str, needed: tuple[str, ...], op: HttpRequest, response: httpx.Response,
                 chain: tuple[httpx.Response, ...], http: ReplicaHttp, variables: Mapping[str, Any]) -> dict[str, Any]:
        """Every declared extraction; a needed one that finds nothing is a spec error."""
        values: dict[str, Any] = {}
        for key, how in op.extract.items():
            value = extract(response, how, variables, chain)
            if value is not MISSING and value is not None:
                values[key] = value
            elif key in needed:
                raise ExtractionError(
                    f"{self.source}: field 'operations.{where}.extract.{key}': {how.describe()} found "
                    f"{'null' if value is None else 'nothing'} in the {response.status_code} response to "
                    f"{response.request.method} {response.request.url.path} "
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
