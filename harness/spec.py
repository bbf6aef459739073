"""The target spec: what app to run, what it needs, and how its operations are performed.

A spec is YAML. ``extends: other.yaml`` (relative to the file) deep-merges the other
file underneath, so variants of one app (its storage modes, say) stay one line each; a
mapping that names another variant (``algorithm: {name: token-bucket}``) replaces the
inherited one instead of merging with it.
Strings in ``app.env`` may name dependency addresses with placeholders such as
``{postgres.url}`` or ``{redis.host}``; they are filled in at deploy time.
The ``operations`` section (``harness.operations``) says which HTTP request performs
each abstract operation; ``adapter`` names a Python adapter instead, for flows YAML
cannot express. ``policy`` overrides which faults a state kind need not survive.
Relative paths (``extends``, ``app.build.context``, ``app.process.cwd``, ``adapter``) are relative to
the file that names them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from harness.attach_spec import AttachSpec
from harness.errors import SpecError
from harness.invariants_spec import Invariants
from harness.operations import Operations
from harness.policy import check_entry, effective
from harness.vocabulary import StateKind


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class BuildSpec(_Strict):
    """Build the app's image from a folder, on top of the harness's offline Debian base.

    The Dockerfile gets the base image as build argument ``BASE`` (``FROM ${BASE}``).
    With ``requirements``, the harness downloads those Python wheels on the host and
    puts them in the build context as ``wheelhouse/`` (``pip install --no-index
    --find-links wheelhouse``), so the build needs no package index.
    """

    context: str = Field(description="folder with the Dockerfile, relative to the spec file")
    dockerfile: str = Field("Dockerfile", description="Dockerfile, relative to the context")
    requirements: str | None = Field(None, description="requirements.txt for the wheelhouse, relative to the context")


class ProcessSpec(_Strict):
    """Run the app as a local process (the local backend) instead of a container.

    Each replica runs the command in its own fresh working directory (``{work_dir}``;
    a redeploy gives it a new one), in its own process group, listening on a free
    port on 127.0.0.1 (``{port}``). ``app.env`` applies too, then this ``env`` on top.
    """

    command: list[str] = Field(min_length=1, description="command line; placeholders {port}, {app_dir}, "
                               "{work_dir}, {replica}; a first word 'python' is the harness's own interpreter")
    cwd: str = Field(".", description="the app's folder, relative to the spec file ({app_dir}); a relative "
                     "program path in the command is taken from it")
    env: dict[str, str] = Field(default_factory=dict, description="environment added to app.env; placeholders "
                                "as in the command, the dependency addresses, and {volume.NAME} (the folder of "
                                "each of app.volumes, which a redeploy keeps)")
    preload: list[str] = Field(default_factory=list, description="Python modules to import once, in a fork "
                               "server from which every replica is forked (the command must start with python): "
                               "N replicas then start nearly as fast as one. Only modules that read no per-replica "
                               "settings when imported (libraries, the app's routes when settings are bound later, as "
                               "in the reference app's `refapp/routes.py`; the app's folder is importable); the "
                               "command's own module loads in each replica")


VolumeScope = Literal["shared", "replica"]
#: a volume's name: a placeholder word ({volume.NAME}) and part of a Docker volume name
VOLUME_NAME = r"^[A-Za-z0-9][A-Za-z0-9_-]*$"


class VolumeSpec(_Strict):
    """Storage mounted into the app's containers that outlives them, as a real deployment's volumes do.

    ``shared``: one volume for every replica of the deployment (a Docker named volume; a compose
    named volume). ``replica``: one per replica, kept across that replica's crash, restart and
    redeploy, and across scaling in and out again (a Kubernetes PersistentVolumeClaim of a
    StatefulSet). Every deployment gets its own volumes, created with it and removed at its end:
    nothing is shared between deployments. The container's writable layer is not a volume: a
    redeploy discards it. Volumes of the same name (the app's and a service's) are one volume,
    as in compose. On the local backend each volume is a folder of the deployment;
    ``{volume.NAME}`` in ``app.env`` or ``app.process.env`` is its path there, and the mount path
    on docker, so one spec line serves both backends.

    A ``source`` (a host folder; a compose bind mount) gives a volume its first content: a
    copy, so the app never writes into the host's folder and deployments never share it.
    With ``read_only`` the host's file or folder is mounted as it is, read-only, instead.
    """

    name: str = Field(pattern=VOLUME_NAME, description="the volume's name: letters, digits, '_' and '-'; "
                      "{volume.NAME} in the environment is where it is mounted")
    path: str = Field(description="absolute mount path inside the container, e.g. /var/lib/app")
    scope: VolumeScope = Field("shared", description="shared: one volume for every replica; replica: one per "
                               "replica, surviving its crash, restart and redeploy (a PersistentVolumeClaim)")
    source: str | None = Field(None, description="a host folder, relative to the spec file, copied into the "
                               "volume when it is created (a compose bind mount); with read_only, a host file or "
                               "folder mounted as it is instead")
    read_only: bool = Field(False, description="mount read-only (':ro' in compose)")

    @field_validator("path")
    @classmethod
    def _absolute(cls, path: str) -> str:
        if not path.startswith("/") or path.rstrip("/") == "":
            raise ValueError("expected an absolute path inside the container other than '/', e.g. /var/lib/app")
        if any(part in (".", "..") for part in path.split("/")):
            raise ValueError("expected a path without '.' or '..' parts")
        return path.rstrip("/")

    @model_validator(mode="after")
    def _bound_is_shared(self) -> "VolumeSpec":
        if self.source is not None and self.read_only and self.scope != "shared":
            raise ValueError("a read-only 'source' is the host's own file or folder, the same for every "
                             "replica: scope must be 'shared'")
        return self


def _distinct_volumes(volumes: list[VolumeSpec]) -> list[VolumeSpec]:
    """No name or mount path twice: each would hide the other."""
    for field in ("name", "path"):
        seen: dict[str, int] = {}
        for i, volume in enumerate(volumes):
            value = getattr(volume, field)
            if value in seen:
                raise ValueError(f"volumes[{i}].{field} {value!r} is used twice (also volumes[{seen[value]}]); "
                                 f"expected a different {field} for each volume")
            seen[value] = i
    return volumes


class AppSpec(_Strict):
    """The app: how to get its image and run one replica of it."""

    image: str | None = Field(None, description="image name of the app: pulled/present, or the tag given to the "
                              "built image. Required by the backends that deploy the app from it (docker, swarm); "
                              "a spec only ever attached to an environment that already runs may leave it out")
    build: BuildSpec | None = Field(None, description="build the image from a folder instead of expecting it")
    port: int = Field(8000, ge=1, le=65535, description="port the app listens on inside its container")
    readiness_path: str = Field("/readyz", pattern=r"^/", description="HTTP path that answers 200 when ready")
    command: list[str] | None = Field(None, description="overrides the image's command")
    env: dict[str, str] = Field(default_factory=dict, description="environment; placeholders {postgres.url}, "
                                "{postgres.host}, {postgres.port}, {postgres.user}, {postgres.password}, "
                                "{postgres.database}, {redis.url}, {redis.host}, {redis.port}")
    ready_timeout: float = Field(30.0, gt=0, description="seconds to wait for readiness")
    stop_timeout: int = Field(10, ge=0, description="seconds between SIGTERM and SIGKILL on a graceful stop")
    process: ProcessSpec | None = Field(None, description="how to run the app as a local process "
                                        "(the local backend, for machines without Docker)")
    volumes: list[VolumeSpec] = Field(default_factory=list, description="storage mounted into every replica that "
                                      "outlives it: shared by all replicas, or one per replica; see VolumeSpec")

    @field_validator("volumes")
    @classmethod
    def _volumes_distinct(cls, volumes: list[VolumeSpec]) -> list[VolumeSpec]:
        return _distinct_volumes(volumes)

    @model_validator(mode="after")
    def _built_image_named(self) -> "AppSpec":
        if self.build is not None and self.image is None:
            raise ValueError("'build' needs 'image': the tag given to the built image")
        return self


class PostgresSpec(_Strict):
    """A PostgreSQL server on the deployment's private network, reachable as host ``postgres``."""

    image: str = Field("harness-postgres:latest", description="image (the harness builds harness-postgres offline)")
    user: str = Field("app", description="role the app connects as")
    password: str = Field("app", description="its password (redacted in every report)")
    database: str = Field("app", description="database created for the app")


