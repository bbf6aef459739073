"""Builds every image the harness needs without a registry (the air-gapped CI path).

A Debian base comes from ``debootstrap`` + ``docker import``; PostgreSQL, Redis and
any target whose spec has an ``app.build`` section are built on top of it with
``docker build`` (apt inside the build reaches Debian's own archive; Python packages
come from a wheelhouse built on the host). Each image carries the content hash of its build inputs in a label, and
a build is skipped when an image with that hash exists, so repeated runs cost
nothing. Machines with a registry can instead name official images in their specs.
"""

from __future__ import annotations

import hashlib
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterable

if TYPE_CHECKING:
    from harness.spec import BuildSpec, TargetSpec

from filelock import FileLock

from harness.errors import ImageBuildError

HASH_LABEL = "io.harness.build-hash"
#: never copied into a build context, nor hashed
IGNORED = ("__pycache__", "*.pyc", ".git", ".venv", ".pytest_cache", "node_modules")
ROOT = Path(__file__).resolve().parent.parent
DOCKERFILES = Path(__file__).resolve().parent / "dockerfiles"
CACHE = Path(os.environ.get("HARNESS_CACHE", Path.home() / ".cache" / "harness"))
DEBIAN_SUITE = "bookworm"
DEBIAN_MIRROR = os.environ.get("HARNESS_DEBIAN_MIRROR", "http://deb.debian.org/debian")
BASE_IMAGE = "harness-base:bookworm"

Progress = Callable[[str], None]


@dataclass(frozen=True)
class ImageRecipe:
    """How to build one image on top of the base: a Dockerfile and the files it copies.

    ``context``, when given, is a folder copied whole into the build context (a
    target's build context); ``files`` are single entries placed by name.
    """

    name: str
    dockerfile: Path
    files: dict[str, Path] = field(default_factory=dict)
    requirements: Path | None = None  # becomes wheelhouse/ in the build context
    context: Path | None = None
    ignore: tuple[str, ...] = IGNORED  # patterns never copied nor hashed (plus the context's .dockerignore)


RECIPES: tuple[ImageRecipe, ...] = (
    ImageRecipe(
        "harness-postgres:latest",
        DOCKERFILES / "postgres.Dockerfile",
        {"postgres-init.sh": DOCKERFILES / "postgres-init.sh",
         "postgres-entrypoint.sh": DOCKERFILES / "postgres-entrypoint.sh"},
    ),
    ImageRecipe("harness-redis:latest", DOCKERFILES / "redis.Dockerfile"),
    # removes a SIGKILLed harness's containers, networks and volumes (harness/reaper.py)
    ImageRecipe("harness-reaper:latest", DOCKERFILES / "reaper.Dockerfile", {"reaper.py": DOCKERFILES / "reaper.py"}),
    # one 127.0.0.1 port per replica slot into a swarm's overlay network (harness/backends/gateway.py)
    ImageRecipe("harness-gateway:latest", DOCKERFILES / "gateway.Dockerfile",
                {"gateway.py": DOCKERFILES / "gateway.py"}),
)

def build_recipe_of(image: str, build: "BuildSpec | None") -> ImageRecipe | None:
    """The recipe of an image a spec says how to build (the app's, or a service's), else None."""
    if build is None:
        return None
    context = Path(build.context)
    dockerignore = context / ".dockerignore"
    extra = [line.strip().rstrip("/") for line in dockerignore.read_text().splitlines()
             if line.strip() and not line.startswith("#")] if dockerignore.is_file() else []
    return ImageRecipe(image, context / build.dockerfile, context=context,
                       requirements=context / build.requirements if build.requirements else None,
                       ignore=(*IGNORED, *extra))


def recipes_for(specs: "Iterable[TargetSpec]") -> list[ImageRecipe]:
    """The harness's own images, then each distinct app image the specs build."""
    apps: dict[str, ImageRecipe] = {}
    for spec in specs:
        builds = [(spec.app.image, spec.app.build)]
        builds += [(s.image, s.build) for s in spec.dependencies.services.values()]
        for image, build in builds:
            recipe = build_recipe_of(image, build)
            if recipe is not None:
                apps.setdefault(recipe.name, recipe)
    return [*RECIPES, *apps.values()]


def _ignored(path: Path, patterns: tuple[str, ...]) -> bool:
    return any(path.match(pattern) or pattern in path.parts for pattern in patterns)


def _hash_path(digest: "hashlib._Hash", path: Path, ignore: tuple[str, ...] = IGNORED) -> None:
    if path.is_dir():
        for child in sorted(p for p in path.rglob("*") if p.is_file() and not _ignored(p.relative_to(path), ignore)):
            digest.update(str(child.relative_to(path)).encode())
            digest.update(child.read_bytes())
    else:
        digest.update(path.read_bytes())


def base_hash() -> str:
    return hashlib.sha256(f"debootstrap minbase {DEBIAN_SUITE} {platform.machine()}".encode()).hexdigest()[:16]


def recipe_hash(recipe: ImageRecipe) -> str:
    """Content hash of everything that goes into the image: change a file, get a rebuild."""
    digest = hashlib.sha256(base_hash().encode())
    for path in (recipe.dockerfile, *recipe.files.values(), *filter(None, [recipe.requirements, recipe.context])):
        if not path.exists():
            raise ImageBuildError(f"{recipe.name}: build input {path} does not exist")
        _hash_path(digest, path, recipe.ignore)
    return digest.hexdigest()[:16]


