"""What a target spec will make the harness do, in words: the output of ``harness check-spec``.

A QA engineer writing a spec wants to see it read back before a long run: which
image is built or used, what the app is given, which state kinds will be tested
through which requests, and which faults each kind is allowed not to survive.
"""

from __future__ import annotations

import re

from rich.tree import Tree

from harness.adapter import KIND_OPERATIONS
from harness.operations import HttpOperation
from harness.policy import FAULTS, STATE_KINDS
from harness.spec import TargetSpec

SECRET_NAME = re.compile(r"PASSWORD|SECRET|TOKEN|KEY", re.IGNORECASE)


def _statuses(op: HttpOperation) -> str:
    parts = [f"accepted {op.accepted}"]
    if op.rejected:
        parts.append("rejected " + ", ".join(f"{s} ({r})" if r != "rejected" else str(s)
                                             for s, r in op.rejected.items()))
    if op.limited:
        parts.append(f"limited {op.limited}")
    if op.extract:
        parts.append("extracts " + ", ".join(f"{k} from {e.describe()}" for k, e in op.extract.items()))
    return "; ".join(parts)


def _body(op: HttpOperation) -> str:
    for name, body in (("json", op.json_body), ("form", op.form), ("multipart", op.multipart)):
        if body is not None:
            return f" with {name} body"
    return ""


def spec_tree(spec: TargetSpec) -> Tree:
    """A tree of everything the spec says, secrets masked."""
    tree = Tree(f"[bold]{spec.name}[/] from {spec.source}")
    app = tree.add("app")
    if spec.app.build is not None:
        build = spec.app.build
        app.add(f"image {spec.app.image}, built from {build.context} ({build.dockerfile}"
                + (f", wheelhouse from {build.requirements})" if build.requirements else ")"))
    else:
        app.add(f"image {spec.app.image} (must exist locally or be pullable)")
    app.add(f"listens on {spec.app.port}; ready when GET {spec.app.readiness_path} answers 200 "
            f"(within {spec.app.ready_timeout:.0f}s)")
    if spec.app.command:
        app.add(f"command: {' '.join(spec.app.command)}")
    process = getattr(spec.app, "process", None)
    if process is not None:
        app.add(f"local backend: runs `{' '.join(process.command)}` in {process.cwd}")
    else:
        app.add("[dim]local backend: not available (no app.process)[/]")
    env = app.add("environment")
    for key, value in spec.app.env.items():
        env.add(f"{key}={'‹masked›' if SECRET_NAME.search(key) else value}")
    deps = tree.add("dependencies")
    if spec.dependencies.postgres is not None:
        deps.add(f"postgres ({spec.dependencies.postgres.image}, database {spec.dependencies.postgres.database})")
    if spec.dependencies.redis is not None:
        redis = spec.dependencies.redis
        deps.add(f"redis ({redis.image}, persistence {'on' if redis.persistence else 'off'})")
    for name, service in spec.dependencies.services.items():
        role = f", as {service.role}" if service.role else ""
        ready = (f"ready when `{' '.join(service.probe)}` succeeds" if service.probe
                 else f"ready when port {service.port} accepts" if service.port else "ready once running")
        deps.add(f"{name} ({service.image}{role}); {ready}")
    if spec.compose is not None:
        deps.add(f"[dim]from {spec.compose.file}, app service '{spec.compose.service}'[/]")
    if not deps.children:
        deps.add("none")

    adapter = spec.make_adapter()
    kinds = adapter.kinds()
    ops = tree.add(f"state kinds tested ({adapter.describe()})")
    for kind in STATE_KINDS:
        if kind not in kinds:
            ops.add(f"[dim]{kind}: absent, not tested[/]")
            continue
        settings = adapter.settings(kind)
        node = ops.add(f"[bold]{kind}[/]" + (f" {settings}" if settings else ""))
        declared = getattr(spec.operations, kind, None) if spec.operations is not None else None
        for name in KIND_OPERATIONS[kind]:
            op = getattr(declared, name, None) if declared is not None else None
            if isinstance(op, HttpOperation):
                node.add(f"{name}: {op.method} {op.path}{_body(op)}; {_statuses(op)}")
            elif adapter.supports(kind, name):
                node.add(f"{name}: by {adapter.describe()}")
            else:
                node.add(f"[dim]{name}: absent (skipped)[/]")
    policy = tree.add("policy: faults each kind need not survive (everything else must be survived)")
    exempt = spec.exempt
    for kind in kinds:
        policy.add(f"{kind}: {', '.join(sorted(exempt.get(kind, ()))) or 'none (must survive every fault)'}")
    policy.add(f"[dim]fault names: {', '.join(sorted(FAULTS))}[/]")
    return tree
