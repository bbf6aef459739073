"""The ``attach`` section of a target spec: an environment that already runs, and how to fault it.

The attach backend (``harness.backends.attach``) deploys nothing: the replicas are
given by their URLs, and each fault verb by a command the harness runs (``kubectl``,
``systemctl``, ``docker``, an ssh line...), with placeholders for what it acts on. A verb
states how to know its work is done (``ready``): a command polled until it exits 0, if
given, then a readiness path polled on the URL of every replica it brought back.

What the deployment can do follows from the verbs given: the core (crash and graceful
restart) must be there; ``pause``/``resume``, ``redeploy``, ``scale``, the three dependency
verbs and ``network-cut``/``network-heal`` each make one capability
(``harness.capabilities``), so a scenario needing a verb not given is skipped with that
reason. A group given in part (``pause`` without ``resume``) is refused: half a fault
could never be healed.

The section may live in the spec, or in a file of its own (``--attach FILE``, the same
fields at its top level): the spec says what the app is and does, which is the same in
every environment, while the environment's URLs and commands differ between staging,
a developer's cluster and CI, and may hold names a repository should not.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from harness.errors import SpecError


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


#: the placeholders a command of each verb may use (``{url}``: the replica's base URL)
REPLICA_PLACEHOLDERS = ("replica", "url")
DEPENDENCY_PLACEHOLDERS = ("dependency",)
SCALE_PLACEHOLDERS = ("count",)


class AttachReplica(_Strict):
    """One replica of the running environment: its name in commands, and the base URL it answers on."""

    name: str = Field(min_length=1, description="the replica's name in commands ({replica}): a container, a pod, "
                      "a systemd instance")
    url: str = Field(pattern=r"^https?://[^/\s]+/?$", description="base URL of this one replica (never a load "
                     "balancer: the harness must know which replica answered), e.g. http://127.0.0.1:18080")

    @property
    def base(self) -> str:
        return self.url.rstrip("/")


class Ready(_Strict):
    """How the harness knows a verb's work is done: its ``command`` exits 0, then the replicas it brought
    back answer their readiness path."""

    path: str | None = Field(None, pattern=r"^/", description="HTTP path polled every 0.1 s on the URL of every "
                             "replica the verb brought back, until it answers 200 (default: app.readiness_path)")
    command: str | None = Field(None, description="a command polled every 0.5 s until it exits 0, before the path "
                                "is polled (e.g. `kubectl rollout status statefulset/app`); the verb's placeholders "
                                "apply. The only wait of a verb that brings no replica back (dependency-stop)")
    timeout: float = Field(60.0, gt=0, description="seconds each wait may take, then the verb fails")


class Verb(_Strict):
    """A command the harness runs for one fault verb, and how it knows the verb's work is done."""

    run: str = Field(min_length=1, description="the command; split like a shell line (shlex) and run without a "
                     "shell, unless 'shell' is set. Placeholders: {replica} and {url} (replica verbs), "
                     "{dependency} (dependency and network verbs), {count} (scale)")
    shell: bool = Field(False, description="run the command with `sh -c` (pipes, `&&`, redirections); the "
                        "placeholders are quoted for the shell")
    timeout: float = Field(120.0, gt=0, description="seconds the command may take, then it is killed and the verb fails")
    ready: Ready | None = Field(None, description="how to know the verb is done: its command, then the readiness "
                                "path of the replicas it brought back (start, restart, redeploy, resume: that "
                                "replica; rolling-restart, dependency-restart, dependency-start, network-heal: every "
                                "replica; scale: the first {count}). crash, pause, dependency-stop and network-cut "
                                "bring none back: only the command, if given, is waited for")


def _verb(value: Any) -> Any:
    """A bare string is a verb's command with the defaults."""
    return {"run": value} if isinstance(value, str) else value