class RedisSpec(_Strict):
    """A Redis server on the deployment's private network, reachable as host ``redis``."""

    image: str = Field("harness-redis:latest", description="image (the harness builds harness-redis offline)")
    persistence: bool = Field(True, description="append-only file with fsync on every write")


class ServiceSpec(_Strict):
    """Any other service the app needs, reachable by its name; compose targets get one per service."""

    image: str = Field(description="image name (or the tag given to the built image)")
    build: BuildSpec | None = Field(None, description="build the image from a folder")
    command: list[str] | None = Field(None, description="overrides the image's command")
    environment: dict[str, str] = Field(default_factory=dict)
    port: int | None = Field(None, ge=1, le=65535, description="port it listens on; without a probe, ready "
                             "once this port accepts connections")
    probe: list[str] | None = Field(None, description="command run in the container; exit 0 means ready "
                                    "(a compose healthcheck becomes this)")
    role: Literal["postgres", "redis"] | None = Field(
        None, description="lets faults and env placeholders name this service by role (e.g. 'postgres')")
    volumes: list[VolumeSpec] = Field(default_factory=list, description="volumes mounted into it (a compose "
                                      "service's volumes), kept across its restarts; scope 'shared' only")

    @field_validator("volumes")
    @classmethod
    def _one_container(cls, volumes: list[VolumeSpec]) -> list[VolumeSpec]:
        for i, volume in enumerate(volumes):
            if volume.scope != "shared":
                raise ValueError(f"volumes[{i}].scope {volume.scope!r}: a service runs one container, "
                                 "expected 'shared'")
        return _distinct_volumes(volumes)


