"""The adapter: how a target performs the abstract operations of the workloads.

Workloads ask for abstract operations (log in, read a record, hit a rate limit); an
adapter performs each against one replica and says what came back, as an outcome
and a value in the form the checkers read. Most targets need no Python: a YAML
spec's ``operations`` section is turned into an adapter (``harness.spec_adapter``).
For flows YAML cannot express (a CSRF token fetched first, a multi-step login),
subclass :class:`Adapter` and override the operations the target has::

    class ShopAdapter(Adapter):
        def sessions_login(self, http, user):
            form = http.get("/login")
            csrf = re.search(r'name="csrf" value="([^"]+)"', form.text).group(1)
            r = http.post("/login", data={"user": user, "csrf": csrf}, cookies=form.cookies)
            if r.status_code in (200, 302) and "session" in r.cookies:
                return accepted(token=r.cookies["session"])
            return unexpected(r)

        def sessions_whoami(self, http, token):
            r = http.get("/me", cookies={"session": token})
            return {200: accepted(), 401: rejected()}.get(r.status_code) or unexpected(r)

and name it in the spec: ``adapter: shop_adapter.py:ShopAdapter``. The methods, one
per abstract operation, are made from ``harness.operation_table``: what each receives and
must return is in its docstring (``help(Adapter.sessions_login)``) and in
docs/spec-reference.md. HTTP errors (connection refused, timeouts) need no handling: the
client turns them into outcomes. Operations an adapter does not override are absent from
the target, and their workloads do not run.

A kind's settings with no sound default (a rate limit's ``rate_limit_limit`` and
``rate_limit_window``, a cooldown's ``cooldown_period``) must be set as class attributes
by an adapter that has the kind: judged against another app's numbers, a limit would
pass or fail by chance. Loading such an adapter without them is an error naming it.
"""

from __future__ import annotations

import inspect
from typing import Any, Callable, Mapping

import httpx

from harness.errors import SpecError
from harness.history import Outcome
from harness.outcome import status_outcome

from harness.operation_table import KIND_OPERATIONS, OPERATIONS, REQUIRED, SETTINGS, TABLE, OperationDef
from harness.vocabulary import StateKind

#: What an operation returns: the outcome, and a value the checkers read.
Reply = tuple[Outcome, Any]

def accepted(**value: Any) -> Reply:
    """The operation took effect, or found what it looked for."""
    return Outcome.OK, value


def rejected(**value: Any) -> Reply:
    """A definite 'no' from the app (not found, not logged in, denied): still an ok reply."""
    return Outcome.OK, value


def unexpected(response: httpx.Response) -> Reply:
    """A status the operation does not expect, read by its class (``harness.outcome``).

    A 4xx was refused (fail); anything else may have been applied (unknown): a 5xx, and
    a 2xx or 3xx the operation does not declare (a redirect after a write that succeeded).
    """
    return status_outcome(response.status_code), None


def response_cookies(response: httpx.Response) -> dict[str, str]:
    """Cookies the response sets: the leading ``name=value`` of each Set-Cookie header.

    Read by hand, not with ``http.cookies``, which drops a whole header over an
    attribute it does not know (``Partitioned``) and mistakes others for cookies.
    """
    cookies = {}
    for header in response.headers.get_list("set-cookie"):
        name, sep, value = header.split(";", 1)[0].partition("=")
        if sep and name.strip():
            cookies[name.strip()] = value.strip().strip('"')
    return cookies


class ReplicaHttp:
    """HTTP to one replica, through the client's connection pool.

    The ``Client`` that makes it keeps no cookie jar, so a cookie is sent only when an
    operation sends it, and one session never leaks into another. (Wrapped around
    an ``httpx.Client`` with an ordinary jar, that jar would still apply.)
    """

    def __init__(self, http: httpx.Client, base_url: str,
                 observe: Callable[[httpx.Response], None] = lambda response: None) -> None:
        self._http = http
        self.base_url = base_url
        self._observe = observe  # the client keeps the last status for the history

    def request(self, method: str, path: str, *, cookies: Mapping[str, str] | None = None,
                headers: Mapping[str, str] | None = None, **kwargs: Any) -> httpx.Response:
        headers = dict(headers or {})
        if cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
        response = self._http.request(method, self.base_url + path, headers=headers, **kwargs)
        self._observe(response)
        return response

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", path, **kwargs)


