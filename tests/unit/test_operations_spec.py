"""The ``operations``, ``adapter`` and ``policy`` sections of a target spec, read through ``load_spec``.

Every bad spec must give a SpecError whose message names the file, the field path and
what was expected; good specs get the per-operation defaults filled in.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
import yaml

from harness.adapter import Adapter
from harness.errors import SpecError
from harness.operation_table import KIND_OPERATIONS, VARIABLES
from harness.operations import Extraction, HttpOperation, Operations
from harness.spec import load_spec
from harness.spec_adapter import SpecAdapter, make_adapter

ROOT = Path(__file__).resolve().parents[2]
REFAPP = ROOT / "targets" / "refapp"

HEADER = "name: t\napp: {image: i}\n"

SESSIONS = """\
operations:
  sessions:
    login:
      method: POST
      path: /login
      json: {user: "{user}"}
      extract: {token: {json: token}}
    whoami:
      path: /me
      headers: {Authorization: "Bearer {token}"}
"""


def write(tmp_path: Path, body: str, name: str = "t.yaml", header: str = HEADER) -> Path:
    path = tmp_path / name
    path.write_text(header + textwrap.dedent(body))
    return path.resolve()


def spec_error(path: Path) -> str:
    """load_spec's error, which must name the file."""
    with pytest.raises(SpecError) as info:
        load_spec(path)
    message = str(info.value)
    assert str(path) in message, message
    return message


# --- a valid spec and its defaults ------------------------------------------------------------------


def test_minimal_spec_loads(tmp_path: Path) -> None:
    spec = load_spec(write(tmp_path, SESSIONS))
    assert spec.source == str(tmp_path.resolve() / "t.yaml")
    assert spec.operations is not None and spec.operations.kinds() == ["sessions"]
    login = spec.operations.sessions.login
    assert (login.method, login.path, login.json_body) == ("POST", "/login", {"user": "{user}"})
    assert login.extract["token"].json_path == "token"
    assert spec.operations.sessions.logout is None
    adapter = make_adapter(spec)
    assert isinstance(adapter, SpecAdapter)
    assert adapter.kinds() == ["sessions"]
    assert adapter.supports("sessions", "whoami") and not adapter.supports("sessions", "logout")
    assert "t.yaml" in adapter.describe()


def test_defaults_are_filled_in(tmp_path: Path) -> None:
    spec = load_spec(write(tmp_path, """\
        operations:
          sessions:
            login: {method: post, path: /login, extract: {token: {json: token}}}
            whoami: {path: /me}
            logout: {method: POST, path: /logout}
          records:
            create: {method: POST, path: /records, extract: {id: {json: id}}}
            read: {path: "/records/{id}", extract: {data: {json: data}}}
          files:
            upload: {method: POST, path: /files, multipart: {file: "{content}"}, extract: {id: {json: id}}}
            download: {path: "/files/{id}"}
          quotes:
            create: {method: POST, path: /quotes, extract: {id: {json: id}, expires_at: {json: exp}}}
            use: {method: POST, path: "/quotes/{id}/use"}
            read: {path: "/quotes/{id}"}
          rate_limit:
            hit: {path: "/hit/{key}"}
            limit: 5
            window: 2.5
          cooldowns:
            start: {method: POST, path: "/cool/{key}"}
            period: 30
        """))
    ops = spec.operations
    assert ops.sessions.login.method == "POST"  # lower case is accepted
    assert ops.sessions.whoami.method == "GET"
    assert ops.sessions.whoami.accepted == [200, 201, 204]
    assert ops.sessions.whoami.reasons() == {401: "rejected", 403: "rejected"}
    assert ops.sessions.logout.reasons() == {401: "rejected"}
    assert ops.sessions.login.reasons() == {} and ops.sessions.login.limited == []
    assert ops.records.read.reasons() == {404: "not-found"}
    assert ops.records.create.reasons() == {}
    assert ops.files.download.reasons() == {404: "not-found"}
    assert ops.quotes.use.reasons() == {404: "not-found", 409: "already-used", 410: "expired"}
    assert ops.quotes.read.reasons() == {404: "not-found", 410: "expired"}
    assert ops.rate_limit.hit.limited == [429]
    assert ops.cooldowns.start.limited == [429]
    assert (ops.rate_limit.limit, ops.rate_limit.window, ops.cooldowns.period) == (5, 2.5, 30)
    adapter = make_adapter(spec)
    assert adapter.settings("rate_limit") == {"limit": 5, "window": 2.5,
                                              "algorithm": {"name": "fixed-window", "anchor": "any"}}
    assert adapter.settings("cooldowns") == {"period": 30}
    assert adapter.settings("sessions") == {}
    assert set(adapter.kinds()) == {"sessions", "records", "files", "quotes", "rate_limit", "cooldowns"}