class Dependencies(_Strict):
    """Services the app needs; each is started before the replicas and can be faulted."""

    postgres: PostgresSpec | None = Field(None, description="give {} for the defaults")
    redis: RedisSpec | None = Field(None, description="give {} for the defaults")
    services: dict[str, ServiceSpec] = Field(default_factory=dict, description="other services, by name")


class ComposeSpec(_Strict):
    """Take the app and its dependencies from a docker-compose.yml instead of ``app``/``dependencies``."""

    file: str = Field(description="the compose file, relative to the spec file")
    service: str = Field(description="the service that is the app (scaled to N replicas, faulted)")
    postgres: str | None = Field(None, description="the service that is the app's PostgreSQL, if any")
    redis: str | None = Field(None, description="the service that is the app's Redis, if any")


class KindPolicy(_Strict):
    """Which faults one state kind need not survive; a violation they alone explain becomes a note."""

    exempt: list[str] = Field(default_factory=list,
                              description="faults this state kind need not survive, e.g. dependency-restart:redis")

    @field_validator("exempt")
    @classmethod
    def _known_faults(cls, entries: list[str]) -> list[str]:
        return [check_entry(e) for e in entries]


class TargetSpec(_Strict):
    """The top level of a target spec."""

    name: str = Field(description="the target's name in reports")
    app: AppSpec = Field(description="the app: image, port, readiness, environment")
    dependencies: Dependencies = Field(default_factory=Dependencies, description="postgres, redis, other services")
    compose: ComposeSpec | None = Field(None, description="app and dependencies from a compose file; 'app' "
                                        "fields given too (e.g. readiness_path) override the compose ones")
    operations: Operations | None = Field(None, description="the HTTP request behind each abstract operation")
    adapter: str | None = Field(None, description="Python adapter 'file.py:Class' or 'module:Class' (overrides operations)")
    policy: dict[StateKind, KindPolicy] = Field(default_factory=dict, description="per state kind: exempt faults")
    invariants: Invariants | None = Field(None, description="the app's own rules: setup requests, then named rules "
                                          "(a probe and an expectation) checked on every replica before, during and "
                                          "after the faults of every scenario. Absent: none")
    attach: AttachSpec | None = Field(None, description="an environment that already runs, for --backend attach: "
                                      "the replicas' URLs and a command per fault verb (or give them in a file of "
                                      "their own: --attach FILE)")
    source: str | None = Field(None, exclude=True, description="file the spec was read from")

    @model_validator(mode="after")
    def _has_operations(self) -> "TargetSpec":
        if self.operations is None and self.adapter is None:
            raise ValueError("a target needs 'operations' (HTTP requests per state kind) or an 'adapter'")
        return self

    def has_dependency(self, name: str) -> bool:
        """Whether a fault can name this dependency: postgres, redis, or a service by name or role."""
        deps = self.dependencies
        if getattr(deps, name, None) is not None and name in ("postgres", "redis"):
            return True
        return any(name in (key, service.role) for key, service in deps.services.items())

    @property
    def exempt(self) -> dict[str, frozenset[str]]:
        """The effective policy: defaults with this target's overrides."""
        return effective({kind: p.exempt for kind, p in self.policy.items()})

    def with_env(self, **env: str) -> "TargetSpec":
        """A copy with extra app environment, e.g. a bad setting for a negative test."""
        app = self.app.model_copy(update={"env": {**self.app.env, **env}})
        return self.model_copy(update={"app": app})


