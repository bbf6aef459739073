"""harness.interrupt: SIGINT, SIGTERM and SIGHUP stop a run the same way; waits give up at once."""

from __future__ import annotations

import os
import signal
import threading
from pathlib import Path
from typing import Iterator

import pytest

from harness import interrupt
from harness.deployment import Deployment
from harness.spec import load_spec


@pytest.fixture
def handlers() -> Iterator[None]:
    """Our handlers for the test; the previous ones, and a clean slate, afterwards."""
    saved = {sig: signal.getsignal(sig) for sig in interrupt.SIGNALS}
    interrupt.reset()
    interrupt.install()
    try:
        yield
    finally:
        for sig, handler in saved.items():
            signal.signal(sig, handler)
        interrupt.reset()


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_each_signal_unwinds_as_an_interrupt_naming_it(handlers: None, sig: signal.Signals) -> None:
    with pytest.raises(KeyboardInterrupt, match=f"interrupted by {sig.name}"):
        os.kill(os.getpid(), sig)
        signal.sigtimedwait([], 0.5)  # let the handler run here, not later
    assert interrupt.received() == sig.name
    assert interrupt.stopping.is_set()


def test_a_second_signal_does_not_cut_the_teardown_short(handlers: None) -> None:
    with pytest.raises(KeyboardInterrupt):
        os.kill(os.getpid(), signal.SIGTERM)
        signal.sigtimedwait([], 0.5)
    os.kill(os.getpid(), signal.SIGINT)  # noted only
    signal.sigtimedwait([], 0.2)
    assert interrupt.received() == "SIGTERM"


def test_a_signal_while_reports_are_written_is_held_back(handlers: None) -> None:
    with interrupt.shielded():
        os.kill(os.getpid(), signal.SIGHUP)
        signal.sigtimedwait([], 0.2)
        finished = True
    assert finished and interrupt.received() == "SIGHUP"
    with pytest.raises(interrupt.Interrupted, match="SIGHUP while writing"):
        interrupt.check("writing")


def test_without_a_signal_check_passes(handlers: None) -> None:
    interrupt.check("waiting")
    assert interrupt.received() is None


class _NeverReady(Deployment):
    """A replica that never answers (nothing listens on its port) and never exits."""

    def __init__(self) -> None:
        spec = load_spec(Path(__file__).resolve().parents[2] / "targets" / "refapp" / "durable.yaml")
        super().__init__(spec.model_copy(update={"app": spec.app.model_copy(update={"ready_timeout": 60})}))

    def endpoint(self, replica: str) -> str:
        return "http://127.0.0.1:9"  # discard port: connection refused

    def _exit_status(self, replica: str) -> int | None:
        return None

    def logs(self, name: str, lines: int = 30) -> str:
        return ""

    _create_replica = _signal = _stop = _start = _remove = _pause = _unpause = lambda *a: None  # type: ignore
    _dependency_action = _network_action = close = lambda *a: None  # type: ignore


def test_a_readiness_wait_gives_up_when_the_run_stops(handlers: None) -> None:
    deployment = _NeverReady()
    threading.Timer(0.3, interrupt.stopping.set).start()
    with pytest.raises(interrupt.Interrupted, match="waiting for replica app-0"):
        deployment.wait_ready("app-0")  # a 60 s ready_timeout: only the stop ends it


def test_a_failed_replica_stops_the_others_waiting(handlers: None) -> None:
    class OneFails(_NeverReady):
        def _create_replica(self, replica: str) -> None:  # type: ignore[override]
            if replica == "app-1":
                raise RuntimeError("app-1 could not start")

    with pytest.raises(RuntimeError, match="app-1 could not start"):
        OneFails()._bring_up(["app-0", "app-1"])  # app-0 would otherwise wait its 60 s out