def test_given_statuses_replace_the_defaults(tmp_path: Path) -> None:
    spec = load_spec(write(tmp_path, """\
        operations:
          sessions:
            login: {method: POST, path: /login, extract: {token: {cookie: sid}}}
            whoami: {path: /me, rejected: [401, 302]}
          quotes:
            create: {method: POST, path: /quotes, extract: {id: {json: id}, expires_at: {header: X-Expires}}}
            use: {method: POST, path: "/quotes/{id}/use", rejected: {422: already-used, 404: not-found}}
          rate_limit:
            hit: {path: /hit, limited: [403]}
            limit: 1
            window: 1
        """))
    ops = spec.operations
    assert ops.sessions.whoami.reasons() == {401: "rejected", 302: "rejected"}  # a list: every status "rejected"
    assert ops.quotes.use.reasons() == {422: "already-used", 404: "not-found"}  # no 409/410 from the defaults
    assert ops.rate_limit.hit.limited == [403]  # 429 is no longer limited
    assert ops.sessions.login.extract["token"].cookie == "sid"
    assert ops.quotes.create.extract["expires_at"].header == "X-Expires"


def test_extraction_describes_itself() -> None:
    assert Extraction.model_validate({"json": "a.b"}).describe() == "JSON path 'a.b'"
    assert Extraction.model_validate({"header": "X-Session"}).describe() == "header 'X-Session'"
    assert Extraction.model_validate({"cookie": "sid"}).describe() == "cookie 'sid'"


def test_every_operation_has_its_variables() -> None:
    for kind, names in KIND_OPERATIONS.items():
        for name in names:
            assert (kind, name) in VARIABLES, (kind, name)
    assert set(Operations.model_fields) == set(KIND_OPERATIONS)


def test_every_placeholder_an_operation_provides_is_accepted(tmp_path: Path) -> None:
    spec = load_spec(write(tmp_path, """\
        operations:
          counters:
            increment:
              method: POST
              path: "/counters/{name}"
              query: {by: "{by}"}
              headers: {X-Name: "{name}"}
              cookies: {c: "{name}"}
              json: {by: "{by}", labels: ["{name}"]}
            read: {path: "/counters/{name}", extract: {value: {json: value}}}
        """))
    assert spec.operations.counters.increment.query == {"by": "{by}"}


# --- bad specs: file, field path and expectation ------------------------------------------------------


def test_unknown_field_in_an_operation(tmp_path: Path) -> None:
    path = write(tmp_path, SESSIONS + "      bogus: 1\n")
    message = spec_error(path)
    assert "field 'operations.sessions.whoami.bogus': Extra inputs are not permitted" in message


def test_unknown_state_kind_in_operations(tmp_path: Path) -> None:
    message = spec_error(write(tmp_path, SESSIONS + "  carts: {add: {path: /cart}}\n"))
    assert "field 'operations.carts': Extra inputs are not permitted" in message


def test_missing_path(tmp_path: Path) -> None:
    message = spec_error(write(tmp_path, """\
        operations:
          sessions:
            login: {method: POST, extract: {token: {json: token}}}
            whoami: {path: /me}
        """))
    assert "field 'operations.sessions.login.path': Field required" in message


def test_missing_required_operation(tmp_path: Path) -> None:
    message = spec_error(write(tmp_path, """\
        operations:
          sessions:
            login: {method: POST, path: /login, extract: {token: {json: token}}}
        """))
    assert "field 'operations.sessions.whoami': Field required" in message


def test_path_must_start_with_a_slash(tmp_path: Path) -> None:
    message = spec_error(write(tmp_path, SESSIONS.replace("path: /me", "path: me")))
    assert "field 'operations.sessions.whoami.path'" in message
    assert "pattern '^/'" in message and "got 'me'" in message


