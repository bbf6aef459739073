"""A running target: replicas, their addresses, and the core fault verbs.

The verbs are defined once, in backend-neutral terms, and every call is recorded as a
fault event in the history, whoever makes it. This is the core every backend has
(crash and its heal, graceful and rolling restart); pause, redeploy, scale, dependency
faults and network cuts are capabilities (``harness.capabilities``) a backend's
deployment inherits only when it really has them. A backend (``backends/docker.py``)
supplies only the primitive steps. Every verb that brings a replica back waits for it to be ready over HTTP
before returning, and re-reads its address, since ports change on restart.
"""

from __future__ import annotations

import functools
import threading
from contextlib import contextmanager
import time
from dataclasses import dataclass
from abc import ABC, abstractmethod
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from typing import Any, Callable, ClassVar, Iterator, TypeVar
from urllib.parse import urlsplit

import httpx

from harness import interrupt
from harness.errors import BackendError, DeploymentError, ReadinessTimeout
from harness.history import History
from harness.spec import TargetSpec
from harness.tls import tls_context
from harness.vocabulary import KILLED_ON_STOP, FaultName

F = TypeVar("F", bound=Callable[..., Any])

POLL_INTERVAL = 0.1
#: readiness is polled this often during a replica's first FAST_POLL_FOR seconds: a replica forked
#: from a preloaded process is ready in a tenth of a second, and a 0.1 s poll would double that
FAST_POLL, FAST_POLL_FOR = 0.02, 1.0


def first_error(futures: list[Future[Any]]) -> None:
    """Wait until every future is done, or raise the first error as soon as there is one
    (not when the futures before it in the list are done)."""
    done, _ = wait(futures, return_when=FIRST_EXCEPTION)
    for future in futures:
        if future in done and future.exception() is not None:
            future.result()
    for future in futures:
        future.result()


@dataclass(frozen=True)
class Stopped:
    """How a graceful stop ended: the replica exited on SIGTERM, or was killed after the stop timeout.

    A backend's ``_stop`` returns it, and the verb that stopped the replica writes it into its
    fault event's detail: an app that ignores SIGTERM is killed, and a "graceful" restart of
    it was a crash (``harness.checkers.faults_as_claimed`` reports that as a finding).
    """

    killed: bool
    seconds: float
    timeout: float

    def describe(self) -> str:
        """The detail words; a kill starts with ``KILLED_ON_STOP``, which the finding looks for."""
        if self.killed:
            return f"{KILLED_ON_STOP}: killed after {self.seconds:.1f} s (stop_timeout {self.timeout:g} s)"
        return f"exited on SIGTERM after {self.seconds:.1f} s"


def recorded(fault: FaultName, heal: bool = False) -> Callable[[F], F]:
    """Record a verb as a fault event (start, end, target) in the deployment's history,
    under its fault's one name; ``heal`` marks the verb that undoes the fault."""

    def wrap(method: F) -> F:
        @functools.wraps(method)
        def verb(self: "Deployment", target: Any = None, *args: Any, **kwargs: Any) -> Any:
            with self.recording(fault, target, heal=heal):
                return method(self, target, *args, **kwargs)

        verb.__fault__ = (fault, heal)  # type: ignore[attr-defined]  # read by the vocabulary test
        return verb  # type: ignore[return-value]

    return wrap


