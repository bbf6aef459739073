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

and name it in the spec: ``adapter: shop_adapter.py:ShopAdapter``. What each
operation receives and must return is in the method's docstring below. HTTP errors
(connection refused, timeouts) need no handling: the client turns them into
outcomes. Operations an adapter does not override are absent from the target, and
their workloads do not run.
"""

from __future__ import annotations

import importlib
import importlib.util
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Mapping

import httpx

from harness.errors import SpecError
from harness.history import Outcome

if TYPE_CHECKING:
    from harness.operations import Operations

#: What an operation returns: the outcome, and a value the checkers read.
Reply = tuple[Outcome, Any]

#: state kind -> its operations (adapter methods are named ``<kind>_<operation>``)
KIND_OPERATIONS: dict[str, tuple[str, ...]] = {
    "sessions": ("login", "whoami", "logout"),
    "records": ("create", "read", "update", "delete", "list"),
    "files": ("upload", "download"),
    "counters": ("increment", "read"),
    "quotes": ("create", "use", "read"),
    "rate_limit": ("hit",),
    "cooldowns": ("start",),
}

#: operations without which a kind's workload cannot run
REQUIRED: dict[str, tuple[str, ...]] = {
    "sessions": ("login", "whoami"),
    "records": ("create", "read"),
    "files": ("upload", "download"),
    "counters": ("increment", "read"),
    "quotes": ("create", "use"),
    "rate_limit": ("hit",),
    "cooldowns": ("start",),
}


def accepted(**value: Any) -> Reply:
    """The operation took effect, or found what it looked for."""
    return Outcome.OK, value


def rejected(**value: Any) -> Reply:
    """A definite 'no' from the app (not found, not logged in, denied): still an ok reply."""
    return Outcome.OK, value


def unexpected(response: httpx.Response) -> Reply:
    """A status the operation does not expect: a 5xx may have been applied, anything else was refused."""
    return (Outcome.UNKNOWN, None) if response.status_code >= 500 else (Outcome.FAIL, None)


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
    """

    #: rate_limit: allowed hits per window and key, and the window in seconds
    rate_limit_limit: int = 10
    rate_limit_window: float = 10.0
    #: rate_limit: the algorithm as in a spec's long form (docs/models.md), e.g. {"name": "sliding-window"};
    #: None: not declared, judged as a fixed window starting anywhere
    rate_limit_algorithm: dict[str, Any] | None = None
    #: cooldowns: seconds a started cooldown lasts
    cooldown_period: float = 60.0
    #: sessions: "server-side" or "client-side" (docs/models.md); None = not declared, judged as server-side
    sessions_model: str | None = None

    def supports(self, kind: str, operation: str) -> bool:
        method = getattr(type(self), f"{kind}_{operation}", None)
        return method is not None and method is not getattr(Adapter, f"{kind}_{operation}", None)

    def kinds(self) -> list[str]:
        """The state kinds this target has: those whose required operations are implemented."""
        return [kind for kind, ops in REQUIRED.items() if all(self.supports(kind, op) for op in ops)]

    def settings(self, kind: str) -> dict[str, float]:
        """Parameters a workload and its checker need: a rate limit's limit and window, a cooldown's period."""
        if kind == "rate_limit":
            settings = {"limit": self.rate_limit_limit, "window": self.rate_limit_window}
            if self.rate_limit_algorithm is not None:
                settings["algorithm"] = dict(self.rate_limit_algorithm)  # type: ignore[assignment]
            return settings
        if kind == "cooldowns":
            return {"period": self.cooldown_period}
        if kind == "sessions" and self.sessions_model is not None:
            return {"model": self.sessions_model}  # type: ignore[dict-item]
        return {}

    def describe(self) -> str:
        return type(self).__name__

    def sessions_login(self, http: ReplicaHttp, user: str) -> Reply:
        """accepted(token=..., expires_at=epoch or None)"""
        raise NotImplementedError(f"{type(self).__name__} does not implement sessions.login")

    def sessions_whoami(self, http: ReplicaHttp, token: str) -> Reply:
        """accepted(accepted=True) if the token is logged in, rejected(accepted=False) if not"""
        raise NotImplementedError(f"{type(self).__name__} does not implement sessions.whoami")

    def sessions_logout(self, http: ReplicaHttp, token: str) -> Reply:
        """accepted(revoked=True), or rejected(revoked=False) for an unknown token"""
        raise NotImplementedError(f"{type(self).__name__} does not implement sessions.logout")

    def records_create(self, http: ReplicaHttp, data: dict) -> Reply:
        """accepted(id=..., version=None)"""
        raise NotImplementedError(f"{type(self).__name__} does not implement records.create")

    def records_read(self, http: ReplicaHttp, id: str) -> Reply:
        """accepted(found=True, data=..., version=None) / rejected(found=False, data=None)"""
        raise NotImplementedError(f"{type(self).__name__} does not implement records.read")

    def records_update(self, http: ReplicaHttp, id: str, data: dict) -> Reply:
        """accepted(id=..., version=None)"""
        raise NotImplementedError(f"{type(self).__name__} does not implement records.update")

    def records_delete(self, http: ReplicaHttp, id: str) -> Reply:
        """accepted()"""
        raise NotImplementedError(f"{type(self).__name__} does not implement records.delete")

    def records_list(self, http: ReplicaHttp) -> Reply:
        """accepted(records={id: data, ...}): every record the app holds"""
        raise NotImplementedError(f"{type(self).__name__} does not implement records.list")

    def files_upload(self, http: ReplicaHttp, content: bytes, filename: str) -> Reply:
        """accepted(id=..., sha256=<what the app says it stored> or None)"""
        raise NotImplementedError(f"{type(self).__name__} does not implement files.upload")

    def files_download(self, http: ReplicaHttp, id: str) -> Reply:
        """accepted(found=True, sha256=<sha256 of the body>) / rejected(found=False, sha256=None)"""
        raise NotImplementedError(f"{type(self).__name__} does not implement files.download")

    def counters_increment(self, http: ReplicaHttp, name: str, by: int) -> Reply:
        """accepted(value=<the new value> or None)"""
        raise NotImplementedError(f"{type(self).__name__} does not implement counters.increment")

    def counters_read(self, http: ReplicaHttp, name: str) -> Reply:
        """accepted(value=<int>)"""
        raise NotImplementedError(f"{type(self).__name__} does not implement counters.read")

    def quotes_create(self, http: ReplicaHttp, amount: float, ttl: float) -> Reply:
        """accepted(id=..., expires_at=<epoch seconds>)"""
        raise NotImplementedError(f"{type(self).__name__} does not implement quotes.create")

    def quotes_use(self, http: ReplicaHttp, id: str) -> Reply:
        """accepted(used=True) / rejected(used=False, reason='not-found'|'already-used'|'expired')"""
        raise NotImplementedError(f"{type(self).__name__} does not implement quotes.use")

    def quotes_read(self, http: ReplicaHttp, id: str) -> Reply:
        """accepted(found=True, expired=False, used=<bool>) / rejected(found=False, expired=False, used=False) / rejected(found=True, expired=True, used=None)"""
        raise NotImplementedError(f"{type(self).__name__} does not implement quotes.read")

    def rate_limit_hit(self, http: ReplicaHttp, key: str) -> Reply:
        """accepted(allowed=True) / rejected(allowed=False) when limited"""
        raise NotImplementedError(f"{type(self).__name__} does not implement rate_limit.hit")

    def cooldowns_start(self, http: ReplicaHttp, key: str) -> Reply:
        """accepted(allowed=True, until=<epoch> or None) / rejected(allowed=False, until=<epoch> or None)"""
        raise NotImplementedError(f"{type(self).__name__} does not implement cooldowns.start")

    def perform(self, kind: str, operation: str, http: ReplicaHttp, variables: Mapping[str, Any]) -> Reply:
        return getattr(self, f"{kind}_{operation}")(http, **variables)


