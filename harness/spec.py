"""The target spec: what app to run and what it needs, validated before anything starts.

A spec is YAML. ``extends: other.yaml`` (relative to the file) deep-merges the other
file underneath, so variants of one app (its storage modes, say) stay one line each.
Strings in ``app.env`` may name dependency addresses with placeholders such as
``{postgres.url}`` or ``{redis.host}``; they are filled in at deploy time.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from harness.errors import SpecError


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AppSpec(_Strict):
    image: str = Field(description="image name of the app, built locally or pulled")
    port: int = Field(8000, ge=1, le=65535, description="port the app listens on inside its container")
    readiness_path: str = Field("/readyz", pattern=r"^/", description="HTTP path that answers 200 when ready")
    command: list[str] | None = Field(None, description="overrides the image's command")
    env: dict[str, str] = Field(default_factory=dict)
    ready_timeout: float = Field(30.0, gt=0, description="seconds to wait for readiness")
    stop_timeout: int = Field(10, ge=0, description="seconds between SIGTERM and SIGKILL on a graceful stop")


class PostgresSpec(_Strict):
    image: str = "harness-postgres:latest"
    user: str = "app"
    password: str = "app"
    database: str = "app"


class RedisSpec(_Strict):
    image: str = "harness-redis:latest"
    persistence: bool = Field(True, description="append-only file with fsync on every write")


class Dependencies(_Strict):
    postgres: PostgresSpec | None = None
    redis: RedisSpec | None = None


class TargetSpec(_Strict):
    name: str
    app: AppSpec
    dependencies: Dependencies = Field(default_factory=Dependencies)
    source: str | None = Field(None, exclude=True, description="file the spec was read from")

    def with_env(self, **env: str) -> "TargetSpec":
        """A copy with extra app environment, e.g. a bad setting for a negative test."""
        app = self.app.model_copy(update={"env": {**self.app.env, **env}})
        return self.model_copy(update={"app": app})


def _deep_merge(base: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in top.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _read_yaml(path: Path, seen: tuple[Path, ...] = ()) -> dict[str, Any]:
    if not path.is_file():
        where = f" (extended by {seen[-1]})" if seen else ""
        raise SpecError(f"{path}: target spec not found{where}")
    if path in seen:
        raise SpecError(f"{path}: 'extends' loops back to itself via {' -> '.join(map(str, seen))}")
    try:
        raw = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise SpecError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(raw, dict):
        raise SpecError(f"{path}: expected a mapping at the top level, got {type(raw).__name__}")
    parent = raw.pop("extends", None)
    if parent is None:
        return raw
    if not isinstance(parent, str):
        raise SpecError(f"{path}: field 'extends': expected a file name, got {parent!r}")
    return _deep_merge(_read_yaml((path.parent / parent).resolve(), (*seen, path)), raw)


def load_spec(path: str | Path) -> TargetSpec:
    """Read and validate a spec; errors name the file, the field path and what was expected."""
    path = Path(path).resolve()
    raw = _read_yaml(path)
    try:
        spec = TargetSpec.model_validate(raw)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            field = ".".join(str(p) for p in err["loc"]) or "(top level)"
            got = "" if err["type"] == "missing" else f" (got {err.get('input')!r})"
            problems.append(f"  field '{field}': {err['msg']}{got}")
        raise SpecError(f"{path}: invalid target spec\n" + "\n".join(problems)) from None
    return spec.model_copy(update={"source": str(path)})
