"""Compose targets: read a docker-compose.yml into the parts of a target spec.

A team that already runs its app with Compose names the file and the service that
is the app; the other services become the deployment's dependencies. The harness
then deploys it the usual way (its own private network, every service reachable by
its service name, the app scaled to N replicas), so scaling and every fault verb
work on the app service as on any replica, and dependency faults work on the other
services by name.

Only what matters for state is taken over: image or build, environment, command,
the app's port, healthchecks (a dependency's readiness probe). Keys about where
data lives on the host or how networks are wired (volumes, networks, restart) are
left out on purpose: a deployment is private and thrown away. Anything else is
refused with the key named, rather than silently ignored.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Mapping

import yaml

from harness.errors import SpecError

#: keys taken over from a service
USED = {"image", "build", "environment", "command", "ports", "expose", "healthcheck"}
#: keys left out on purpose (see the module docstring)
IGNORED = {"volumes", "networks", "restart", "depends_on", "container_name", "labels", "logging", "stop_signal",
           "stop_grace_period", "deploy", "profiles", "init", "tty", "stdin_open"}


VARIABLE = re.compile(r"\$(?:\{(\w+)(?::?-([^}]*))?\}|(\w+))|\$\$")


def interpolate(text: str, environ: Mapping[str, str] = os.environ) -> str:
    """Compose's variable substitution: ``${VAR}``, ``${VAR:-default}``, ``$VAR``, and ``$$`` for a dollar."""

    def value(m: re.Match[str]) -> str:
        if m.group(0) == "$$":
            return "$"
        name = m.group(1) or m.group(3)
        return environ.get(name) or (m.group(2) or "")

    return VARIABLE.sub(value, text)


def _env(service: dict[str, Any], where: str) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        pairs = [item.split("=", 1) for item in env]
        if any(len(p) != 2 for p in pairs):
            raise SpecError(f"{where}.environment: expected KEY=VALUE entries, got {env!r}")
        return {k: v for k, v in pairs}
    if isinstance(env, dict):
        return {str(k): "" if v is None else str(v) for k, v in env.items()}
    raise SpecError(f"{where}.environment: expected a mapping or a list of KEY=VALUE, got {type(env).__name__}")


def _command(value: Any) -> list[str] | None:
    if value is None:
        return None
    return value.split() if isinstance(value, str) else [str(v) for v in value]


def _port(service: dict[str, Any], where: str) -> int | None:
    """The container port: the target side of the first ``ports`` entry, or the first ``expose``."""
    for entry in service.get("ports") or []:
        spec = str(entry.get("target") if isinstance(entry, dict) else entry).split("/")[0]
        return int(spec.rsplit(":", 1)[-1])
    for entry in service.get("expose") or []:
        return int(str(entry).split("/")[0])
    return None


def _build(service: dict[str, Any], base: Path, where: str) -> dict[str, Any] | None:
    build = service.get("build")
    if build is None:
        return None
    if isinstance(build, str):
        build = {"context": build}
    if not isinstance(build, dict) or "context" not in build:
        raise SpecError(f"{where}.build: expected a folder or {{context, dockerfile}}, got {build!r}")
    out = {"context": str((base / build["context"]).resolve())}
    if "dockerfile" in build:
        out["dockerfile"] = build["dockerfile"]
    return out


def _probe(service: dict[str, Any]) -> list[str] | None:
    """A healthcheck's test as an exec probe (``CMD`` form, or ``CMD-SHELL`` through sh -c)."""
    test = (service.get("healthcheck") or {}).get("test")
    if not test:
        return None
    if isinstance(test, str):
        return ["sh", "-c", test]
    if test[0] == "CMD-SHELL":
        return ["sh", "-c", " ".join(test[1:])]
    if test[0] == "NONE":
        return None
    return list(test[1:]) if test[0] == "CMD" else list(test)


def read_compose(file: Path, service: str, roles: dict[str, str]) -> dict[str, Any]:
    """The ``app`` and ``dependencies.services`` parts of a raw spec, from a compose file.

    ``roles`` maps a dependency role (``postgres``, ``redis``) to a service name, so
    faults and env placeholders that name the role reach that service.
    """
    if not file.is_file():
        raise SpecError(f"field 'compose.file': {file} does not exist")
    try:
        doc = yaml.safe_load(interpolate(file.read_text())) or {}
    except yaml.YAMLError as exc:
        raise SpecError(f"{file}: not valid YAML: {exc}") from exc
    services = doc.get("services")
    if not isinstance(services, dict) or not services:
        raise SpecError(f"{file}: expected a 'services' mapping")
    if service not in services:
        raise SpecError(f"field 'compose.service': {file} has no service {service!r} (it has: {', '.join(services)})")
    for role, name in roles.items():
        if name not in services or name == service:
            raise SpecError(f"field 'compose.{role}': {name!r} is not a dependency service of {file} "
                            f"(it has: {', '.join(s for s in services if s != service)})")
    role_of = {name: role for role, name in roles.items()}
    base = file.parent
    app: dict[str, Any] = {}
    deps: dict[str, Any] = {}
    for name, body in services.items():
        where = f"{file}: services.{name}"
        body = body or {}
        unknown = set(body) - USED - IGNORED
        if unknown:
            raise SpecError(f"{where}: unsupported key(s) {', '.join(sorted(unknown))}; the harness uses "
                            f"{', '.join(sorted(USED))} and leaves out {', '.join(sorted(IGNORED))}")
        image = body.get("image")
        build = _build(body, base, where)
        if image is None and build is None:
            raise SpecError(f"{where}: needs 'image' or 'build'")
        part: dict[str, Any] = {"image": image or f"harness-compose-{file.parent.name}-{name}:latest"}
        if build is not None:
            part["build"] = build
        if body.get("command") is not None:
            part["command"] = _command(body["command"])
        env = _env(body, where)
        if name == service:
            part["env"] = env
            if (port := _port(body, where)) is not None:
                part["port"] = port
            app = part
        else:
            part["environment"] = env
            part["probe"] = _probe(body)
            part["port"] = _port(body, where)
            if name in role_of:
                part["role"] = role_of[name]
            deps[name] = part
    return {"app": app, "services": deps}