class Deployment(ABC):
    """Base of every backend's deployment. A context manager: leaving it tears all down."""

    #: whether a deployment's state is its own: it starts empty (its own dependencies, or pooled ones wiped
    #: in between). False for an environment the harness attached to, where nothing is wiped, so every
    #: scenario's workload needs keys no earlier run used (the plugin draws it a fresh seed)
    owns_state: ClassVar[bool] = True

    def __init__(self, spec: TargetSpec, history: History | None = None) -> None:
        from harness.redaction import remember
        from harness.spec import spec_secrets

        remember(*spec_secrets(spec))  # its errors and log lines are scrubbed of them (HarnessError)
        self.spec = spec
        self.history = history if history is not None else History()
        self.replicas: list[str] = []
        #: set when a replica's start failed or the run is stopping: the others stop waiting for theirs
        self._stop_waiting = threading.Event()
        #: per thread, the notes of the fault events being recorded (innermost last): what a verb saw
        self._noting = threading.local()

    # ---- primitives a backend supplies -------------------------------------------
    @abstractmethod
    def endpoint(self, replica: str) -> str:
        """Base URL of a running replica, e.g. http://127.0.0.1:32768."""

    @abstractmethod
    def _create_replica(self, replica: str) -> None:
        """Create and start a new replica (fresh writable state)."""

    @abstractmethod
    def _signal(self, replica: str, signal: str) -> None: ...

    @abstractmethod
    def _stop(self, replica: str) -> Stopped | None:
        """Graceful stop: SIGTERM, then SIGKILL after the spec's stop_timeout; how it ended
        (None: this backend cannot tell)."""

    @abstractmethod
    def _start(self, replica: str) -> None:
        """Start a stopped replica, keeping its writable state."""

    @abstractmethod
    def _exit_status(self, replica: str) -> int | None:
        """The exit code if the replica's process has ended, else None."""

    @abstractmethod
    def logs(self, name: str, lines: int = 30) -> str: ...

    @abstractmethod
    def close(self) -> None:
        """Remove everything this deployment created. Idempotent; never raises for leftovers."""

    # ---- recording -------------------------------------------------------------------
    @contextmanager
    def recording(self, fault: FaultName, target: Any, heal: bool = False) -> Iterator[None]:
        """Record what the block does to ``target`` as one fault event, with its error if it fails.

        The event's detail is the error (``failed: ...``) first, then what the block noted
        (``note``): how a stop ended, where a replica came back.
        """
        start = self.history.clock.now()
        notes: list[str] = []
        stack = self._notes()
        stack.append(notes)
        try:
            yield
        except BaseException as exc:
            notes.insert(0, f"failed: {exc!r}"[:500])
            raise
        finally:
            stack.pop()
            self.history.record_fault(fault, str(target), start, self.history.clock.now(), "; ".join(notes), heal)

    def _notes(self) -> list[list[str]]:
        if not hasattr(self._noting, "stack"):
            self._noting.stack = []
        return self._noting.stack

    def note(self, text: str) -> None:
        """Add ``text`` to the detail of the fault event this thread is recording (none: dropped)."""
        stack = self._notes()
        if stack:
            stack[-1].append(text)

    def _stop_noted(self, replica: str, prefix: str = "") -> None:
        """Stop gracefully and note how the stop ended (SIGTERM obeyed, or a kill after the timeout)."""
        stopped = self._stop(replica)
        if stopped is not None:
            self.note(prefix + stopped.describe())

    def _address(self, replica: str) -> str | None:
        """The replica's base URL, or None when it has none now (it is down)."""
        try:
            return self.endpoint(replica)
        except BackendError:
            return None

    def _note_address(self, replica: str, before: str | None) -> None:
        """Note that a replica came back on another port (normal on docker: said plainly, since a
        client holding the old address would now reach nothing, or another replica)."""
        after = self._address(replica)
        if before is not None and after is not None and after != before:
            self.note(f"came back on {urlsplit(after).netloc} (was :{urlsplit(before).port})")

    # ---- readiness ---------------------------------------------------------------
    def wait_ready(self, replica: str, timeout: float | None = None) -> float:
        """Poll the readiness path until it answers 200 (every 0.02 s for a second, then every
        0.1 s); returns seconds waited.

        A TCP check would pass too early (docker-proxy accepts before the app
        listens), so only an HTTP 200 counts. A replica that exits fails within
        0.1 s, with its last log lines: its exit status is read at most that often,
        since on docker each read is an inspect call to the engine, which would
        otherwise cost more CPU than the polls while several replicas start at once.
        """
        timeout = timeout if timeout is not None else self.spec.app.ready_timeout
        path = self.spec.app.readiness_path
        start = time.monotonic()
        checked = -POLL_INTERVAL
        last = "no answer yet"
        with httpx.Client(timeout=httpx.Timeout(1.0, connect=0.5), verify=tls_context()) as http:
            while True:
                interrupt.check(f"waiting for replica {replica} to be ready")
                if self._stop_waiting.is_set():
                    raise DeploymentError(f"replica {replica} of {self.spec.name}: another replica failed to "
                                          "start, so this one is no longer waited for")
                if time.monotonic() - checked >= POLL_INTERVAL:
                    checked = time.monotonic()
                    code = self._exit_status(replica)
                    if code is not None:
                        raise DeploymentError(
                            f"replica {replica} of {self.spec.name} exited with code {code} before it became ready",
                            self.logs(replica),
                        )
                try:
                    response = http.get(self.endpoint(replica) + path)
                    if response.status_code == 200:
                        return time.monotonic() - start
                    last = f"HTTP {response.status_code}: {response.text[:200]}"
                except (httpx.HTTPError, BackendError) as exc:
                    last = f"{type(exc).__name__}: {exc}"
                if time.monotonic() - start > timeout:
                    raise ReadinessTimeout(
                        f"replica {replica} of {self.spec.name} was not ready on {path} after {timeout:.0f}s "
                        f"(last answer: {last})",
                        self.logs(replica),
                    )
                time.sleep(FAST_POLL if time.monotonic() - start < FAST_POLL_FOR else POLL_INTERVAL)

    def _bring_up(self, names: list[str]) -> None:
        """Create replicas in parallel and wait until all are ready.

        When one fails, or a signal stops the run, the others stop waiting within a poll
        (their waits check ``_stop_waiting`` and ``interrupt.stopping``), and only then is
        the error raised: no thread is left creating a replica while the teardown runs.
        """

        def one(name: str) -> None:
            interrupt.check(f"starting replica {name}")
            self._create_replica(name)
            self.wait_ready(name)

        self._stop_waiting.clear()  # a failed bring-up before (a scale-out the scenario survived) is over
        pool = ThreadPoolExecutor(max_workers=max(1, len(names)))
        try:
            first_error([pool.submit(one, n) for n in names])
        except BaseException:
            self._stop_waiting.set()
            pool.shutdown(wait=True, cancel_futures=True)
            raise
        pool.shutdown()

    # ---- fault verbs -------------------------------------------------------------
    @recorded(FaultName.CRASH)
    def crash(self, replica: str) -> None:
        """SIGKILL: no shutdown hook runs. The replica stays down until ``start``."""
        self._signal(replica, "SIGKILL")

    @recorded(FaultName.CRASH, heal=True)
    def start(self, replica: str) -> None:
        self._start(replica)
        self.wait_ready(replica)

    @recorded(FaultName.GRACEFUL_RESTART)
    def restart(self, replica: str) -> None:
        """Graceful restart: SIGTERM (shutdown hooks run), then start the same container."""
        self._restart(replica)

    def rolling_restart(self) -> None:
        """Gracefully restart every replica in turn, as a deploy does; each restart is one event."""
        for replica in list(self.replicas):
            with self.recording(FaultName.ROLLING_RESTART, replica):
                self._restart(replica)

    def _restart(self, replica: str) -> None:
        before = self._address(replica)
        self._stop_noted(replica)
        self._start(replica)
        self.wait_ready(replica)
        self._note_address(replica, before)

    # ---- naming and lifecycle ----------------------------------------------------
    @staticmethod
    def replica_name(index: int) -> str:
        return f"app-{index}"

    def __enter__(self) -> "Deployment":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
