"""The ``operations`` section of a target spec: the HTTP request behind each abstract operation.

Workloads speak of abstract operations (``sessions.login``, ``records.read``, ...);
a target spec says, per state kind it has, which request performs each one, which
statuses mean what, and where the result is in the response. Kinds a target does
not have are simply absent, and their workloads do not run.

Strings in a request may hold placeholders (``{user}``, ``{token}``, ``{id}``); a
string that is exactly one placeholder takes the variable's value with its type
(so ``by: "{by}"`` sends a number). The variables each operation receives are
listed in ``VARIABLES``. Which operations each kind has, what each receives and must
extract, and its default statuses come from ``harness.operation_table``; the models below
add each kind's own settings, and are checked against the table when they are defined.

Server-rendered apps: a value may be read from the body by a pattern (``{body: true,
pattern: ...}``), a status entry may be a rule on response headers (a 302 to the login
page is not any 302), and setup steps (``before``) send requests first (register, then
log in; read a form's CSRF token), feeding what they extract to the operation. Redirects
are never followed unless an operation or step says ``follow_redirects: true``.

Statuses: ``accepted`` means the operation took effect or found what it looked for;
``rejected`` is a definite "no" (not found, not logged in, already used), optionally
with a reason per status; ``limited`` is a rate limit's or a cooldown's denial (429 by
default; some frameworks answer 403). Any other status is refused (4xx) or of unknown
effect (5xx).
"""

from __future__ import annotations

import re
from typing import Annotated, Any, ClassVar, Literal, Mapping, get_args

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from harness.operation_table import ACCEPTED, KIND_OPERATIONS, LIMITED, REJECTED, SETTINGS, TABLE, VARIABLES
from harness.vocabulary import StateKind


PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


def placeholders(template: Any) -> set[str]:
    """Every placeholder name in a template (strings, and strings nested in dicts and lists)."""
    if isinstance(template, str):
        return set(PLACEHOLDER.findall(template))
    if isinstance(template, dict):
        return set().union(*(placeholders(k) | placeholders(v) for k, v in template.items()))
    if isinstance(template, list):
        return set().union(*(placeholders(v) for v in template))
    return set()


#: what a lookup in a response returns when the value is not there (``None`` may be a real value)
MISSING = object()


def json_path(body: Any, path: str) -> Any:
    """Follow a dotted path ('data.items.0.id', '$.token'), as an extraction's ``json`` does; MISSING when
    any step is absent. One reading for extractions and invariants' expectations alike."""
    node = body
    for step in [s for s in path.removeprefix("$").split(".") if s]:
        if isinstance(node, dict) and step in node:
            node = node[step]
        elif isinstance(node, list) and step.lstrip("-").isdigit() and -len(node) <= int(step) < len(node):
            node = node[int(step)]
        else:
            return MISSING
    return node


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


def compiled_regex(value: str | None) -> str | None:
    """A regular expression that compiles (placeholders in it compile too: ``{title}`` is literal to ``re``)."""
    if value is not None:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"not a regular expression: {exc}") from None
    return value


