"""Volumes in a target spec and in a compose file: what is accepted, and errors that name the field."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.backends.app_env import render_env
from harness.errors import SpecError
from harness.spec import load_spec

ROOT = Path(__file__).resolve().parents[2]
OPERATIONS = ROOT / "targets" / "refapp" / "parts" / "operations.yaml"


def spec(tmp_path: Path, volumes: str, env: str = "") -> Path:
    path = tmp_path / "t.yaml"
    path.write_text(f"extends: {OPERATIONS}\nname: t\napp:\n  image: i\n  volumes:\n{volumes}{env}")
    return path


def test_shared_and_replica_volumes_are_read(tmp_path: Path) -> None:
    loaded = load_spec(spec(tmp_path, "    - {name: data, path: /var/lib/app/}\n"
                                      "    - {name: own, path: /cache, scope: replica}\n"))
    assert [(v.name, v.path, v.scope) for v in loaded.app.volumes] == [
        ("data", "/var/lib/app", "shared"), ("own", "/cache", "replica")]


def test_the_reference_shared_volume_mode_mounts_data_dir() -> None:
    loaded = load_spec(ROOT / "targets" / "refapp" / "shared-volume.yaml")
    assert loaded.app.env["STORAGE"] == "local-disk"
    assert [(v.name, v.scope) for v in loaded.app.volumes] == [("data", "shared")]
    assert render_env(loaded, {"postgres": {"url": "pg"}, "redis": {"url": "rd"}})["DATA_DIR"] == "/var/lib/refapp"
    assert render_env(loaded, {"postgres": {"url": "pg"}, "redis": {"url": "rd"}},
                      {"data": "/tmp/x/volumes/data"})["DATA_DIR"] == "/tmp/x/volumes/data"
    assert load_spec(ROOT / "targets" / "refapp" / "local-disk.yaml").app.volumes == []


@pytest.mark.parametrize(("volumes", "error"), [
    ("    - {name: data, path: /a}\n    - {name: data, path: /b}\n",
     r"field 'app\.volumes'.*volumes\[1\]\.name 'data' is used twice \(also volumes\[0\]\)"),
    ("    - {name: a, path: /data}\n    - {name: b, path: /data/}\n",
     r"field 'app\.volumes'.*volumes\[1\]\.path '/data' is used twice"),
    ("    - {name: data, path: var/lib}\n", r"field 'app\.volumes\.0\.path'.*absolute path.*got 'var/lib'"),
    ("    - {name: data, path: /}\n", r"field 'app\.volumes\.0\.path'.*other than '/'"),
    ("    - {name: data, path: /a/../b}\n", r"field 'app\.volumes\.0\.path'.*'\.\.'"),
    ("    - {name: data, path: /a, scope: node}\n",
     r"field 'app\.volumes\.0\.scope'.*'shared' or 'replica'.*got 'node'"),
    ("    - {name: my data, path: /a}\n", r"field 'app\.volumes\.0\.name'.*got 'my data'"),
    ("    - {name: data, path: /a, size: 1G}\n", r"field 'app\.volumes\.0\.size': Extra inputs"),
    ("    - {name: conf, path: /etc/app, source: conf, read_only: true, scope: replica}\n",
     r"field 'app\.volumes\.0'.*scope must be 'shared'"),
    ("    - {name: conf, path: /etc/app, source: t.yaml}\n",
     r"field 'app\.volumes\.0\.source'.*t\.yaml is a file.*read_only: true"),
    ("    - {name: conf, path: /etc/app, source: absent}\n",
     r"field 'app\.volumes\.0\.source'.*absent does not exist"),
])
def test_bad_volumes_name_the_field(tmp_path: Path, volumes: str, error: str) -> None:
    with pytest.raises(SpecError, match=error):
        load_spec(spec(tmp_path, volumes))


def test_a_source_is_relative_to_the_spec(tmp_path: Path) -> None:
    (tmp_path / "conf").mkdir()
    loaded = load_spec(spec(tmp_path, "    - {name: conf, path: /etc/app, source: conf}\n"
                                      "    - {name: seed, path: /data, source: conf, scope: replica}\n"
                                      "    - {name: file, path: /etc/x.toml, source: t.yaml, read_only: true}\n"))
    assert [(v.source, v.read_only) for v in loaded.app.volumes] == [
        (str(tmp_path / "conf"), False), (str(tmp_path / "conf"), False), (str(tmp_path / "t.yaml"), True)]


def test_an_unknown_volume_placeholder_names_the_key(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match=r"field 'app\.env\.DATA_DIR'.*\{volume\.dta\}.*\{volume\.data\}"):
        load_spec(spec(tmp_path, "    - {name: data, path: /data}\n", "  env: {DATA_DIR: '{volume.dta}'}\n"))


# ---- compose files -----------------------------------------------------------------------------


def compose(tmp_path: Path, services: str, top: str = "") -> Path:
    (tmp_path / "docker-compose.yml").write_text(f"services:\n{services}{top}")
    path = tmp_path / "c.yaml"
    path.write_text(f"extends: {OPERATIONS}\nname: c\ncompose: {{file: docker-compose.yml, service: web}}\n")
    return path


WEB = "  web:\n    image: app\n    ports: ['8000']\n"


def test_compose_named_and_anonymous_volumes_and_bind_mounts(tmp_path: Path) -> None:
    (tmp_path / "conf").mkdir()
    web = WEB + ("    volumes: [data:/var/lib/app, /cache, './conf:/etc/app:ro', ./conf:/seed,\n"
                 "              {type: volume, source: more, target: /more, read_only: true}]\n"
                 "  db:\n    image: pg\n    volumes: [pgdata:/var/lib/postgresql/data]\n")
    loaded = load_spec(compose(tmp_path, web,
                               "volumes:\n  data: {}\n  more: {labels: {a: b}}\n  pgdata:\n"))
    app = [(v.name, v.path, v.scope, v.source, v.read_only) for v in loaded.app.volumes]
    assert app == [("data", "/var/lib/app", "shared", None, False),
                   ("web-anonymous-1", "/cache", "replica", None, False),
                   ("web-bind-2", "/etc/app", "shared", str(tmp_path / "conf"), True),
                   ("web-bind-3", "/seed", "shared", str(tmp_path / "conf"), False),
                   ("more", "/more", "shared", None, True)]
    db = loaded.dependencies.services["db"].volumes
    assert [(v.name, v.path) for v in db] == [("pgdata", "/var/lib/postgresql/data")]


@pytest.mark.parametrize(("services", "top", "error"), [
    (WEB + "    volumes: ['./data:/var/lib/app']\n", "",
     r"services\.web\.volumes\[0\]: a read-write bind mount of \./data: expected a folder.*not there"),
    (WEB + "    volumes: ['./c.yaml:/etc/app.yaml']\n", "",
     r"services\.web\.volumes\[0\]: a read-write bind mount of \./c\.yaml.*a file: mount it read-only"),
    (WEB + "    volumes: [data:/var/lib/app]\n", "", r"services\.web\.volumes\[0\]: volume 'data' is not declared"),
    (WEB + "    volumes: [data:/var/lib/app]\n", "volumes:\n  data: {external: true}\n",
     r"volumes\.data: unsupported key\(s\) external"),
    (WEB + "    volumes: [data:/var/lib/app]\n", "volumes:\n  data: {driver: nfs}\n",
     r"volumes\.data: unsupported key\(s\) driver"),
    (WEB + "    volumes: [{type: tmpfs, target: /tmp}]\n", "",
     r"services\.web\.volumes\[0\]: type 'tmpfs' is not supported"),
    (WEB + "    volumes: ['data:/a:nocopy']\n", "volumes:\n  data:\n",
     r"services\.web\.volumes\[0\]: unsupported mode"),
    (WEB + "    volumes: [{source: data, target: /a, volume: {nocopy: true}}]\n", "volumes:\n  data:\n",
     r"services\.web\.volumes\[0\]: unsupported key\(s\) volume"),
    (WEB + "  db:\n    image: pg\n    volumes: [/var/lib/postgresql/data, /var/lib/postgresql/data]\n", "",
     r"field 'dependencies\.services\.db\.volumes'.*path '/var/lib/postgresql/data' is used twice"),
])
def test_compose_volumes_never_silently_ignored(tmp_path: Path, services: str, top: str, error: str) -> None:
    with pytest.raises(SpecError, match=error):
        load_spec(compose(tmp_path, services, top))


def test_the_bundled_compose_file_keeps_its_database_volume() -> None:
    loaded = load_spec(ROOT / "targets" / "refapp" / "compose.yaml")
    assert [(v.name, v.path) for v in loaded.dependencies.services["db"].volumes] == [
        ("pgdata", "/var/lib/postgresql/data")]