def _existing_hash(client, name: str) -> str | None:
    import docker.errors

    try:
        return (client.images.get(name).labels or {}).get(HASH_LABEL)
    except docker.errors.ImageNotFound:
        return None


def _run(step: str, cmd: list[str]) -> None:
    result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).splitlines()[-20:])
        raise ImageBuildError(f"{step} failed (exit {result.returncode}): {' '.join(cmd)}\n{tail}")


def build_base(client, progress: Progress) -> None:
    """Debian minbase from debootstrap, imported as an image (about 35 s)."""
    if shutil.which("debootstrap") is None:
        raise ImageBuildError(
            "debootstrap is not installed; it builds the Debian base image without a registry. "
            "Install it with: apt-get install debootstrap"
        )
    with tempfile.TemporaryDirectory(prefix="harness-rootfs-") as tmp:
        rootfs = Path(tmp) / "rootfs"
        progress(f"debootstrap {DEBIAN_SUITE} (minbase) from {DEBIAN_MIRROR}")
        _run("debootstrap", ["debootstrap", "--variant=minbase", DEBIAN_SUITE, str(rootfs), DEBIAN_MIRROR])
        shutil.rmtree(rootfs / "var" / "cache" / "apt" / "archives", ignore_errors=True)
        tarball = Path(tmp) / "rootfs.tar"
        _run("tar of the base root filesystem", ["tar", "-C", str(rootfs), "-cf", str(tarball), "."])
        progress(f"docker import {BASE_IMAGE}")
        repo, tag = BASE_IMAGE.split(":")
        client.api.import_image_from_file(
            str(tarball), repository=repo, tag=tag, changes=[f"LABEL {HASH_LABEL}={base_hash()}"]
        )


def wheelhouse(requirements: Path, dest: Path, progress: Progress) -> None:
    """Binary wheels for the image's Python (Debian bookworm: CPython 3.11), cached by content."""
    key = hashlib.sha256(requirements.read_bytes() + platform.machine().encode()).hexdigest()[:16]
    cached = CACHE / "wheelhouse" / key
    if not (cached / ".complete").exists():
        progress(f"wheelhouse for {requirements}")
        cached.mkdir(parents=True, exist_ok=True)
        machine = platform.machine()
        platforms = [f"manylinux_2_{v}_{machine}" for v in (36, 34, 28, 17)] + [f"manylinux2014_{machine}"]
        cmd = [sys.executable, "-m", "pip", "download", "-q", "--only-binary=:all:", "--python-version", "3.11",
               "--implementation", "cp", "--abi", "cp311", "--abi", "abi3", "--abi", "none", "-d", str(cached),
               "-r", str(requirements)]
        for plat in platforms:
            cmd += ["--platform", plat]
        _run("pip download of the wheelhouse", cmd)
        (cached / ".complete").touch()
    shutil.copytree(cached, dest, ignore=shutil.ignore_patterns(".complete"))
    shutil.copy(requirements, dest / "requirements.txt")


def build_recipe(client, recipe: ImageRecipe, digest: str, progress: Progress) -> None:
    import docker.errors

    with tempfile.TemporaryDirectory(prefix="harness-build-") as tmp:
        context = Path(tmp) / "context"
        if recipe.context is not None:
            shutil.copytree(recipe.context, context, ignore=shutil.ignore_patterns(*recipe.ignore))
        else:
            context.mkdir()
        shutil.copy(recipe.dockerfile, context / "Dockerfile")
        for dest, src in recipe.files.items():
            copy = shutil.copytree if src.is_dir() else shutil.copy
            copy(src, context / dest, **({"ignore": shutil.ignore_patterns("__pycache__")} if src.is_dir() else {}))
        if recipe.requirements is not None:
            shutil.rmtree(context / "wheelhouse", ignore_errors=True)
            wheelhouse(recipe.requirements, context / "wheelhouse", progress)
        progress(f"docker build {recipe.name}")
        try:
            client.images.build(
                path=str(context), tag=recipe.name, buildargs={"BASE": BASE_IMAGE},
                labels={HASH_LABEL: digest}, rm=True, forcerm=True,
            )
        except docker.errors.BuildError as exc:
            tail = "\n".join(str(c.get("stream", c.get("error", ""))).rstrip() for c in list(exc.build_log)[-20:])
            raise ImageBuildError(f"docker build of {recipe.name} failed: {exc.msg}\n{tail}") from exc


def build_images(client, progress: Progress = lambda _msg: None, force: bool = False,
                 specs: "Iterable[TargetSpec]" = ()) -> list[str]:
    """Build whatever is missing or stale: the harness's images and the apps ``specs`` build.

    Returns the names that were (re)built.

    Concurrent callers (pytest-xdist workers, parallel CI jobs) serialise on a file
    lock, and the second finds the images already there.
    """
    CACHE.mkdir(parents=True, exist_ok=True)
    built: list[str] = []
    with FileLock(str(CACHE / "images.lock")):
        if force or _existing_hash(client, BASE_IMAGE) != base_hash():
            build_base(client, progress)
            built.append(BASE_IMAGE)
        for recipe in recipes_for(specs):
            digest = recipe_hash(recipe)
            if force or BASE_IMAGE in built or _existing_hash(client, recipe.name) != digest:
                build_recipe(client, recipe, digest, progress)
                built.append(recipe.name)
            else:
                progress(f"{recipe.name} is up to date")
    return built