def test_wrong_type_names_the_value(tmp_path: Path) -> None:
    message = spec_error(write(tmp_path, """\
        operations:
          rate_limit:
            hit: {path: /hit}
            limit: many
            window: 10
        """))
    assert "field 'operations.rate_limit.limit'" in message
    assert "valid integer" in message and "(got 'many')" in message


def test_limit_must_be_positive(tmp_path: Path) -> None:
    message = spec_error(write(tmp_path, "operations:\n  rate_limit: {hit: {path: /h}, limit: 0, window: 1}\n"))
    assert "field 'operations.rate_limit.limit'" in message and "greater than 0" in message


def test_unknown_method(tmp_path: Path) -> None:
    message = spec_error(write(tmp_path, SESSIONS.replace("method: POST", "method: FETCH")))
    assert "field 'operations.sessions.login.method'" in message
    assert "GET|POST" in message and "'FETCH'" in message


def test_status_lists_must_hold_numbers(tmp_path: Path) -> None:
    message = spec_error(write(tmp_path, SESSIONS + "      accepted: [ok]\n"))
    assert "field 'operations.sessions.whoami.accepted'" in message and "entry 0" in message and "got 'ok'" in message
    assert "expected a status (e.g. 302) or a rule with headers" in message


def test_login_without_token_extraction(tmp_path: Path) -> None:
    message = spec_error(write(tmp_path, SESSIONS.replace("      extract: {token: {json: token}}\n", "")))
    assert "field 'operations.sessions'" in message
    assert "login.extract: must name 'token'" in message
    assert "extract: {token: {json: token}}" in message  # how to fix it


def test_quote_create_needs_both_extractions(tmp_path: Path) -> None:
    message = spec_error(write(tmp_path, """\
        operations:
          quotes:
            create: {method: POST, path: /quotes, extract: {id: {json: id}}}
            use: {method: POST, path: "/quotes/{id}/use"}
        """))
    assert "field 'operations.quotes'" in message
    assert "create.extract: must name 'expires_at'" in message


def test_optional_operation_needs_its_extraction_only_when_present(tmp_path: Path) -> None:
    body = """\
        operations:
          records:
            create: {method: POST, path: /records, extract: {id: {json: id}}}
            read: {path: "/records/{id}", extract: {data: {json: data}}}
        """
    assert load_spec(write(tmp_path, body)).operations.records.list is None
    message = spec_error(write(tmp_path, body + "    list: {path: /records}\n", name="u.yaml"))
    assert "field 'operations.records'" in message and "list.extract: must name 'records'" in message


def test_unknown_placeholder(tmp_path: Path) -> None:
    message = spec_error(write(tmp_path, SESSIONS.replace('{user: "{user}"}', '{user: "{username}"}')))
    assert "field 'operations'" in message
    assert "sessions.login.json: unknown placeholder {username}; this operation provides {user}" in message


def test_unknown_placeholder_in_path_of_an_operation_without_variables(tmp_path: Path) -> None:
    message = spec_error(write(tmp_path, """\
        operations:
          records:
            create: {method: POST, path: /records, extract: {id: {json: id}}}
            read: {path: "/records/{id}", extract: {data: {json: data}}}
            list: {path: "/records/{page}", extract: {records: {json: records}}}
        """))
    assert "records.list.path: unknown placeholder {page}; this operation provides none" in message


def test_unknown_placeholder_in_a_header(tmp_path: Path) -> None:
    message = spec_error(write(tmp_path, SESSIONS.replace("Bearer {token}", "Bearer {session}")))
    assert "sessions.whoami.headers: unknown placeholder {session}; this operation provides {token}" in message


def test_two_bodies_at_once(tmp_path: Path) -> None:
    message = spec_error(write(tmp_path, """\
        operations:
          records:
            create: {method: POST, path: /r, json: {data: "{data}"}, form: {data: "{data}"}, extract: {id: {json: id}}}
            read: {path: "/r/{id}", extract: {data: {json: data}}}
        """))
    assert "field 'operations.records.create'" in message
    assert "give at most one body: 'json', 'form' or 'multipart'" in message


@pytest.mark.parametrize("given", ["{json: token, header: X-Token}", "{header: X-Token, cookie: sid}", "{}"])
def test_extraction_needs_exactly_one_source(tmp_path: Path, given: str) -> None:
    message = spec_error(write(tmp_path, SESSIONS.replace("{token: {json: token}}", "{token: " + given + "}")))
    assert "field 'operations.sessions.login.extract.token'" in message
    assert "give exactly one of 'json', 'header', 'cookie' or 'body: true'" in message