class Verbs(_Strict):
    """The fault verbs of an attached environment, each a command (a string, or a mapping with its readiness)."""

    crash: Verb = Field(description="kill one replica at once, no shutdown hook (SIGKILL; `kubectl delete pod "
                        "{replica} --grace-period=0 --force`)")
    start: Verb | None = Field(None, description="bring a crashed replica back; absent: the environment does it by "
                               "itself (an orchestrator), and the heal waits until the replica is ready")
    restart: Verb = Field(description="graceful restart of one replica: SIGTERM, shutdown hooks run, started again")
    rolling_restart: Verb | None = Field(None, alias="rolling-restart", description="restart every replica in turn, "
                                         "as a deploy does (`kubectl rollout restart`); absent: 'restart' on each "
                                         "replica in turn")
    redeploy: Verb | None = Field(None, description="remove one replica and create it anew from its image, its "
                                  "local files gone (the redeploy capability)")
    scale: Verb | None = Field(None, description="run {count} replicas (the scale capability); the replicas used "
                               "are the first {count} of attach.replicas")
    pause: Verb | None = Field(None, description="freeze one replica's processes (with 'resume': the pause capability)")
    resume: Verb | None = Field(None, description="thaw a paused replica")
    dependency_restart: Verb | None = Field(None, alias="dependency-restart", description="restart a dependency "
                                            "(with dependency-stop and dependency-start: the dependency-faults "
                                            "capability)")
    dependency_stop: Verb | None = Field(None, alias="dependency-stop", description="stop a dependency: an outage")
    dependency_start: Verb | None = Field(None, alias="dependency-start", description="start a stopped dependency")
    network_cut: Verb | None = Field(None, alias="network-cut", description="cut the network between the replicas "
                                     "and a running dependency (with network-heal: the network-cut capability)")
    network_heal: Verb | None = Field(None, alias="network-heal", description="restore that network")

    #: verb groups that make one capability: all given, or none (by field name)
    GROUPS: ClassVar[dict[str, tuple[str, ...]]] = {
        "pause": ("pause", "resume"),
        "redeploy": ("redeploy",),
        "scale": ("scale",),
        "dependency-faults": ("dependency_restart", "dependency_stop", "dependency_start"),
        "network-cut": ("network_cut", "network_heal"),
    }
    #: verbs that act on a dependency ({dependency}); scale takes {count}; rolling-restart none; the rest a replica
    DEPENDENCY_VERBS: ClassVar[tuple[str, ...]] = ("dependency_restart", "dependency_stop", "dependency_start",
                                                   "network_cut", "network_heal")

    @field_validator("*", mode="before")
    @classmethod
    def _coerce(cls, value: Any) -> Any:
        return _verb(value)

    @model_validator(mode="after")
    def _whole_groups(self) -> "Verbs":
        for capability, names in self.GROUPS.items():
            given = [n for n in names if getattr(self, n) is not None]
            if given and len(given) < len(names):
                absent = [self.key(n) for n in names if n not in given]
                raise ValueError(f"the {capability} capability needs {', '.join(self.key(n) for n in names)}; "
                                 f"{', '.join(absent)} not given (give all of them, or none)")
        for name in type(self).model_fields:
            verb = getattr(self, name)
            if verb is None:
                continue
            allowed = self.placeholders(name)
            for field, template in (("run", verb.run), ("ready.command", verb.ready.command if verb.ready else None)):
                if template is None:
                    continue
                unknown = [p for p in _fields(template, f"{self.key(name)}.{field}") if p not in allowed]
                if unknown:
                    raise ValueError(f"{self.key(name)}.{field}: unknown placeholder "
                                     f"{', '.join('{' + u + '}' for u in unknown)}; this verb provides "
                                     f"{', '.join('{' + a + '}' for a in allowed) or 'none'}")
        return self

    @classmethod
    def key(cls, name: str) -> str:
        """How the spec spells a verb (``rolling-restart``)."""
        return cls.model_fields[name].alias or name

    @classmethod
    def placeholders(cls, name: str) -> tuple[str, ...]:
        if name in cls.DEPENDENCY_VERBS:
            return DEPENDENCY_PLACEHOLDERS
        if name == "scale":
            return SCALE_PLACEHOLDERS
        if name == "rolling_restart":
            return ()
        return REPLICA_PLACEHOLDERS

    def given(self, capability: str) -> bool:
        """Whether every verb of ``capability`` (a ``GROUPS`` key) is given."""
        return all(getattr(self, n) is not None for n in self.GROUPS[capability])


def _fields(template: str, where: str) -> list[str]:
    import string

    try:
        return [name for _, name, _, _ in string.Formatter().parse(template) if name is not None]
    except ValueError as exc:
        raise ValueError(f"{where}: {exc} in {template!r}; write a literal brace as {{{{ or }}}}") from None


class AttachSpec(_Strict):
    """An environment that already runs (``--backend attach``): its replicas and a command per fault verb.

    Nothing is deployed or removed, and its state is not wiped between scenarios: every
    scenario's workload uses keys of its own (a seed drawn from the time it starts).
    """

    replicas: list[AttachReplica] = Field(min_length=1, description="every replica that may run, in order: a "
                                          "scenario of N replicas uses the first N (scale adds the next ones)")
    dependencies: dict[str, str] = Field(default_factory=dict, description="the name each dependency of the spec "
                                         "(postgres, redis, a service) has in commands ({dependency}); one not "
                                         "listed is named as in the spec")
    verbs: Verbs = Field(description="the command of each fault verb; crash and restart are required, the others "
                         "give the capabilities they make")

    @field_validator("replicas")
    @classmethod
    def _distinct(cls, replicas: list[AttachReplica]) -> list[AttachReplica]:
        for field in ("name", "url"):
            seen: dict[str, int] = {}
            for i, replica in enumerate(replicas):
                value = getattr(replica, field)
                if value in seen:
                    raise ValueError(f"replicas[{i}].{field} {value!r} is given twice (also replicas[{seen[value]}])")
                seen[value] = i
        return replicas


def load_attach(path: str | Path) -> AttachSpec:
    """Read an attach file (the fields of a spec's ``attach`` section at its top level)."""
    path = Path(path).resolve()
    if not path.is_file():
        raise SpecError(f"{path}: attach file not found (expected YAML with replicas and verbs)")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise SpecError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(raw, dict):
        raise SpecError(f"{path}: expected a mapping at the top level, got {type(raw).__name__}")
    try:
        return AttachSpec.model_validate(raw)
    except ValidationError as exc:
        problems = [f"  field '{'.'.join(str(p) for p in err['loc']) or '(top level)'}': "
                    f"{err['msg'].removeprefix('Value error, ')}" for err in exc.errors()]
        raise SpecError(f"{path}: invalid attach file\n" + "\n".join(problems)) from None


__all__ = ["AttachReplica", "AttachSpec", "Ready", "Verb", "Verbs", "load_attach"]