class Adapter:
    """Base class of every adapter; a target has the kinds whose required methods it overrides.

    Each method's docstring says what it returns; the keys are what the checkers read.
    The settings of ``harness.operation_table.SETTINGS`` are class attributes: those
    with no sound default (annotated here without a value) must be set by an adapter
    that has their kind.
    """

    #: rate_limit: allowed hits per window and key, and the window in seconds (required)
    rate_limit_limit: int
    rate_limit_window: float
    #: rate_limit: the algorithm as in a spec's long form (docs/models.md), e.g. {"name": "sliding-window"};
    #: None: not declared, judged as a fixed window starting anywhere
    rate_limit_algorithm: dict[str, Any] | None = None
    #: cooldowns: seconds a started cooldown lasts (required)
    cooldown_period: float
    #: sessions: "server-side" or "client-side" (docs/models.md); None = not declared, judged as server-side
    sessions_model: str | None = None

    def supports(self, kind: str, operation: str) -> bool:
        method = getattr(type(self), f"{kind}_{operation}", None)
        return method is not None and method is not getattr(Adapter, f"{kind}_{operation}", None)

    def kinds(self) -> list[StateKind]:
        """The state kinds this target has: those whose required operations are implemented."""
        return [kind for kind, ops in REQUIRED.items() if all(self.supports(kind, op) for op in ops)]

    def settings(self, kind: str) -> dict[str, Any]:
        """Parameters a workload and its checker need (a rate limit's limit and window, a cooldown's period),
        from class attributes; SpecError naming the adapter and the attribute when a required one is not set."""
        found: dict[str, Any] = {}
        for setting in SETTINGS.get(kind, ()):  # type: ignore[call-overload]  # a StateKind is its str
            value = getattr(self, setting.attribute, None)
            if value is None and setting.required:
                raise SpecError(self.missing_setting(setting.attribute))
            if value is not None:
                found[setting.name] = dict(value) if isinstance(value, Mapping) else value
        return found

    def check_settings(self) -> None:
        """Raise SpecError when a kind this adapter has lacks a required setting: at load time, not mid-run."""
        for kind in self.kinds():
            self.settings(kind)

    def missing_setting(self, attribute: str) -> str:
        """The error for a required setting left unset: which adapter, which attribute, and how to set it."""
        setting = next(s for kinds in SETTINGS.values() for s in kinds if s.attribute == attribute)
        return (f"adapter {type(self).__name__}: has {setting.kind} but does not set {attribute} ({setting.meaning}); "
                f"no default is sound, so set it as a class attribute, e.g. {setting.example}")

    def describe(self) -> str:
        return type(self).__name__

    def perform(self, kind: str, operation: str, http: ReplicaHttp, variables: Mapping[str, Any]) -> Reply:
        """Call the operation's method; its reply gets the variables the table's reply echoes (see ``echoed``)."""
        outcome, value = getattr(self, f"{kind}_{operation}")(http, **variables)
        return outcome, with_echoed(TABLE[(StateKind(kind), operation)], variables, value)


def echoed(op: OperationDef) -> tuple[str, ...]:
    """The variables every reply of ``op`` carries back (a login's ``user``, an update's ``id``).

    A YAML operation's reader fills them from the variables; a Python method need not
    repeat what it was given, so ``Adapter.perform`` fills them the same way, and a
    message reads "session of user 'alice'" whichever way the target is described.
    """
    return tuple(v for v in op.variables if op.replies and all(v in keys for keys in op.replies.values()))


def with_echoed(op: OperationDef, variables: Mapping[str, Any], value: Any) -> Any:
    """``value`` (a reply's dict) with each echoed variable it lacks or leaves None set from ``variables``."""
    if not isinstance(value, dict):
        return value
    missing = {k: variables[k] for k in echoed(op) if value.get(k) is None and k in variables}
    return {**value, **missing} if missing else value


class StepFailed(Exception):
    """A setup step before an operation was refused or not answered: the operation's own request was never
    sent, so it did not take effect (outcome ``fail``, whatever the step's status)."""


def _stub(op: OperationDef) -> Callable[..., Reply]:
    """The base class's method for one operation: it raises, and says what an override returns."""

    def method(self: Adapter, http: ReplicaHttp, *args: Any, **kwargs: Any) -> Reply:
        raise NotImplementedError(f"{type(self).__name__} does not implement {op.qualname}")

    method.__name__, method.__qualname__ = op.method, f"Adapter.{op.method}"
    method.__doc__ = f"Receives {', '.join(op.variables) or 'no variables'}; returns {op.reply_doc()}"
    parameters = [inspect.Parameter(name, inspect.Parameter.POSITIONAL_OR_KEYWORD)
                  for name in ("self", "http", *op.variables)]
    method.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
    return method


for _op in OPERATIONS:
    setattr(Adapter, _op.method, _stub(_op))
del _op

__all__ = ["KIND_OPERATIONS", "REQUIRED", "Adapter", "ReplicaHttp", "Reply", "StepFailed", "accepted", "echoed",
           "rejected", "response_cookies", "unexpected", "with_echoed"]