def test_unknown_field_in_an_extraction(tmp_path: Path) -> None:
    message = spec_error(write(tmp_path, SESSIONS.replace("{token: {json: token}}", "{token: {bdy: token}}")))
    assert "field 'operations.sessions.login.extract.token.bdy': Extra inputs are not permitted" in message
    message = spec_error(write(tmp_path, SESSIONS.replace("{token: {json: token}}", "{token: {body: token}}")))
    assert "field 'operations.sessions.login.extract.token.body': Input should be a valid boolean" in message


def test_neither_operations_nor_adapter(tmp_path: Path) -> None:
    message = spec_error(write(tmp_path, ""))
    assert "field '(top level)'" in message and "needs 'operations'" in message and "'adapter'" in message


# --- policy -------------------------------------------------------------------------------------------


def test_policy_overrides_the_defaults(tmp_path: Path) -> None:
    spec = load_spec(write(tmp_path, SESSIONS + 'policy:\n  sessions: {exempt: ["dependency-restart:redis", crash]}\n'))
    assert spec.exempt["sessions"] == frozenset({"dependency-restart:redis", "crash"})
    assert spec.exempt["rate_limit"] == frozenset({"dependency-restart:redis", "dependency-outage:redis"})


def test_policy_can_remove_the_default_exemption(tmp_path: Path) -> None:
    spec = load_spec(write(tmp_path, SESSIONS + "policy:\n  rate_limit: {exempt: []}\n"))
    assert spec.exempt["rate_limit"] == frozenset()


def test_no_policy_means_the_defaults(tmp_path: Path) -> None:
    assert load_spec(write(tmp_path, SESSIONS)).exempt == {
        "rate_limit": frozenset({"dependency-restart:redis", "dependency-outage:redis"})}


def test_bad_policy_fault_name(tmp_path: Path) -> None:
    message = spec_error(write(tmp_path, SESSIONS + "policy:\n  sessions: {exempt: [explode:redis]}\n"))
    assert "field 'policy.sessions.exempt'" in message
    assert "unknown fault 'explode'" in message
    assert "expected one of crash, dependency-outage, dependency-restart" in message
    assert "':<target>'" in message


def test_policy_for_a_state_kind_that_does_not_exist(tmp_path: Path) -> None:
    message = spec_error(write(tmp_path, SESSIONS + "policy:\n  carts: {exempt: [crash]}\n"))
    assert "field 'policy.carts.[key]'" in message
    assert "'sessions'" in message and "'rate_limit'" in message and "(got 'carts')" in message


def test_unknown_field_in_a_policy(tmp_path: Path) -> None:
    message = spec_error(write(tmp_path, SESSIONS + "policy:\n  sessions: {exmpt: [crash]}\n"))
    assert "field 'policy.sessions.exmpt': Extra inputs are not permitted" in message


# --- app.build ----------------------------------------------------------------------------------------


def test_build_context_that_does_not_exist(tmp_path: Path) -> None:
    path = write(tmp_path, SESSIONS, header="name: t\napp: {image: i, build: {context: nowhere}}\n")
    message = spec_error(path)
    assert f"field 'app.build.context': folder {tmp_path.resolve() / 'nowhere'} does not exist" in message
    assert "relative to the spec file" in message


def test_build_files_must_exist_in_the_context(tmp_path: Path) -> None:
    (tmp_path / "ctx").mkdir()
    header = "name: t\napp: {image: i, build: {context: ctx}}\n"
    message = spec_error(write(tmp_path, SESSIONS, header=header))
    assert f"field 'app.build.dockerfile': file {tmp_path.resolve() / 'ctx' / 'Dockerfile'} does not exist" in message
    (tmp_path / "ctx" / "Dockerfile").write_text("FROM ${BASE}\n")
    header = "name: t\napp: {image: i, build: {context: ctx, requirements: req.txt}}\n"
    message = spec_error(write(tmp_path, SESSIONS, header=header))
    assert "field 'app.build.requirements'" in message and "req.txt does not exist" in message