def load_adapter(ref: str, base: Path, operations: "Operations | None" = None, source: str | None = None) -> Adapter:
    """Instantiate the adapter a spec names: ``file.py:Class`` (relative to ``base``) or ``module:Class``.

    A subclass of ``SpecAdapter`` gets the spec's operations, so it overrides only
    the operations YAML cannot express and inherits the rest.
    """
    from harness.spec_adapter import SpecAdapter

    where = f"{source or 'spec'}: field 'adapter'"
    target, _, cls_name = ref.rpartition(":")
    if not target or not cls_name:
        raise SpecError(f"{where}: expected 'file.py:ClassName' or 'module:ClassName', got {ref!r}")
    try:
        if target.endswith(".py"):
            file = (base / target).resolve()
            if not file.is_file():
                raise SpecError(f"{where}: file {file} does not exist")
            spec = importlib.util.spec_from_file_location(f"harness_adapter_{file.stem}", file)
            module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
            spec.loader.exec_module(module)  # type: ignore[union-attr]
        else:
            module = importlib.import_module(target)
    except SpecError:
        raise
    except Exception as exc:  # noqa: BLE001 - any import failure is the spec's adapter's fault
        raise SpecError(f"{where}: could not import {target}: {type(exc).__name__}: {exc}") from exc
    cls = getattr(module, cls_name, None)
    if not (isinstance(cls, type) and issubclass(cls, Adapter)):
        raise SpecError(f"{where}: {target} has no Adapter subclass named {cls_name!r}")
    if issubclass(cls, SpecAdapter):
        if operations is None:
            raise SpecError(f"{where}: {cls_name} extends SpecAdapter, so the spec needs an 'operations' section")
        return cls(operations, source)
    return cls()
