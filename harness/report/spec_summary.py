"""What a target spec will make the harness do, in words: the output of ``harness check-spec``.

A QA engineer writing a spec wants to see it read back before a long run: which
image is built or used, what the app is given, which state kinds will be tested
through which requests, and which faults each kind is allowed not to survive.

Everything is shown as it will be sent (headers, cookies, query and body of every
operation; the environment with its placeholders filled in as the chosen backend fills
them), and masked as every report is (``harness.redaction``): values of
secret-named keys, passwords in URLs, token shapes and the spec's own secrets become
stable pseudonyms, while plain settings (``SECRET_KEY_MODE: random``) stay readable.
"""

from __future__ import annotations

import json
from typing import Any

from rich.markup import escape
from rich.tree import Tree

from harness.operation_table import KIND_OPERATIONS
from harness.operations import HttpOperation, Step, HttpRequest
from harness.policy import FAULTS
from harness.redaction import Redactor, is_secret_key, is_secret_name, pseudonym
from harness.spec import spec_secrets
from harness.spec import TargetSpec, env_placeholders, template_fields
from harness.spec_adapter import MAX_REDIRECTS, make_adapter
from harness.vocabulary import BackendName, StateKind

#: What a value only known once a replica starts looks like.
AT_START = "‹picked at start›"


def placeholder_values(spec: TargetSpec, backend: str = BackendName.DOCKER) -> dict[str, dict[str, str]]:
    """What ``{name.field}`` placeholders become on a backend, as the backends fill them in
    (``harness.backends.docker_addresses``; the local backend runs every dependency on
    127.0.0.1, on a port picked when it starts)."""
    if backend in BackendName.from_images():
        from harness.backends import docker_addresses

        values = docker_addresses(spec)
        if spec.app.volumes:
            values["volume"] = {v.name: v.path for v in spec.app.volumes}
        return values
    values = {}
    for name, fields in env_placeholders(spec).items():
        values[name] = {f: "127.0.0.1" if f == "host" else AT_START for f in fields}
    if (pg := spec.dependencies.postgres) is not None:
        values["postgres"].update(user=pg.user, password=pg.password, database=pg.database,
                                  url=f"postgresql://{pg.user}:{pg.password}@127.0.0.1:{AT_START}/{pg.database}")
    if spec.dependencies.redis is not None:
        values["redis"]["url"] = f"redis://127.0.0.1:{AT_START}/0"
    if spec.app.volumes:
        values["volume"] = {v.name: f"‹a folder of the deployment›/{v.name}" for v in spec.app.volumes}
    return values


def expand(template: str, values: dict[str, dict[str, str]]) -> str:
    """A template with every ``{name.field}`` it names filled in; unknown ones are left as they are."""
    out = template
    for name in template_fields(template):
        head, _, field = name.partition(".")
        if field and field in values.get(head, {}):
            out = out.replace("{" + name + "}", values[head][field])
    return out


def _template_only(value: str) -> bool:
    """A value that is placeholders and plain words only (``Bearer {token}``): nothing secret to hide."""
    rest = value
    for name in template_fields(value) if "{" in value else ():
        rest = rest.replace("{" + name + "}", "")
    return not rest.strip() or rest.replace("-", " ").replace("_", " ").replace(" ", "").isalpha() and len(rest) < 16


