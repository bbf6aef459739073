"""Compose targets: read a docker-compose.yml into the parts of a target spec.

A team that already runs its app with Compose names the file and the service that
is the app; the other services become the deployment's dependencies. The harness
then deploys it the usual way (its own private network, every service reachable by
its service name, the app scaled to N replicas), so scaling and every fault verb
work on the app service as on any replica, and dependency faults work on the other
services by name.

Only what matters for state is taken over: image or build, environment, command,
the app's port, healthchecks (a dependency's readiness probe), and volumes, since
where data lives decides what survives. A named volume (declared under the top-level
``volumes:``) becomes a volume of the deployment shared by every replica, as
``docker compose up --scale`` shares it; an anonymous one (``/path`` alone, which
compose carries over to a recreated container) becomes one volume per replica; a
read-only bind mount (``./conf:/etc/app:ro``) mounts the host's file or folder
read-only; a read-write bind mount of a folder (``./data:/var/lib/app``) becomes a
shared volume that starts as a copy of it, so deployments never write into the host's
folder, nor share what they write. A tmpfs, an external volume or a volume driver
are refused with the field named: they cannot be honoured here. Keys about how networks are wired or how
the engine restarts a container (networks, restart) are left out on purpose: a
deployment is private and thrown away, and the harness makes the faults. Anything
else is refused with the key named, rather than silently ignored.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Mapping

import yaml

from harness.errors import SpecError

#: keys taken over from a service
USED = {"image", "build", "environment", "command", "ports", "expose", "healthcheck", "volumes"}
#: keys left out on purpose (see the module docstring)
IGNORED = {"networks", "restart", "depends_on", "container_name", "labels", "logging", "stop_signal",
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


#: a top-level named volume may say only these (the harness makes and names each deployment's own)
VOLUME_KEYS = {"labels", "name"}
#: keys of a service volume in the long syntax
MOUNT_KEYS = {"type", "source", "target", "read_only"}


def _declared_volumes(doc: dict[str, Any], file: Path) -> set[str]:
    """Names under the top-level ``volumes:``; one that would outlive or escape a deployment is an error."""
    declared = doc.get("volumes") or {}
    if not isinstance(declared, dict):
        raise SpecError(f"{file}: volumes: expected a mapping of volume names, got {type(declared).__name__}")
    for name, body in declared.items():
        unknown = set(body or {}) - VOLUME_KEYS
        if unknown:
            raise SpecError(f"{file}: volumes.{name}: unsupported key(s) {', '.join(sorted(unknown))}; every "
                            "deployment gets its own local volume, removed at its end (allowed: "
                            f"{', '.join(sorted(VOLUME_KEYS))})")
    return {str(n) for n in declared}


def _mount(entry: Any, where: str) -> tuple[str, str | None, str, bool]:
    """(type, source, target, read_only) of one ``volumes`` entry, short or long syntax."""
    if isinstance(entry, dict):
        unknown = set(entry) - MOUNT_KEYS
        if unknown:
            raise SpecError(f"{where}: unsupported key(s) {', '.join(sorted(unknown))} (supported: "
                            f"{', '.join(sorted(MOUNT_KEYS))})")
        if not isinstance(entry.get("target"), str):
            raise SpecError(f"{where}.target: expected the path inside the container")
        source = entry.get("source")
        kind = str(entry.get("type") or ("volume" if source is None or "/" not in str(source) else "bind"))
        return kind, None if source is None else str(source), entry["target"], bool(entry.get("read_only"))
    if not isinstance(entry, str):
        raise SpecError(f"{where}: expected 'SOURCE:TARGET[:MODE]' or a mapping, got {entry!r}")
    parts = entry.split(":")
    if len(parts) == 1:
        return "volume", None, parts[0], False
    if len(parts) > 3:
        raise SpecError(f"{where}: expected 'SOURCE:TARGET[:MODE]', got {entry!r}")
    source, target = parts[0], parts[1]
    modes = set(parts[2].split(",")) if len(parts) == 3 else set()
    if modes - {"ro", "rw", "z", "Z"}:
        raise SpecError(f"{where}: unsupported mode {parts[2]!r} in {entry!r} (expected ro or rw)")
    kind = "bind" if source.startswith((".", "/", "~")) else "volume"
    return kind, source, target, "ro" in modes


def _volumes(body: dict[str, Any], name: str, is_app: bool, declared: set[str], base: Path,
             where: str) -> list[dict[str, Any]]:
    """A service's ``volumes`` as volume entries of a target spec (see the module docstring)."""
    entries = body.get("volumes") or []
    if not isinstance(entries, list):
        raise SpecError(f"{where}.volumes: expected a list, got {type(entries).__name__}")
    volumes = []
    for i, entry in enumerate(entries):
        at = f"{where}.volumes[{i}]"
        kind, source, target, read_only = _mount(entry, at)
        if kind == "bind":
            host = (base / Path(os.path.expanduser(str(source)))).resolve()
            if not read_only and not host.is_dir():
                raise SpecError(f"{at}: a read-write bind mount of {source}: expected a folder (it becomes a "
                                f"volume that starts as a copy of it); {host} is "
                                f"{'a file: mount it read-only (:ro)' if host.exists() else 'not there'}")
            volumes.append({"name": f"{name}-bind-{i}", "path": target, "source": str(host), "read_only": read_only})
        elif kind != "volume":
            raise SpecError(f"{at}: type {kind!r} is not supported (supported: volume, read-only bind)")
        elif source is None:  # anonymous: compose carries it over to the recreated container
            volumes.append({"name": f"{name}-anonymous-{i}", "path": target,
                            "scope": "replica" if is_app else "shared", "read_only": read_only})
        elif source not in declared:
            raise SpecError(f"{at}: volume {source!r} is not declared under the top-level 'volumes:' "
                            f"(declared: {', '.join(sorted(declared)) or 'none'})")
        else:
            volumes.append({"name": source, "path": target, "read_only": read_only})
    return volumes


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
    declared = _declared_volumes(doc, file)
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
        if volumes := _volumes(body, name, name == service, declared, base, where):
            part["volumes"] = volumes
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