class Extraction(_Strict):
    """Where one value is in a response: exactly one of a JSON path, a header, a cookie or the body (by a pattern)."""

    json_path: str | None = Field(None, alias="json",
                                  description="dotted path into the JSON body, e.g. 'token' or 'data.items.0.id'")
    header: str | None = Field(None, description="response header name, e.g. 'X-Session'")
    cookie: str | None = Field(None, description="name of a cookie set by the response (Set-Cookie; with "
                               "follow_redirects, by any response of the chain, the last one winning)")
    body: bool | None = Field(None, description="true: search the raw body (an HTML page) with 'pattern', "
                              "which is then required, e.g. {body: true, pattern: '<a href=\"/notes/(\\d+)\">'}")
    pattern: str | None = Field(None, description="regular expression applied to the value found (re.search); its "
                                "first group (or the whole match) is the value, e.g. '/orders/(\\w+)$' on a Location "
                                "header; found in the body, it is HTML-unescaped ('&quot;' reads '\"'). It may hold "
                                "the operation's placeholders ('{title}'), filled in with the value escaped "
                                "(re.escape), to find the item just written on a page listing many")
    parse: Literal["json"] | None = Field(None, description="'json': the text found (after the pattern) is JSON "
                                          "text, read with json.loads, e.g. a record's data shown on a page; text "
                                          "that is not JSON counts as nothing found")

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, value: str | None) -> str | None:
        return compiled_regex(value)

    @model_validator(mode="after")
    def _exactly_one(self) -> "Extraction":
        given = [k for k in ("json_path", "header", "cookie") if getattr(self, k) is not None] + (
            ["body"] if self.body else [])
        if len(given) != 1:
            raise ValueError("give exactly one of 'json', 'header', 'cookie' or 'body: true'"
                             + (f" (got {', '.join('json' if g == 'json_path' else g for g in given)})" if given else ""))
        if self.body and self.pattern is None:
            raise ValueError("a body extraction (body: true) needs a 'pattern': a regular expression whose first group is the value, "
                             "e.g. {body: true, pattern: 'name=\"csrf\" value=\"([^\"]+)\"'}")
        return self

    def describe(self) -> str:
        if self.json_path is not None:
            where = f"JSON path '{self.json_path}'"
        elif self.body:
            where = "the body"
        else:
            where = f"header '{self.header}'" if self.header is not None else f"cookie '{self.cookie}'"
        return where + (f" matching /{self.pattern}/" if self.pattern else "") + (
            f", read as {self.parse.upper()}" if self.parse else "")


class StatusRule(_Strict):
    """A status, answered with headers matching regular expressions: ``{status: 302, header: {Location: '^/login'}}``.

    In ``accepted`` or ``rejected`` beside bare statuses; a response matching a rule with
    headers is decided by that rule before any bare status.
    """

    status: int = Field(ge=100, le=599, description="the response status")
    header: dict[str, str] = Field(default_factory=dict, description="header name -> regular expression searched "
                                   "(re.search) in the response's header; all must match, an absent header does not")
    reason: str | None = Field(None, description="in 'rejected' only: the reason this answer means (quotes: "
                               "not-found, already-used, expired); default 'rejected'")

    @field_validator("header")
    @classmethod
    def _header_regexes(cls, value: dict[str, str]) -> dict[str, str]:
        for name, pattern in value.items():
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"header {name!r}: not a regular expression: {exc}") from None
        return value

    def matches(self, status: int, headers: Mapping[str, str]) -> bool:
        """The response has this status and every header named matches its expression."""
        return status == self.status and all(
            name in headers and re.search(pattern, headers[name]) is not None for name, pattern in self.header.items())

    def describe(self) -> str:
        if not self.header:
            return str(self.status)
        return f"{self.status} with " + " and ".join(f"{k} matching /{v}/" for k, v in self.header.items())


def _entries(value: Any) -> Any:
    """A status list's entries must each be a status or a rule: refused here with an example of both."""
    if isinstance(value, list):
        for i, entry in enumerate(value):
            if isinstance(entry, bool) or not isinstance(entry, (int, dict, StatusRule)):
                raise ValueError(f"entry {i}: expected a status (e.g. 302) or a rule with headers "
                                 f"({{status: 302, header: {{Location: '^/login'}}}}), got {entry!r}")
    return value


def _accepted(value: list[Accepted]) -> list[Accepted]:
    """``accepted`` checked (no rule gives a reason) and plain: a rule without headers is its bare status,
    so readers of plain statuses (the load plan) see ints."""
    for i, entry in enumerate(value):
        if isinstance(entry, StatusRule) and entry.reason is not None:
            raise ValueError(f"entry {i}: 'reason' belongs to 'rejected' entries only")
    return [entry.status if isinstance(entry, StatusRule) and not entry.header else entry for entry in value]


def _rule(entry: Any, reason: str | None = None) -> Any:
    """A bare status as a rule; a mapping is left for the model to validate."""
    return {"status": entry, "reason": reason} if isinstance(entry, int) and not isinstance(entry, bool) else entry


