"""Spec mistakes refused at load time, each message naming the file, the field (or key and line)
and what was expected: duplicate keys, unknown placeholders anywhere, a folder for a file."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.errors import SpecError
from harness.spec import env_placeholders, load_spec

OPS = "operations: {rate_limit: {hit: {path: /x}, limit: 1, window: 1}}\n"


def write(tmp_path: Path, text: str, name: str = "t.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_a_duplicate_key_names_the_file_the_key_and_both_lines(tmp_path: Path) -> None:
    path = write(tmp_path, "name: t\napp:\n  image: i\n  env:\n    STORAGE: durable\n    STORAGE: memory\n" + OPS)
    with pytest.raises(SpecError) as info:
        load_spec(path)
    text = str(info.value)
    assert str(path) in text and "duplicate key 'STORAGE'" in text
    assert "first on line 5, again on line 6" in text


def test_the_same_key_in_different_mappings_is_fine(tmp_path: Path) -> None:
    spec = load_spec(write(tmp_path, "name: t\napp:\n  image: i\n  env: {port: a}\n  port: 80\n" + OPS))
    assert spec.app.port == 80 and spec.app.env == {"port": "a"}


def test_an_unknown_env_placeholder_is_named_with_what_exists(tmp_path: Path) -> None:
    path = write(tmp_path, "name: t\napp:\n  image: i\n  env: {DATABASE_URL: '{postgress.url}'}\n"
                           "dependencies: {postgres: {}}\n" + OPS)
    with pytest.raises(SpecError) as info:
        load_spec(path)
    text = str(info.value)
    assert str(path) in text and "field 'app.env.DATABASE_URL'" in text and "{postgress.url}" in text
    assert "{postgres.url}" in text and "{postgres.password}" in text  # what the spec does provide


def test_a_placeholder_of_an_undeclared_dependency_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "name: t\napp:\n  image: i\n  env: {REDIS_URL: '{redis.url}'}\n" + OPS)
    with pytest.raises(SpecError, match=r"field 'app\.env\.REDIS_URL': unknown placeholder \{redis\.url\}"):
        load_spec(path)


def test_process_placeholders_are_checked_too(tmp_path: Path) -> None:
    good = ("name: t\napp:\n  image: i\n  env: {A: '{postgres.user}'}\n"
            "  process: {command: [python, -m, app, '{port}'], env: {W: '{work_dir}', R: '{replica}'}}\n"
            "dependencies: {postgres: {}}\n" + OPS)
    assert load_spec(write(tmp_path, good)).app.process is not None
    bad = good.replace("'{port}'", "'{prot}'")
    with pytest.raises(SpecError, match=r"field 'app\.process\.command\[3\]': unknown placeholder \{prot\}"):
        load_spec(write(tmp_path, bad))
    # {port} belongs to the local process only, not to app.env
    with pytest.raises(SpecError, match=r"field 'app\.env\.P': unknown placeholder \{port\}"):
        load_spec(write(tmp_path, "name: t\napp:\n  image: i\n  env: {P: '{port}'}\n" + OPS))


def test_a_malformed_template_is_named(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match=r"field 'app\.env\.J'.*literal brace"):
        load_spec(write(tmp_path, "name: t\napp:\n  image: i\n  env: {J: '{\"a\": 1'}\n" + OPS))


def test_every_documented_placeholder_is_known() -> None:
    """The placeholders AppSpec.env documents are exactly what load_spec accepts with both dependencies."""
    from harness.spec import AppSpec, TargetSpec

    spec = TargetSpec.model_validate({"name": "t", "app": {"image": "i"}, "dependencies": {"postgres": {}, "redis": {}},
                                      "operations": {"rate_limit": {"hit": {"path": "/x"}, "limit": 1, "window": 1}}})
    known = {f"{{{n}.{f}}}" for n, fs in env_placeholders(spec).items() for f in fs}
    documented = set(__import__("re").findall(r"\{[a-z]+\.[a-z]+\}", AppSpec.model_fields["env"].description or ""))
    assert documented == known


def test_an_unknown_operation_placeholder_does_not_dump_the_operations(tmp_path: Path) -> None:
    path = write(tmp_path, "name: t\napp: {image: i}\noperations:\n  sessions:\n"
                           "    login: {method: POST, path: '/login/{usr}', extract: {token: {json: token}}}\n"
                           "    whoami: {path: /me, headers: {Authorization: 'Bearer {token}'}}\n")
    with pytest.raises(SpecError) as info:
        load_spec(path)
    text = str(info.value)
    assert "sessions.login.path: unknown placeholder {usr}; this operation provides {user}" in text
    assert "Bearer" not in text and "whoami" not in text  # not the whole mapping
    assert "Value error" not in text


def test_a_folder_as_a_spec_says_it_is_a_folder(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="is a folder; expected a target spec file"):
        load_spec(tmp_path)