def test_build_context_is_relative_to_the_file_that_names_it(tmp_path: Path) -> None:
    base_dir, variant_dir = tmp_path / "app", tmp_path / "variants"
    (base_dir / "src").mkdir(parents=True)
    variant_dir.mkdir()
    (base_dir / "src" / "Dockerfile").write_text("FROM ${BASE}\n")
    write(base_dir, SESSIONS, name="base.yaml", header="name: base\napp: {image: i, build: {context: src}}\n")
    variant = write(variant_dir, "app: {env: {MODE: x}}\n", name="v.yaml", header="extends: ../app/base.yaml\n")
    spec = load_spec(variant)
    assert spec.app.build is not None
    assert spec.app.build.context == str((base_dir / "src").resolve())
    assert spec.app.env == {"MODE": "x"} and spec.name == "base"
    assert spec.source == str(variant)


# --- adapter ------------------------------------------------------------------------------------------

ADAPTER_FILE = """\
from harness.adapter import Adapter, accepted, rejected


class NotAnAdapter:
    pass


class Shop(Adapter):
    def sessions_login(self, http, user):
        return accepted(token="t-" + user)

    def sessions_whoami(self, http, token):
        return rejected(accepted=False)
"""


def test_adapter_file_is_loaded(tmp_path: Path) -> None:
    (tmp_path / "shop.py").write_text(ADAPTER_FILE)
    spec = load_spec(write(tmp_path, "adapter: shop.py:Shop\n"))
    adapter = make_adapter(spec)
    assert isinstance(adapter, Adapter) and type(adapter).__name__ == "Shop"
    assert adapter.kinds() == ["sessions"]


def test_adapter_is_relative_to_the_file_that_names_it(tmp_path: Path) -> None:
    (tmp_path / "app").mkdir()
    (tmp_path / "variants").mkdir()
    (tmp_path / "app" / "shop.py").write_text(ADAPTER_FILE)
    write(tmp_path / "app", "adapter: shop.py:Shop\n", name="base.yaml")
    spec = load_spec(write(tmp_path / "variants", "name: v\n", name="v.yaml", header="extends: ../app/base.yaml\n"))
    assert spec.adapter == f"{(tmp_path / 'app' / 'shop.py').resolve()}:Shop"
    assert type(make_adapter(spec)).__name__ == "Shop"


def test_adapter_file_that_does_not_exist(tmp_path: Path) -> None:
    message = spec_error(write(tmp_path, "adapter: missing.py:Shop\n"))
    assert f"field 'adapter': file {tmp_path.resolve() / 'missing.py'} does not exist" in message


def adapter_error(path: Path) -> str:
    """make_adapter's error for a spec that loads: importing the adapter is the adapter layer's job (the spec
    checks only the reference's form and file), and its error names the file too."""
    spec = load_spec(path)
    with pytest.raises(SpecError) as info:
        make_adapter(spec)
    message = str(info.value)
    assert message.startswith(f"{path}: field 'adapter': "), message
    return message


def test_adapter_class_that_is_not_an_adapter(tmp_path: Path) -> None:
    (tmp_path / "shop.py").write_text(ADAPTER_FILE)
    message = adapter_error(write(tmp_path, "adapter: shop.py:NotAnAdapter\n"))
    assert "field 'adapter'" in message and "has no Adapter subclass named 'NotAnAdapter'" in message


def test_adapter_class_that_does_not_exist(tmp_path: Path) -> None:
    (tmp_path / "shop.py").write_text(ADAPTER_FILE)
    message = adapter_error(write(tmp_path, "adapter: shop.py:Nope\n"))
    assert "field 'adapter'" in message and "has no Adapter subclass named 'Nope'" in message


def test_adapter_file_that_fails_to_import(tmp_path: Path) -> None:
    (tmp_path / "broken.py").write_text("1 / 0\n")
    message = adapter_error(write(tmp_path, "adapter: broken.py:Shop\n"))
    assert f"field 'adapter': could not import {tmp_path.resolve() / 'broken.py'}: ZeroDivisionError" in message


def test_adapter_module_that_does_not_exist(tmp_path: Path) -> None:
    message = adapter_error(write(tmp_path, "adapter: no_such_module_for_harness_tests:Shop\n"))
    assert "field 'adapter': could not import no_such_module_for_harness_tests: ModuleNotFoundError" in message


def test_adapter_reference_without_a_class(tmp_path: Path) -> None:
    message = spec_error(write(tmp_path, "adapter: shop.py\n"))
    assert "field 'adapter': expected 'file.py:ClassName' or 'module:ClassName', got 'shop.py'" in message