#: an HTTP status
Status = Annotated[int, Field(ge=100, le=599)]
#: an entry of ``accepted``: a bare status, or a rule with headers
Accepted = Status | StatusRule


class HttpRequest(_Strict):
    """The request fields an operation and each of its setup steps share."""

    method: str = Field("GET", pattern=r"^(GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS)$", description="HTTP method")
    path: str = Field(pattern=r"^/", description="path with placeholders, e.g. '/records/{id}'")
    query: dict[str, Any] = Field(default_factory=dict, description="query parameters")
    headers: dict[str, str] = Field(default_factory=dict, description="headers sent, e.g. {Authorization: 'Bearer {token}'}")
    cookies: dict[str, str] = Field(default_factory=dict, description="cookies sent, e.g. {session: '{token}'}")
    json_body: Any = Field(None, alias="json", description="JSON body")
    form: dict[str, Any] | None = Field(None, description="form body (application/x-www-form-urlencoded)")
    multipart: dict[str, Any] | None = Field(
        None, description="multipart body; a field whose value is '{content}' is sent as a file")
    follow_redirects: bool = Field(False, description="follow redirects (at most 5, same origin only, with the same "
                                   "headers and the cookies sent plus those set on the way; a 303, or a 301/302 "
                                   "answering a POST, continues as a GET without body). Default: never followed, "
                                   "the redirect itself is the answer")
    extract: dict[str, Extraction] = Field(default_factory=dict, description="values read from an accepted "
                                           "response, by name (which ones: see each operation)")

    @field_validator("method", mode="before")
    @classmethod
    def _upper(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value

    @model_validator(mode="after")
    def _one_body(self) -> "HttpRequest":
        bodies = [k for k in ("json_body", "form", "multipart") if getattr(self, k) is not None]
        if len(bodies) > 1:
            raise ValueError("give at most one body: 'json', 'form' or 'multipart'")
        return self

    def rules(self) -> list[StatusRule]:
        """Every ``accepted`` entry as a rule (bare statuses as rules without headers)."""
        return [StatusRule(status=a) if isinstance(a, int) else a for a in getattr(self, "accepted", None) or []]


class Step(HttpRequest):
    """A request sent before an operation's own (register, then log in; fetch a form's CSRF token).

    Steps run in order on the same replica; what a step extracts is a placeholder for the
    later steps and the operation. A step answered with a status it does not accept ends
    the operation as ``fail``: the operation's own request was never sent.
    """

    accepted: list[Accepted] | None = Field(None, description="statuses (or rules with headers) the step must "
                                            "get to go on; default: any 2xx or 3xx")
    extract: dict[str, Extraction] = Field(default_factory=dict, description="values read from the step's "
                                           "response, by name: placeholders for later steps and the operation")

    @field_validator("accepted", mode="before")
    @classmethod
    def _accepted_entries(cls, value: Any) -> Any:
        return _entries(value)

    @field_validator("accepted")
    @classmethod
    def _no_reason(cls, value: list[Accepted] | None) -> list[Accepted] | None:
        return None if value is None else _accepted(value)

    def accepts(self, status: int, headers: Mapping[str, str]) -> bool:
        if self.accepted is None:
            return 200 <= status < 400
        return any(rule.matches(status, headers) for rule in self.rules())


class HttpOperation(HttpRequest):
    """One request and how its answer reads."""

    before: list[Step] = Field(default_factory=list, description="setup steps sent first, in order, on the same "
                               "replica (each a request with its own 'accepted' and 'extract'); what they extract "
                               "is a placeholder for later steps and this request. A step not accepted, or not "
                               "answered, ends the operation as fail: its own request was never sent")
    accepted: list[Accepted] = Field(default_factory=lambda: [200, 201, 204],
                                     description="statuses meaning it took effect / was found / was allowed; an entry "
                                     "may be a rule with headers, {status: 302, header: {Location: '^/notes/'}}")
    rejected: list[StatusRule] = Field(default_factory=list, description="definite 'no' statuses: a list (of statuses "
                                       "or rules with headers, {status: 302, header: {Location: '^/login'}, reason: "
                                       "...}), or status -> reason (quotes: not-found, already-used, expired); "
                                       "defaults per operation. Rules with headers decide before bare statuses")
    limited: list[int] = Field(default_factory=list, description="denial statuses of rate_limit.hit and "
                               "cooldowns.start (default [429]; e.g. [403])")

    @field_validator("accepted", mode="before")
    @classmethod
    def _accepted_entries(cls, value: Any) -> Any:
        return _entries(value)

    @field_validator("rejected", mode="before")
    @classmethod
    def _reasons(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return [{"status": status, "reason": reason} for status, reason in value.items()]
        if isinstance(value, list):
            return [_rule(entry) for entry in _entries(value)]
        return value

    @field_validator("accepted")
    @classmethod
    def _no_reason(cls, value: list[Accepted]) -> list[Accepted]:
        return _accepted(value)

    def reasons(self) -> dict[int, str]:
        """Bare rejected statuses -> the reason each means (rules with headers excluded)."""
        return {r.status: r.reason or REJECTED for r in self.rejected if not r.header}

    def decide(self, status: int, headers: Mapping[str, str]) -> tuple[str, str] | None:
        """How an answer reads: (category, reason), or None when the operation does not declare it.

        Rules with headers first (a 302 to the login page is not any 302); a response matching
        rules of both ``accepted`` and ``rejected`` is a spec that says two things, refused
        with ``ValueError``. Then bare statuses: accepted, limited, rejected.
        """
        hits = [(ACCEPTED, "", rule) for rule in self.rules() if rule.header and rule.matches(status, headers)]
        hits += [(REJECTED, rule.reason or REJECTED, rule) for rule in self.rejected
                 if rule.header and rule.matches(status, headers)]
        if {category for category, _, _ in hits} == {ACCEPTED, REJECTED}:
            both = "; ".join(f"{category} {rule.describe()}" for category, _, rule in hits)
            raise ValueError(f"the {status} response matches rules of both 'accepted' and 'rejected' ({both}); "
                             "narrow their header expressions so that one answer reads one way")
        if hits:
            return hits[0][0], hits[0][1]
        if status in [r.status for r in self.rules() if not r.header]:
            return ACCEPTED, ""
        if status in self.limited:
            return LIMITED, ""
        reasons = self.reasons()
        return (REJECTED, reasons[status]) if status in reasons else None


def _operation(kind: StateKind, name: str) -> Any:
    """The field of one operation in a kind's model: required or not, and described, as the table says."""
    op = TABLE[(kind, name)]
    return Field(description=op.spec_doc()) if op.required else Field(None, description=op.spec_doc())


def _defaults(kind: StateKind, name: str) -> dict[str, Any]:
    """Statuses that depend on the operation, filled in when the spec leaves them out."""
    op = TABLE[(kind, name)]
    defaults: dict[str, Any] = {REJECTED: dict(op.rejected)} if op.rejected else {}
    return {**defaults, LIMITED: list(op.limited)} if op.limited else defaults


class _Kind(_Strict):
    """A state kind's operations (one ``HttpOperation`` field per operation of ``KIND`` in the table)."""

    KIND: ClassVar[StateKind]

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        """Refuse a model whose operations or settings differ from the table's: none missing, none extra,
        required alike (a new operation cannot be half added)."""
        super().__pydantic_init_subclass__(**kwargs)
        for setting in SETTINGS[cls.KIND]:
            field = cls.model_fields.get(setting.name)
            if field is None or field.is_required() != setting.required:
                raise TypeError(f"{cls.__name__}: the table's setting {cls.KIND}.{setting.name} (required="
                                f"{setting.required}) needs a field of that name, required alike")
        fields = {name: f for name, f in cls.model_fields.items()
                  if HttpOperation in (f.annotation, *get_args(f.annotation))}
        expected = KIND_OPERATIONS[cls.KIND]
        if set(fields) != set(expected):
            extra, missing = sorted(set(fields) - set(expected)), sorted(set(expected) - set(fields))
            raise TypeError(f"{cls.__name__}: the operations must be the table's {cls.KIND} operations "
                            f"{', '.join(expected)} (harness.operation_table); not in the table: "
                            f"{', '.join(extra) or 'none'}; missing: {', '.join(missing) or 'none'}")
        for name, f in fields.items():
            if f.is_required() != TABLE[(cls.KIND, name)].required:
                raise TypeError(f"{cls.__name__}.{name}: required={f.is_required()}, but the table says "
                                f"required={TABLE[(cls.KIND, name)].required}")

    @model_validator(mode="before")
    @classmethod
    def _fill_defaults(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        data = dict(data)
        for name in KIND_OPERATIONS[cls.KIND]:
            if isinstance(data.get(name), dict):
                data[name] = {**_defaults(cls.KIND, name), **data[name]}
        return data

    @model_validator(mode="after")
    def _extractions(self) -> "_Kind":
        for name in KIND_OPERATIONS[self.KIND]:
            op, keys = getattr(self, name), TABLE[(self.KIND, name)].extract
            missing = [k for k in keys if op is not None and k not in op.extract]
            if missing:
                raise ValueError(f"{name}.extract: must name {', '.join(repr(k) for k in missing)}, the value(s) "
                                 f"this operation yields (e.g. extract: {{{missing[0]}: {{json: {missing[0]}}}}})")
        return self


#: How a target keeps sessions (docs/models.md): the token names server state, or carries the session itself.
SessionModel = Literal["server-side", "client-side"]


class SessionsOps(_Kind):
    """Logins, "who am I" checks and logouts. Checked: no acknowledged session lost, logout honoured everywhere."""

    KIND = StateKind.SESSIONS

    login: HttpOperation = _operation(KIND, "login")
    whoami: HttpOperation = _operation(KIND, "whoami")
    logout: HttpOperation | None = _operation(KIND, "logout")
    model: SessionModel | None = Field(
        None, description="where a session lives: 'server-side' (the token names state the app keeps: a logout "
        "must revoke it on every replica) or 'client-side' (a signed cookie or token carries the session: it "
        "must survive every fault, but a copy stays valid after logout, which is reported as a finding of the "
        "model, not a violation). Absent: judged as server-side (see docs/models.md)")


class RecordsOps(_Kind):
    """Records (orders, addresses). Checked: the final state equals the acknowledged creates, updates, deletes."""

    KIND = StateKind.RECORDS

    create: HttpOperation = _operation(KIND, "create")
    read: HttpOperation = _operation(KIND, "read")
    update: HttpOperation | None = _operation(KIND, "update")
    delete: HttpOperation | None = _operation(KIND, "delete")
    list: HttpOperation | None = _operation(KIND, "list")
    list_id: str = Field("id", description="key of a listed object's id")
    list_data: str = Field("data", description="key of a listed object's data")


class FilesOps(_Kind):
    """Uploaded files. Checked: every acknowledged upload downloads with the same bytes (sha256)."""

    KIND = StateKind.FILES

    upload: HttpOperation = _operation(KIND, "upload")
    download: HttpOperation = _operation(KIND, "download")


class CountersOps(_Kind):
    """Counters (metrics, totals). Checked: reads lie between acknowledged and attempted sums."""

    KIND = StateKind.COUNTERS

    increment: HttpOperation = _operation(KIND, "increment")
    read: HttpOperation = _operation(KIND, "read")


class QuotesOps(_Kind):
    """Quotes with an expiry, usable once. Checked: expiry and single use hold across restarts and replicas."""

    KIND = StateKind.QUOTES

    create: HttpOperation = _operation(KIND, "create")
    use: HttpOperation = _operation(KIND, "use")
    read: HttpOperation | None = _operation(KIND, "read")


class FixedWindow(_Strict):
    """At most ``limit`` allowed hits per window of length ``window``; ``anchor`` says where windows start."""

    name: Literal["fixed-window"] = Field(description="'fixed-window'")
    anchor: Literal["epoch", "offset", "first-hit", "any"] = Field(
        "any", description="'epoch': windows [k*W, (k+1)*W) aligned to the Unix epoch; 'offset': clock-aligned "
        "with an unknown constant phase per key (django-ratelimit); 'first-hit': a window opens at the first hit "
        "after the previous one closed (express-rate-limit 7+, rate-limit-redis, limits, INCR then EXPIRE); "
        "'any': no assumption where windows start, sound for all three")


class SlidingWindow(_Strict):
    """A sliding log: at most ``limit`` allowed hits in any interval of length ``window`` (limits' moving window)."""

    name: Literal["sliding-window"] = Field(description="'sliding-window'")


class SlidingWindowCounter(_Strict):
    """A weighted estimate over the current and previous fixed window: at most 2 x ``limit`` in any ``window``."""

    name: Literal["sliding-window-counter"] = Field(description="'sliding-window-counter'")


class TokenBucket(_Strict):
    """A token bucket or GCRA: at most ``burst + rate * t`` allowed hits in any interval of length t."""

    name: Literal["token-bucket"] = Field(description="'token-bucket'")
    burst: int | None = Field(None, ge=1, description="bucket size: hits allowed at once by a full bucket "
                              "(default: limit; nginx 'burst=B' and redis-cell 'max_burst B' allow B + 1)")
    rate: float | None = Field(None, gt=0, description="tokens added per second (default: limit / window)")


#: The rate-limit algorithms a spec may declare, told apart by ``name``.
RateLimitAlgorithm = FixedWindow | SlidingWindow | SlidingWindowCounter | TokenBucket


class RateLimitOps(_Kind):
    """A rate-limited request. Checked: allowed hits per key, over all replicas, stay within what the algorithm allows."""

    KIND = StateKind.RATE_LIMIT

    hit: HttpOperation = _operation(KIND, "hit")
    limit: int = Field(gt=0, description="allowed requests per window and client key")
    window: float = Field(gt=0, description="window length in seconds")
    algorithm: RateLimitAlgorithm = Field(
        default_factory=lambda: FixedWindow(name="fixed-window"), discriminator="name",
        description="how the limiter counts (docs/models.md): a name ('fixed-window', 'sliding-window', "
        "'sliding-window-counter', 'token-bucket') or a mapping {name: ..., and its fields}. Absent: "
        "fixed-window with anchor 'any', sound for every fixed-window limiter")

    @field_validator("algorithm", mode="before")
    @classmethod
    def _short_form(cls, value: Any) -> Any:
        """``algorithm: sliding-window`` is ``{name: sliding-window}``; anything but a name or a mapping is refused."""
        if isinstance(value, str):
            return {"name": value}
        names = "'fixed-window', 'sliding-window', 'sliding-window-counter' or 'token-bucket'"
        if isinstance(value, dict) and "name" not in value:
            raise ValueError(f"give the algorithm's 'name': {names} (got {value!r})")
        if not isinstance(value, (dict, BaseModel)):
            raise ValueError(f"expected an algorithm name ({names}) or a mapping with 'name', got {value!r}")
        return value

    @model_validator(mode="after")
    def _bucket_defaults(self) -> "RateLimitOps":
        """A token bucket left without burst or rate gets the limit per window: burst = limit, rate = limit / window."""
        if isinstance(self.algorithm, TokenBucket):
            if self.algorithm.burst is None:
                self.algorithm.burst = self.limit
            if self.algorithm.rate is None:
                self.algorithm.rate = self.limit / self.window
        return self

    @model_validator(mode="after")
    def _plain_hit(self) -> "RateLimitOps":
        """The load suite sends ``hit`` from locust as one request read by its status alone: no steps,
        header rules or redirects, which it could not honour."""
        hit = self.hit
        extra = [name for name, used in (("before", bool(hit.before)), ("follow_redirects", hit.follow_redirects),
                                         ("accepted (a rule with headers)", any(r.header for r in hit.rules())))
                 if used]
        if extra:
            raise ValueError(f"hit: {', '.join(extra)} not supported for rate_limit.hit: the load generator sends "
                             "its request alone and reads the status only")
        return self

    def algorithm_settings(self) -> dict[str, Any]:
        """The algorithm as the plain dict that settings and every hit's args carry (long form, defaults filled in)."""
        return self.algorithm.model_dump()


class CooldownsOps(_Kind):
    """A cooldown (e.g. one action per 24 h). Checked: once started it blocks on every replica until it ends."""

    KIND = StateKind.COOLDOWNS

    start: HttpOperation = _operation(KIND, "start")
    period: float = Field(gt=0, description="cooldown length in seconds")


class Operations(_Strict):
    """Every state kind is optional: a target has the ones it declares."""

    sessions: SessionsOps | None = Field(None, description="absent: not tested")
    records: RecordsOps | None = Field(None, description="absent: not tested")
    files: FilesOps | None = Field(None, description="absent: not tested")
    counters: CountersOps | None = Field(None, description="absent: not tested")
    quotes: QuotesOps | None = Field(None, description="absent: not tested")
    rate_limit: RateLimitOps | None = Field(None, description="absent: not tested")
    cooldowns: CooldownsOps | None = Field(None, description="absent: not tested")

    def kinds(self) -> list[StateKind]:
        """The state kinds this spec declares, in the vocabulary's order."""
        return [kind for kind in StateKind if getattr(self, kind) is not None]

    @model_validator(mode="after")
    def _known_placeholders(self) -> "Operations":
        """A placeholder an operation does not provide would fail on every call: refuse it now.

        An operation provides its variables; each setup step adds what it extracts, for the
        steps after it and the operation's own request and patterns.
        """
        for kind in self.kinds():
            ops = getattr(self, kind)
            for name in KIND_OPERATIONS[kind]:
                op = getattr(ops, name)
                if op is None:
                    continue
                variables = set(VARIABLES[(kind, name)])
                provided = set(variables)
                for i, step in enumerate(op.before):
                    _check_request(step, provided, f"{kind}.{name}.before.{i}")
                    for key in step.extract:
                        if key in variables:
                            raise ValueError(f"{kind}.{name}.before.{i}.extract.{key}: '{key}' is a variable of "
                                             f"{kind}.{name} already; give the extracted value another name")
                    provided |= set(step.extract)
                _check_request(op, provided, f"{kind}.{name}")
        return self


_REQUEST_PARTS = ("path", "query", "headers", "cookies", "json_body", "form", "multipart")


def _check_request(request: HttpRequest, provided: set[str], where: str) -> None:
    """Every placeholder of a request (and of its extractions' patterns) is one of ``provided``."""
    parts = [("json" if part == "json_body" else part, getattr(request, part)) for part in _REQUEST_PARTS]
    parts += [(f"extract.{key}.pattern", how.pattern) for key, how in request.extract.items()]
    for field, template in parts:
        unknown = placeholders(template) - provided
        if unknown:
            raise ValueError(
                f"{where}.{field}: unknown placeholder {', '.join('{' + u + '}' for u in sorted(unknown))}; "
                f"this operation provides {', '.join('{' + v + '}' for v in sorted(provided)) or 'none'}")


def _check_kinds() -> None:
    """One field of ``Operations`` per state kind, holding that kind's model: checked when this module loads."""
    fields = {name: [m for m in get_args(f.annotation) if isinstance(m, type) and issubclass(m, _Kind)]
              for name, f in Operations.model_fields.items()}
    wrong = {name for name, models in fields.items() if [m.KIND for m in models] != [name]}
    if set(fields) != set(StateKind) or wrong:
        raise TypeError(f"Operations: fields {sorted(fields)} must be the state kinds {sorted(StateKind)}, "
                        f"each holding its kind's model (wrong: {sorted(wrong)})")


_check_kinds()
