"""The load plan: the rate-limited request of a target, rendered once per client key.

The locust process must not need the harness (a worker on another machine may have
only locust and the locustfile), and rendering a spec request per hit would cost
CPU the load generator needs. So the harness renders ``rate_limit.hit`` for every
key up front, into plain method / path-with-query / headers / body, and hands that
plan to locust as JSON: a file for local processes, a message from the master for
remote workers. The plan also carries what the statuses mean (accepted, limited),
so locust counts a denial as a correct answer, and the limit and window, so the
records can be judged without the spec.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from harness.errors import SpecError
from harness.spec import TargetSpec


@dataclass(frozen=True)
class PlannedRequest:
    """One key's request, ready to send: nothing left to render."""

    method: str
    path: str  # with the query string
    headers: dict[str, str] = field(default_factory=dict)
    body: str | None = None


@dataclass(frozen=True)
class LoadPlan:
    target: str
    keys: tuple[str, ...]
    requests: dict[str, PlannedRequest]
    accepted: tuple[int, ...]
    limited: tuple[int, ...]
    limit: int
    window: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def write(self, path: Path) -> Path:
        path.write_text(json.dumps(self.to_dict()))
        return path

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> "LoadPlan":
        requests = {k: PlannedRequest(**v) for k, v in raw["requests"].items()}
        return cls(raw["target"], tuple(raw["keys"]), requests, tuple(raw["accepted"]), tuple(raw["limited"]),
                   int(raw["limit"]), float(raw["window"]))


def _encoded(request: dict[str, Any]) -> PlannedRequest:
    """Query into the path, cookies into a header, a form or JSON body into text."""
    path = request["path"]
    if request.get("params"):
        path += ("&" if "?" in path else "?") + urlencode({k: str(v) for k, v in request["params"].items()})
    headers = {str(k): str(v) for k, v in (request.get("headers") or {}).items()}
    if request.get("cookies"):
        headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in request["cookies"].items())
    body = None
    if request.get("files"):
        raise SpecError("operations.rate_limit.hit: a multipart body is not supported by the load generator")
    if "json" in request:
        body = json.dumps(request["json"])
        headers.setdefault("Content-Type", "application/json")
    elif "data" in request:
        body = urlencode({k: str(v) for k, v in request["data"].items()})
        headers.setdefault("Content-Type", "application/x-www-form-urlencoded")
    return PlannedRequest(request["method"], path, headers, body)


def build_plan(spec: TargetSpec, keys: list[str] | tuple[str, ...]) -> LoadPlan:
    """Render the spec's ``rate_limit.hit`` for each key; a spec without it cannot be load-tested."""
    from harness.spec_adapter import build_request

    where = spec.source or spec.name
    kind = spec.operations.rate_limit if spec.operations is not None else None
    if kind is None or kind.hit is None:
        raise SpecError(f"{where}: the load suite needs operations.rate_limit.hit (a YAML operation; "
                        "a Python adapter's rate_limit_hit cannot run inside locust)")
    if not keys:
        raise SpecError("a load plan needs at least one client key")
    hit = kind.hit
    requests = {key: _encoded(build_request(hit, {"key": key})) for key in keys}
    return LoadPlan(spec.name, tuple(keys), requests, tuple(hit.accepted), tuple(hit.limited or [429]),
                    int(kind.limit), float(kind.window))