def masked(value: Any, redactor: Redactor, key: str | None = None, secret: bool = False) -> Any:
    """``value`` as check-spec shows it: a string under a secret-named key (a header, a cookie, a
    body field) becomes its pseudonym unless it is only a template; any other string is redacted
    by value (known secrets, passwords in URLs, token shapes)."""
    if isinstance(value, str):
        if (secret or (key is not None and is_secret_key(key))) and value and not _template_only(value):
            return pseudonym(value)
        return redactor.text(value)
    if isinstance(value, dict):
        return {k: masked(v, redactor, str(k)) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [masked(v, redactor, key) for v in value]
    return value


def _pairs(mapping: dict[str, Any], redactor: Redactor, sep: str = ": ") -> str:
    return ", ".join(f"{k}{sep}{masked(v, redactor, k)}" for k, v in mapping.items())


def _request(op: HttpRequest, redactor: Redactor) -> list[str]:
    """Every part of the request an operation sends, one line each, masked."""
    lines = []
    if op.query:
        lines.append("query: " + _pairs(op.query, redactor, "="))
    if op.headers:
        lines.append("headers: " + _pairs(op.headers, redactor))
    if op.cookies:
        lines.append("cookies: " + _pairs(op.cookies, redactor, "="))
    for name, body in (("json", op.json_body), ("form", op.form), ("multipart", op.multipart)):
        if body is not None:
            lines.append(f"{name} body: {json.dumps(masked(body, redactor), ensure_ascii=False)}")
    return lines


def _env_lines(env: dict[str, str], values: dict[str, dict[str, str]], redactor: Redactor) -> list[str]:
    """``KEY=value`` per variable, placeholders filled in (and the template shown beside them)."""
    lines = []
    for key, template in env.items():
        value = expand(template, values)
        shown = pseudonym(value) if is_secret_name(key) and value else redactor.text(value)
        lines.append(f"{key}={shown}" + (f"  (from {template})" if value != template else ""))
    return lines


def _statuses(op: HttpOperation) -> str:
    """How the answer reads: statuses and header rules, redirects, extractions."""
    parts = [f"accepted [{', '.join(r.describe() for r in op.rules())}]"]
    if op.rejected:
        parts.append("rejected " + ", ".join(r.describe() + (f" ({r.reason})" if r.reason not in (None, "rejected") else "")
                                             for r in op.rejected))
    if any(r.header for r in (*op.rules(), *op.rejected)):
        parts.append("rules with headers decide first")
    if op.limited:
        parts.append(f"limited {op.limited}")
    parts.append(_redirects(op))
    if op.extract:
        parts.append(_extracts(op))
    return "; ".join(parts)


def _redirects(request: HttpRequest) -> str:
    return f"redirects followed (at most {MAX_REDIRECTS}, same origin)" if request.follow_redirects \
        else "redirects not followed"


def _extracts(request: HttpRequest) -> str:
    return "extracts " + ", ".join(f"{k} from {e.describe()}" for k, e in request.extract.items())


def _step(i: int, step: Step, redactor: Redactor) -> tuple[str, list[str]]:
    """A setup step in one line (what it sends, what it must get, what it reads), and its request's parts."""
    wanted = ", ".join(r.describe() for r in step.rules()) if step.accepted is not None else "any 2xx or 3xx"
    parts = [f"accepted [{wanted}]", _redirects(step)] + ([_extracts(step)] if step.extract else [])
    line = f"before {i + 1}: {step.method} {masked(step.path, redactor)}{_body(step)}; {'; '.join(parts)}"
    return line, _request(step, redactor)


def _body(op: HttpRequest) -> str:
    for name, body in (("json", op.json_body), ("form", op.form), ("multipart", op.multipart)):
        if body is not None:
            return f" with {name} body"
    return ""


def image_warnings(spec: TargetSpec) -> dict[str, str]:
    """Images of the spec that are neither present locally nor buildable by ``harness images``.

    Without a Docker engine presence cannot be checked: an image nobody can build is then
    still named, since no engine here will have it either.
    """
    from harness.images import recipes_for

    buildable = {r.name for r in recipes_for([spec])}
    deps = spec.dependencies
    wanted = [spec.app.image, *(d.image for d in (deps.postgres, deps.redis) if d is not None),
              *(s.image for s in deps.services.values())]
    missing = [image for image in dict.fromkeys(wanted) if image is not None and image not in buildable]
    if not missing:
        return {}
    try:
        from harness.backends import docker_client
        from harness.errors import EngineUnavailable

        client = docker_client()
    except EngineUnavailable:
        return {image: "not buildable by `harness images` (no build section), and no Docker engine answers "
                "to say whether it is present" for image in missing}
    import docker.errors

    found: dict[str, str] = {}
    for image in missing:
        try:
            client.images.get(image)
        except docker.errors.ImageNotFound:
            found[image] = ("not present locally and not buildable by `harness images` (no build section); "
                            "a run will try to pull it")
        except docker.errors.DockerException:
            continue
    return found


def _sent(node: Tree, label: str, op: HttpOperation, redactor: Redactor, reading: str | None = None) -> Tree:
    """One request (an operation, or one of the invariants'), as sent: its line, its setup steps, its parts."""
    sent = node.add(escape(f"{label}: {op.method} {masked(op.path, redactor)}{_body(op)}; "
                           f"{reading or _statuses(op)}"))
    for i, step in enumerate(op.before):
        line, lines = _step(i, step, redactor)
        before = sent.add(escape(line))
        for part in lines:
            before.add(escape(part))
    for line in _request(op, redactor):
        sent.add(escape(line))
    return sent


def _invariants(spec: TargetSpec, tree: Tree, redactor: Redactor) -> None:
    """The spec's own rules as they will be probed: setup requests, exercises, probes, expectations in words."""
    invariants = spec.invariants
    if invariants is None:
        tree.add("[dim]invariants: none (the app's own rules are not checked)[/]")
        return
    node = tree.add(f"invariants: {len(invariants.rules)} rule(s), probed on every replica before, during and "
                    "after the faults of every scenario; {run} is unique per scenario run")
    setup = node.add("setup, once before the scenario's writes, in order, on the first replica"
                     + ("" if invariants.setup else ": none"))
    for i, op in enumerate(invariants.setup):
        _sent(setup, f"{i + 1}", op, redactor)
    for rule in invariants.rules:
        shown = node.add(escape(f"rule '{rule.name}': expects {rule.expect.describe()}"))
        when = ("" if rule.probes == "all" else
                "only before the exercise starts and after the heal (probes: quiet); ")
        _sent(shown, "probe", rule.probe, redactor, f"{when}every answer below 500 is judged (a 5xx or no answer "
              f"is no evidence either way); {_redirects(rule.probe)}")
        if rule.exercise is not None:
            ex = rule.exercise
            where = ("each to another replica" if ex.replicas is None
                     else f"only to replica(s) {', '.join(str(i) for i in ex.replicas)}")
            until = "until the final read" if ex.until == "final-read" else "until the first fault begins"
            _sent(shown, f"exercise ({ex.concurrency} at once, {where}, every {ex.every:g}s while the scenario "
                  f"writes, {until})", ex.request, redactor)


def spec_tree(spec: TargetSpec, backend: str = BackendName.DOCKER, images: dict[str, str] | None = None) -> Tree:
    """A tree of everything the spec says, as sent on ``backend``, secrets masked.

    ``images``: a warning per image that is neither present nor buildable, by image name.
    """
    values = placeholder_values(spec, backend)
    redactor = Redactor(spec_secrets(spec))
    for fields in values.values():  # what the placeholders become is as secret as what they name
        redactor.add(*(v for k, v in fields.items() if is_secret_name(k)))
    tree = Tree(f"[bold]{escape(spec.name)}[/] from {spec.source}")
    app = tree.add("app")
    if spec.app.build is not None:
        build = spec.app.build
        app.add(f"image {spec.app.image}, built from {build.context} ({build.dockerfile}"
                + (f", wheelhouse from {build.requirements})" if build.requirements else ")"))
    elif spec.app.image is None:
        app.add("no image: only --backend attach runs it (an environment that already runs)")
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
    for image, warning in (images or {}).items():
        app.add(f"[yellow]warning:[/] image {escape(image)}: {escape(warning)}")
    env = app.add(f"environment (as on the {backend} backend)")
    for line in _env_lines(spec.app.env, values, redactor):
        env.add(escape(line))
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
        node = deps.add(f"{name} ({service.image}{role}); {ready}")
        for line in _env_lines(service.environment, {}, redactor):
            node.add(escape(line))
    if spec.compose is not None:
        deps.add(f"[dim]from {spec.compose.file}, app service '{spec.compose.service}'[/]")
    if not deps.children:
        deps.add("none")

    adapter = make_adapter(spec)
    kinds = adapter.kinds()
    ops = tree.add(f"state kinds tested ({adapter.describe()})")
    for kind in StateKind:
        if kind not in kinds:
            ops.add(f"[dim]{kind}: absent, not tested[/]")
            continue
        settings = adapter.settings(kind)
        node = ops.add(f"[bold]{kind}[/]" + (f" {settings}" if settings else ""))
        declared = getattr(spec.operations, kind, None) if spec.operations is not None else None
        for name in KIND_OPERATIONS[kind]:
            op = getattr(declared, name, None) if declared is not None else None
            if isinstance(op, HttpOperation):
                _sent(node, name, op, redactor)
            elif adapter.supports(kind, name):
                node.add(f"{name}: by {adapter.describe()}")
            else:
                node.add(f"[dim]{name}: absent (skipped)[/]")
    _invariants(spec, tree, redactor)
    policy = tree.add("policy: faults each kind need not survive (everything else must be survived)")
    exempt = spec.exempt
    for kind in kinds:
        policy.add(f"{kind}: {', '.join(sorted(exempt.get(kind, ()))) or 'none (must survive every fault)'}")
    policy.add(f"[dim]fault names: {', '.join(sorted(FAULTS))}[/]")
    return tree
