"""The load plan: the rate-limited request of a target, rendered once per client key.

The locust process must not need the harness (a worker on another machine may have
only locust and the locustfile), and rendering a spec request per hit would cost
CPU the load generator needs. So the harness renders ``rate_limit.hit`` for every
key up front, into plain method / path-with-query / headers / body, and hands that
plan to locust as JSON: a file for local processes, a message from the master for
remote workers. The plan also carries what the statuses mean (accepted, limited),
so locust counts a denial as a correct answer, and the limit and window, so the
records can be judged without the spec.

It also carries ``hold``: users hold a request that might still be under way at a
window boundary until ``hold`` seconds past it. The rate-limit checker can place a hit
in a window only when the whole request lies inside it (``TOLERANCE`` either side);
under steady load every user has a request in flight at each boundary, and those are
exactly the first hits of the new window, the ones a racy shared counter lets
through. Held, they all start together just past the boundary, surely inside the new
window: none is left uncounted, and the start of every window becomes the burst that
contends a shared counter hardest (as clients told to retry at the window's reset
do). The cost is about ``hold`` plus one latency per window, 1 % of a 10 s window.

``hold`` is derived from the checker's ``TOLERANCE``, imported from the checker itself so
the two cannot drift apart: the load package sits above the checkers (its scenario
judges with them; see the import layers in pyproject.toml), so this is no back reference.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from harness.checkers.rate_limit import TOLERANCE
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
    hold: float = 0.0  # seconds past each window boundary that users hold straddling requests; 0: no hold
    algorithm: dict[str, Any] | None = None  # the spec's rate-limit algorithm (long form), carried into each hit

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def write(self, path: Path) -> Path:
        path.write_text(json.dumps(self.to_dict()))
        return path

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> "LoadPlan":
        requests = {k: PlannedRequest(**v) for k, v in raw["requests"].items()}
        return cls(raw["target"], tuple(raw["keys"]), requests, tuple(raw["accepted"]), tuple(raw["limited"]),
                   int(raw["limit"]), float(raw["window"]), float(raw.get("hold", 0.0)), raw.get("algorithm"))


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


#: how far past a boundary held requests start: the checker's tolerance and a margin for timer slack
HOLD = TOLERANCE + 0.01


def build_plan(spec: TargetSpec, keys: list[str] | tuple[str, ...], hold: bool = True) -> LoadPlan:
    """Render the spec's ``rate_limit.hit`` for each key; a spec without it cannot be load-tested.

    ``hold=False`` lets requests straddle window boundaries (steady load, no burst at each
    window's start); the checker then counts the straddling hits as ambiguous.
    """
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
                    int(kind.limit), float(kind.window), HOLD if hold else 0.0, kind.algorithm_settings())