def _deep_merge(base: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    """``top`` over ``base``, mappings merged key by key; except that a mapping naming another
    variant than the one it overrides (``algorithm: {name: token-bucket}`` over a fixed window
    with an ``anchor``) replaces it whole: the fields of one variant mean nothing to another."""
    merged = dict(base)
    for key, value in top.items():
        inherited = merged.get(key)
        if (isinstance(value, dict) and isinstance(inherited, dict)
                and value.get("name", inherited.get("name")) == inherited.get("name")):
            merged[key] = _deep_merge(inherited, value)
        else:
            merged[key] = value
    return merged


def _anchor(raw: dict[str, Any], path: Path) -> None:
    """Make the paths a file names absolute, so they stay right when another file extends it."""
    build = (raw.get("app") or {}).get("build") if isinstance(raw.get("app"), dict) else None
    if isinstance(build, dict) and isinstance(build.get("context"), str):
        build["context"] = str((path.parent / build["context"]).resolve())
    process = (raw.get("app") or {}).get("process") if isinstance(raw.get("app"), dict) else None
    if isinstance(process, dict):
        # The app's folder defaults to that of the file giving the command.
        if isinstance(process.get("cwd"), str):
            process["cwd"] = str((path.parent / process["cwd"]).resolve())
        elif "command" in process and "cwd" not in process:
            process["cwd"] = str(path.parent.resolve())
    _anchor_volume_sources(raw, path)
    compose = raw.get("compose")
    if isinstance(compose, dict) and isinstance(compose.get("file"), str):
        compose["file"] = str((path.parent / compose["file"]).resolve())
    adapter = raw.get("adapter")
    if isinstance(adapter, str) and ".py:" in adapter:
        file, _, cls = adapter.rpartition(":")
        raw["adapter"] = f"{(path.parent / file).resolve()}:{cls}"


def _anchor_volume_sources(raw: dict[str, Any], path: Path) -> None:
    """A volume's ``source`` (a host folder) is relative to the file that names it."""
    app = raw.get("app") if isinstance(raw.get("app"), dict) else {}
    deps = raw.get("dependencies") if isinstance(raw.get("dependencies"), dict) else {}
    services = deps.get("services") if isinstance(deps.get("services"), dict) else {}
    for owner in [app, *services.values()]:
        volumes = owner.get("volumes") if isinstance(owner, dict) else None
        for volume in volumes if isinstance(volumes, list) else []:
            if isinstance(volume, dict) and isinstance(volume.get("source"), str):
                volume["source"] = str((path.parent / volume["source"]).resolve())


class _UniqueKeyLoader(yaml.SafeLoader):
    """YAML's safe loader, except that a key given twice in one mapping is an error.

    PyYAML keeps the last of two equal keys without a word, so a typo'd copy of a
    section silently replaces the first one.
    """

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)  # type: ignore[no-untyped-call]
            try:
                first = seen.setdefault(key, key_node.start_mark.line + 1)
            except TypeError:  # an unhashable key: the base class says so
                continue
            if first != key_node.start_mark.line + 1:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r} (first on line {first}, again on line "
                    f"{key_node.start_mark.line + 1}); expected each key once per mapping", key_node.start_mark)
        return super().construct_mapping(node, deep=deep)