def test_spec_adapter_subclass_needs_operations(tmp_path: Path) -> None:
    message = adapter_error(write(tmp_path, "adapter: harness.spec_adapter:SpecAdapter\n"))
    assert "field 'adapter'" in message and "needs an 'operations' section" in message


def test_python_adapter_without_its_rate_limit_numbers(tmp_path: Path) -> None:
    (tmp_path / "shop.py").write_text(ADAPTER_FILE + """

class Limiter(Adapter):
    rate_limit_window = 60.0

    def rate_limit_hit(self, http, key):
        return accepted(allowed=True)
""")
    message = adapter_error(write(tmp_path, "adapter: shop.py:Limiter\n"))
    assert "adapter Limiter: has rate_limit but does not set rate_limit_limit" in message
    assert "e.g. rate_limit_limit = 10" in message


def test_spec_adapter_subclass_by_module_gets_the_operations(tmp_path: Path) -> None:
    spec = load_spec(write(tmp_path, SESSIONS + "adapter: harness.spec_adapter:SpecAdapter\n"))
    adapter = make_adapter(spec)
    assert isinstance(adapter, SpecAdapter)
    assert adapter.operations is spec.operations and adapter.source == spec.source


# --- the reference specs ------------------------------------------------------------------------------

REFAPP_FILES = sorted(REFAPP.glob("*.yaml"))
#: a file without 'name' is a shared fragment (operations.yaml), checked through the specs extending it
REFERENCE_SPECS = [p for p in REFAPP_FILES if "name" in (yaml.safe_load(p.read_text()) or {})]


def test_there_are_reference_specs() -> None:
    assert len(REFERENCE_SPECS) >= 2 and REFAPP / "base.yaml" in REFERENCE_SPECS
    extended = {(yaml.safe_load(p.read_text()) or {}).get("extends") for p in REFAPP_FILES}
    for fragment in set(REFAPP_FILES) - set(REFERENCE_SPECS):
        assert fragment.name in extended, f"{fragment.name} is neither a spec nor extended by one"


#: the server-rendered front end's specs (html-*.yaml): sessions and records only, in YAML only
HTML_SPECS = [p for p in REFERENCE_SPECS if p.name.startswith("html-")]


@pytest.mark.parametrize("path", HTML_SPECS, ids=lambda p: p.stem)
def test_html_reference_specs_load_with_sessions_and_records(path: Path) -> None:
    adapter = make_adapter(load_spec(path))
    assert sorted(adapter.kinds()) == ["records", "sessions"]  # kinds() holds every required operation


@pytest.mark.parametrize("path", [p for p in REFERENCE_SPECS if p not in HTML_SPECS], ids=lambda p: p.stem)
def test_reference_spec_loads_with_all_seven_kinds(path: Path) -> None:
    spec = load_spec(path)
    adapter = make_adapter(spec)
    assert sorted(adapter.kinds()) == sorted(KIND_OPERATIONS)
    assert len(adapter.kinds()) == 7
    for kind, names in KIND_OPERATIONS.items():
        for name in names:
            assert adapter.supports(kind, name), f"{path.name}: {kind}.{name}"
    settings = adapter.settings("rate_limit")
    window = float(spec.app.env.get("RATE_WINDOW", 10))  # limiter-*.yaml shorten it, in the app and the spec alike
    assert (settings["limit"], settings["window"]) == (10, window) and "name" in settings["algorithm"]
    assert adapter.settings("cooldowns") == {"period": 60}


def test_memory_spec_extends_base() -> None:
    base, memory = load_spec(REFAPP / "base.yaml"), load_spec(REFAPP / "memory.yaml")
    assert memory.name == "refapp-memory" and memory.app.env["STORAGE"] == "memory"
    assert memory.operations == base.operations
    assert memory.app.build == base.app.build
    assert memory.app.build is not None and memory.app.build.context == str(REFAPP)  # anchored to base.yaml
    ops = memory.operations
    assert ops.sessions.whoami.reasons() == {401: "rejected"}  # given as a list
    assert ops.sessions.whoami.headers == {"Authorization": "Bearer {token}"}
    assert ops.quotes.use.reasons() == {404: "not-found", 409: "already-used", 410: "expired"}
    assert ops.rate_limit.hit.limited == [429]
    assert isinstance(ops.files.upload, HttpOperation) and ops.files.upload.multipart == {"file": "{content}"}
