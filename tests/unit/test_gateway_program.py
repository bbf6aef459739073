"""The gateway program's control lines (harness/dockerfiles/gateway.py), answered without a container.

The program is a file copied into an image, not a module of the harness: it is loaded by path.
Forwarding itself is shown against real containers in tests/integration/test_gateway.py.
"""

from __future__ import annotations

import asyncio
import importlib.util
import socket
from pathlib import Path

import pytest

PROGRAM = Path(__file__).resolve().parents[2] / "harness" / "dockerfiles" / "gateway.py"


@pytest.fixture(scope="module")
def program():
    spec = importlib.util.spec_from_file_location("gateway_program", PROGRAM)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _answer(gateway, line: str) -> str:
    return asyncio.run(gateway.answer(line))


def test_routes_are_set_and_cleared(program) -> None:
    gateway = program.Gateway(3)
    assert _answer(gateway, "ROUTE 2 harness-x-app-2 8000") == "OK"
    assert gateway.routes == {1: None, 2: ("harness-x-app-2", 8000), 3: None}
    assert _answer(gateway, "route 2 10.0.1.7 8001") == "OK"  # verbs in any case
    assert gateway.routes[2] == ("10.0.1.7", 8001)
    assert _answer(gateway, "UNROUTE 2") == "OK"
    assert gateway.routes[2] is None


@pytest.mark.parametrize("line, reason", [
    ("ROUTE 0 app 8000", "slot '0' is not one of 1..3"),
    ("ROUTE 4 app 8000", "slot '4' is not one of 1..3"),
    ("ROUTE -1 app 8000", "slot '-1' is not one of 1..3"),
    ("ROUTE 1 app 0", "port '0' is not one of 1..65535"),
    ("ROUTE 1 app 65536", "port '65536' is not one of 1..65535"),
    ("ROUTE 1 app http", "port 'http' is not one of 1..65535"),
    ("UNROUTE x", "slot 'x' is not one of 1..3"),
    ("PROBE app 8000 0", "timeout '0' is not a number of seconds in (0, 30]"),
    ("PROBE app 8000 31", "timeout '31' is not a number of seconds in (0, 30]"),
    ("PROBE app 8000 soon", "timeout 'soon' is not a number of seconds in (0, 30]"),
    ("ROUTE 1 app", "expected ROUTE slot host port"),
    ("DELETE everything", "expected ROUTE slot host port"),
    ("", "empty request"),
])
def test_bad_lines_are_answered_err_and_change_nothing(program, line: str, reason: str) -> None:
    gateway = program.Gateway(3)
    gateway.routes[1] = ("app", 8000)
    answer = _answer(gateway, line)
    assert answer.startswith("ERR ") and reason in answer, answer
    assert gateway.routes == {1: ("app", 8000), 2: None, 3: None}


def test_probe_answers_ok_for_a_listening_port_and_no_for_a_closed_one(program) -> None:
    gateway = program.Gateway(1)
    with socket.socket() as listening, socket.socket() as closed:
        listening.bind(("127.0.0.1", 0))
        listening.listen()
        closed.bind(("127.0.0.1", 0))  # bound, not listening: a connect is refused
        assert _answer(gateway, f"PROBE 127.0.0.1 {listening.getsockname()[1]} 1") == "OK"
        assert _answer(gateway, f"PROBE 127.0.0.1 {closed.getsockname()[1]} 0.5") == "NO"


def test_the_program_takes_its_slot_count_only(program, capsys: pytest.CaptureFixture[str]) -> None:
    for argv in ([], ["0"], ["65"], ["eight"], ["2", "3"]):
        assert program.main(argv) == 2
    assert "usage: gateway.py SLOTS (1..64)" in capsys.readouterr().err