def _read_yaml(path: Path, seen: tuple[Path, ...] = ()) -> dict[str, Any]:
    if path.is_dir():
        raise SpecError(f"{path}: is a folder; expected a target spec file (YAML), e.g. "
                        "targets/refapp/durable.yaml")
    if not path.is_file():
        where = f" (extended by {seen[-1]})" if seen else ""
        raise SpecError(f"{path}: target spec not found{where}")
    if path in seen:
        raise SpecError(f"{path}: 'extends' loops back to itself via {' -> '.join(map(str, seen))}")
    try:
        with path.open(encoding="utf-8") as fh:  # named, so a YAML error's position names the file
            raw = yaml.load(fh, Loader=_UniqueKeyLoader) or {}
    except yaml.YAMLError as exc:
        raise SpecError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(raw, dict):
        raise SpecError(f"{path}: expected a mapping at the top level, got {type(raw).__name__}")
    _anchor(raw, path)
    parent = raw.pop("extends", None)
    if parent is None:
        return raw
    if not isinstance(parent, str):
        raise SpecError(f"{path}: field 'extends': expected a file name, got {parent!r}")
    return _deep_merge(_read_yaml((path.parent / parent).resolve(), (*seen, path)), raw)


def _with_compose(raw: dict[str, Any], path: Path) -> dict[str, Any]:
    """Fill ``app`` and ``dependencies.services`` from the compose file; the spec's own fields win."""
    from harness.compose import read_compose

    compose = raw["compose"]
    try:
        roles = {role: compose[role] for role in ("postgres", "redis") if compose.get(role)}
        parts = read_compose(Path(str(compose.get("file", ""))), str(compose.get("service", "")), roles)
    except SpecError as exc:
        raise SpecError(f"{path}: {exc}") from None
    raw = dict(raw)
    raw["app"] = _deep_merge(parts["app"], raw.get("app") or {})
    deps = dict(raw.get("dependencies") or {})
    deps["services"] = _deep_merge(parts["services"], deps.get("services") or {})
    raw["dependencies"] = deps
    return raw


def load_spec(path: str | Path) -> TargetSpec:
    """Read and validate a spec; errors name the file, the field path and what was expected."""
    path = Path(path).resolve()
    raw = _read_yaml(path)
    if isinstance(raw.get("compose"), dict):
        raw = _with_compose(raw, path)
    try:
        spec = TargetSpec.model_validate(raw)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            field = ".".join(str(p) for p in err["loc"]) or "(top level)"
            got = "" if err["type"] == "missing" else _got(err.get("input"))
            problems.append(f"  field '{field}': {err['msg'].removeprefix('Value error, ')}{got}")
        raise SpecError(f"{path}: invalid target spec\n" + "\n".join(problems)) from None
    spec = spec.model_copy(update={"source": str(path)})
    _check_paths(spec, path)
    _check_placeholders(spec, path)
    from harness.redaction import remember

    remember(*spec_secrets(spec))  # any error or log line of this process is scrubbed of them
    return spec


def spec_secrets(spec: TargetSpec | None) -> list[str]:
    """Secrets a target spec gives away: the postgres password, and the secrets in the environment of
    the app and of its other services (``harness.redaction.env_secrets``): to be masked in every report."""
    from harness.redaction import env_secrets

    if spec is None:
        return []
    found = [spec.dependencies.postgres.password] if spec.dependencies.postgres is not None else []
    for env in [spec.app.env, *(service.environment for service in spec.dependencies.services.values())]:
        found += env_secrets(env)
    attach = getattr(spec, "attach", None)  # (a stand-in spec of a test may have no such field)
    if attach is not None:  # a token or password written into a fault verb's command line or a URL
        from harness.redaction import shaped_secrets

        for verb in attach.verbs.model_dump(exclude_none=True).values():
            found += shaped_secrets(" ".join([verb["run"], (verb.get("ready") or {}).get("command") or ""]))
        for replica in attach.replicas:
            found += shaped_secrets(replica.url)
    return list(dict.fromkeys(found))


def _got(value: Any) -> str:
    """The offending input, when it is short enough to help (never a whole section of the spec)."""
    if isinstance(value, (dict, list)):
        return ""
    text = repr(value)
    return f" (got {text if len(text) <= 80 else text[:77] + '...'})"


#: What the local backend adds for ``app.process.command`` and ``app.process.env``.
PROCESS_PLACEHOLDERS = ("port", "app_dir", "work_dir", "replica")


