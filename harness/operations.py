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

Statuses: ``accepted`` means the operation took effect or found what it looked for;
``rejected`` is a definite "no" (not found, not logged in, already used), optionally
with a reason per status; ``limited`` is a rate limit's or a cooldown's denial (429 by
default; some frameworks answer 403). Any other status is refused (4xx) or of unknown
effect (5xx).
"""

from __future__ import annotations

import re
from typing import Any, ClassVar, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from harness.operation_table import KIND_OPERATIONS, LIMITED, REJECTED, SETTINGS, TABLE, VARIABLES
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


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class Extraction(_Strict):
    """Where one value is in a response: exactly one of a JSON path, a header or a cookie."""

    json_path: str | None = Field(None, alias="json",
                                  description="dotted path into the JSON body, e.g. 'token' or 'data.items.0.id'")
    header: str | None = Field(None, description="response header name, e.g. 'X-Session'")
    cookie: str | None = Field(None, description="name of a cookie set by the response (Set-Cookie)")
    pattern: str | None = Field(None, description="regular expression applied to the value found; its first group "
                                "(or the whole match) is the value, e.g. '/orders/(\\w+)$' on a Location header")

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"not a regular expression: {exc}") from None
        return value

    @model_validator(mode="after")
    def _exactly_one(self) -> "Extraction":
        given = [k for k in ("json_path", "header", "cookie") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of 'json', 'header' or 'cookie'")
        return self

    def describe(self) -> str:
        if self.json_path is not None:
            where = f"JSON path '{self.json_path}'"
        else:
            where = f"header '{self.header}'" if self.header is not None else f"cookie '{self.cookie}'"
        return where + (f" matching /{self.pattern}/" if self.pattern else "")


class HttpOperation(_Strict):
    """One request and how its answer reads."""

    method: str = Field("GET", pattern=r"^(GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS)$", description="HTTP method")
    path: str = Field(pattern=r"^/", description="path with placeholders, e.g. '/records/{id}'")
    query: dict[str, Any] = Field(default_factory=dict, description="query parameters")
    headers: dict[str, str] = Field(default_factory=dict, description="headers sent, e.g. {Authorization: 'Bearer {token}'}")
    cookies: dict[str, str] = Field(default_factory=dict, description="cookies sent, e.g. {session: '{token}'}")
    json_body: Any = Field(None, alias="json", description="JSON body")
    form: dict[str, Any] | None = Field(None, description="form body (application/x-www-form-urlencoded)")
    multipart: dict[str, Any] | None = Field(
        None, description="multipart body; a field whose value is '{content}' is sent as a file")
    accepted: list[int] = Field(default_factory=lambda: [200, 201, 204],
                                description="statuses meaning it took effect / was found / was allowed")
    rejected: dict[int, str] = Field(default_factory=dict, description="definite 'no' statuses: a list, or "
                                     "status -> reason (quotes: not-found, already-used, expired); defaults per operation")
    limited: list[int] = Field(default_factory=list, description="denial statuses of rate_limit.hit and "
                               "cooldowns.start (default [429]; e.g. [403])")
    extract: dict[str, Extraction] = Field(default_factory=dict, description="values read from an accepted "
                                           "response, by name (which ones: see each operation)")

    @field_validator("method", mode="before")
    @classmethod
    def _upper(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value

    @field_validator("rejected", mode="before")
    @classmethod
    def _reasons(cls, value: Any) -> Any:
        if isinstance(value, list):
            return {status: "rejected" for status in value}
        return value

    @model_validator(mode="after")
    def _one_body(self) -> "HttpOperation":
        bodies = [k for k in ("json_body", "form", "multipart") if getattr(self, k) is not None]
        if len(bodies) > 1:
            raise ValueError("give at most one body: 'json', 'form' or 'multipart'")
        return self


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
        """A placeholder an operation does not provide would fail on every call: refuse it now."""
        for kind in self.kinds():
            ops = getattr(self, kind)
            for name in KIND_OPERATIONS[kind]:
                op = getattr(ops, name)
                if op is None:
                    continue
                provided = set(VARIABLES[(kind, name)])
                for part in ("path", "query", "headers", "cookies", "json_body", "form", "multipart"):
                    unknown = placeholders(getattr(op, part)) - provided
                    if unknown:
                        field = "json" if part == "json_body" else part
                        raise ValueError(
                            f"{kind}.{name}.{field}: unknown placeholder "
                            f"{', '.join('{' + u + '}' for u in sorted(unknown))}; this operation provides "
                            f"{', '.join('{' + v + '}' for v in sorted(provided)) or 'none'}")
        return self


def _check_kinds() -> None:
    """One field of ``Operations`` per state kind, holding that kind's model: checked when this module loads."""
    fields = {name: [m for m in get_args(f.annotation) if isinstance(m, type) and issubclass(m, _Kind)]
              for name, f in Operations.model_fields.items()}
    wrong = {name for name, models in fields.items() if [m.KIND for m in models] != [name]}
    if set(fields) != set(StateKind) or wrong:
        raise TypeError(f"Operations: fields {sorted(fields)} must be the state kinds {sorted(StateKind)}, "
                        f"each holding its kind's model (wrong: {sorted(wrong)})")


_check_kinds()