def env_placeholders(spec: TargetSpec) -> dict[str, tuple[str, ...]]:
    """The ``{name.field}`` placeholders ``app.env`` may use with this spec's dependencies, by name:
    what both backends fill in (``harness.backends``), and what ``load_spec`` checks against."""
    deps = spec.dependencies
    found: dict[str, tuple[str, ...]] = {}
    for name, service in deps.services.items():
        found[name] = ("host", "port")
        if service.role:
            found.setdefault(service.role, ("host", "port"))
    if deps.postgres is not None:
        found["postgres"] = ("url", "host", "port", "user", "password", "database")
    if deps.redis is not None:
        found["redis"] = ("url", "host", "port")
    if spec.app.volumes:
        found["volume"] = tuple(v.name for v in spec.app.volumes)
    return found


def template_fields(template: str) -> list[str]:
    """The placeholder names in a ``str.format`` template (``{{`` is a literal brace); ValueError if malformed."""
    import string

    return [name for _, name, _, _ in string.Formatter().parse(template) if name is not None]


def _check_placeholders(spec: TargetSpec, path: Path) -> None:
    """Every ``{...}`` in the environment and the process command must be one the backends fill in:
    a typo (``{postgress.url}``) would otherwise pass ``check-spec`` and fail at deploy time."""
    known = {f"{name}.{field}" for name, fields in env_placeholders(spec).items() for field in fields}
    process = spec.app.process
    places = [(f"app.env.{k}", v, known) for k, v in spec.app.env.items()]
    if process is not None:
        local = known | set(PROCESS_PLACEHOLDERS)
        places += [(f"app.process.command[{i}]", arg, local) for i, arg in enumerate(process.command)]
        places += [(f"app.process.env.{k}", v, local) for k, v in process.env.items()]
    for field, template, allowed in places:
        try:
            names = template_fields(template)
        except ValueError as exc:
            raise SpecError(f"{path}: field '{field}': {exc} in {template!r}; write a literal brace as "
                            "{{ or }}") from None
        unknown = [n for n in names if n not in allowed]
        if unknown:
            raise SpecError(
                f"{path}: field '{field}': unknown placeholder {', '.join('{' + u + '}' for u in unknown)}; "
                f"this spec provides {', '.join('{' + k + '}' for k in sorted(allowed)) or 'none'} "
                "(a dependency's placeholders exist only when the spec declares that dependency)")


def _check_paths(spec: TargetSpec, path: Path) -> None:
    """Files the spec names must exist now, not halfway through a run."""
    build = spec.app.build
    if build is not None:
        context = (path.parent / build.context).resolve()
        if not context.is_dir():
            raise SpecError(f"{path}: field 'app.build.context': folder {context} does not exist "
                            f"(expected a folder with a Dockerfile, relative to the spec file)")
        for field, name in (("dockerfile", build.dockerfile), ("requirements", build.requirements)):
            if name is not None and not (context / name).is_file():
                raise SpecError(f"{path}: field 'app.build.{field}': file {context / name} does not exist")
    owners = [("app", spec.app.volumes),
              *((f"dependencies.services.{name}", s.volumes) for name, s in spec.dependencies.services.items())]
    for owner, volumes in owners:
        for i, volume in enumerate(volumes):
            if volume.source is None:
                continue
            if not Path(volume.source).exists():
                raise SpecError(f"{path}: field '{owner}.volumes.{i}.source': {volume.source} does not exist "
                                "(expected a host file or folder, relative to the spec file)")
            if not volume.read_only and not Path(volume.source).is_dir():
                raise SpecError(f"{path}: field '{owner}.volumes.{i}.source': {volume.source} is a file; a volume "
                                "starts as a copy of a folder (mount a file with read_only: true)")
    if spec.adapter is not None:
        # the reference's form and file, here; importing it is the adapter's layer (harness.spec_adapter.make_adapter)
        adapter_reference(spec.adapter, path.parent, f"{path}: field 'adapter'")


def adapter_reference(ref: str, base: Path, where: str) -> tuple[str, str, Path | None]:
    """The parts of an ``adapter`` reference: (file or module, class name, the file when it names one).

    Checks what can be checked without importing it: the ``file.py:Class`` or ``module:Class``
    form, and that a named file exists (relative to ``base``).
    """
    target, _, cls_name = ref.rpartition(":")
    if not target or not cls_name:
        raise SpecError(f"{where}: expected 'file.py:ClassName' or 'module:ClassName', got {ref!r}")
    if not target.endswith(".py"):
        return target, cls_name, None
    file = (base / target).resolve()
    if not file.is_file():
        raise SpecError(f"{where}: file {file} does not exist")
    return target, cls_name, file
