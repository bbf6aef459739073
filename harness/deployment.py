"""A running target: replicas, dependencies, their addresses, and the fault verbs.

The verbs (crash, restart, redeploy, scale, pause, ...) are defined once here, in
backend-neutral terms, and every call is recorded as a fault event in the history,
whoever makes it. A backend (``backends/docker.py``) supplies only the primitive
steps. Every verb that brings a replica back waits for it to be ready over HTTP
before returning, and re-reads its address, since ports change on restart.
"""

from __future__ import annotations

import functools
import threading
import time
from abc import ABC, abstractmethod
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from typing import Any, Callable, TypeVar

import httpx

from harness import interrupt
from harness.errors import BackendError, DeploymentError, ReadinessTimeout
from harness.history import History
from harness.spec import TargetSpec
from harness.tls import tls_context

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


def recorded(fault: str) -> Callable[[F], F]:
    """Record a verb as a fault event (start, end, target) in the deployment's history."""

    def wrap(method: F) -> F:
        @functools.wraps(method)
        def verb(self: "Deployment", target: Any = None, *args: Any, **kwargs: Any) -> Any:
            start = self.history.clock.now()
            detail = ""
            try:
                return method(self, target, *args, **kwargs)
            except BaseException as exc:
                detail = f"failed: {exc!r}"[:500]
                raise
            finally:
                self.history.record_fault(fault, str(target), start, self.history.clock.now(), detail)

        return verb  # type: ignore[return-value]

    return wrap


class Deployment(ABC):
    """Base of every backend's deployment. A context manager: leaving it tears all down."""

    def __init__(self, spec: TargetSpec, history: History | None = None) -> None:
        from harness.report.redact import remember, spec_secrets

        remember(*spec_secrets(spec))  # its errors and log lines are scrubbed of them (HarnessError)
        self.spec = spec
        self.history = history if history is not None else History()
        self.replicas: list[str] = []
        #: set when a replica's start failed or the run is stopping: the others stop waiting for theirs
        self._stop_waiting = threading.Event()

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
    def _stop(self, replica: str) -> None:
        """Graceful stop: SIGTERM, then SIGKILL after the spec's stop_timeout."""

    @abstractmethod
    def _start(self, replica: str) -> None:
        """Start a stopped replica, keeping its writable state."""

    @abstractmethod
    def _remove(self, replica: str) -> None: ...

    @abstractmethod
    def _pause(self, replica: str) -> None: ...

    @abstractmethod
    def _unpause(self, replica: str) -> None: ...

    @abstractmethod
    def _exit_status(self, replica: str) -> int | None:
        """The exit code if the replica's process has ended, else None."""

    @abstractmethod
    def logs(self, name: str, lines: int = 30) -> str: ...

    # ---- shared dependencies (harness.backends.pool) -------------------------------
    def dependency_names(self) -> set[str]:
        """Names of the dependencies this deployment runs itself."""
        return set()

    def shareable_dependencies(self) -> bool:
        """Whether these dependencies can be wiped and handed to the next deployment."""
        return False

    def wipe_dependencies(self) -> None:
        """Empty every dependency's state (the app's database recreated, Redis flushed)."""
        raise BackendError(f"{type(self).__name__} cannot wipe its dependencies")

    @abstractmethod
    def _dependency_action(self, name: str, action: str) -> None:
        """``restart``, ``stop`` or ``start`` a dependency, waiting for readiness when it comes up."""

    @abstractmethod
    def _network_action(self, name: str, connected: bool) -> None:
        """Cut (``connected=False``) or restore the network between a dependency and the replicas.

        The dependency keeps running; only the replicas lose it. Restoring waits until
        the dependency answers its readiness probe again.
        """

    @abstractmethod
    def close(self) -> None:
        """Remove everything this deployment created. Idempotent; never raises for leftovers."""

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
    @recorded("crash")
    def crash(self, replica: str) -> None:
        """SIGKILL: no shutdown hook runs. The replica stays down until ``start``."""
        self._signal(replica, "SIGKILL")

    @recorded("start")
    def start(self, replica: str) -> None:
        self._start(replica)
        self.wait_ready(replica)

    @recorded("restart")
    def restart(self, replica: str) -> None:
        """Graceful restart: SIGTERM (shutdown hooks run), then start the same container."""
        self._stop(replica)
        self._start(replica)
        self.wait_ready(replica)

    @recorded("redeploy")
    def redeploy(self, replica: str) -> None:
        """Remove the replica and create it anew: its writable layer is gone, as after a deploy."""
        self._stop(replica)
        self._remove(replica)
        self._create_replica(replica)
        self.wait_ready(replica)

    @recorded("scale")
    def scale(self, count: int) -> None:
        """Add replicas (started in parallel) or remove the newest ones, gracefully."""
        if count < 1:
            raise BackendError(f"scale({count}): a deployment needs at least one replica")
        current = len(self.replicas)
        if count > current:
            names = [self.replica_name(i) for i in range(current, count)]
            self.replicas.extend(names)
            self._bring_up(names)
        for name in self.replicas[count:][::-1]:
            self._stop(name)
            self._remove(name)
            self.replicas.remove(name)

    @recorded("pause")
    def pause(self, replica: str) -> None:
        self._pause(replica)

    @recorded("resume")
    def resume(self, replica: str) -> None:
        self._unpause(replica)

    @recorded("restart-dependency")
    def restart_dependency(self, name: str) -> None:
        self._dependency_action(name, "restart")

    @recorded("stop-dependency")
    def stop_dependency(self, name: str) -> None:
        self._dependency_action(name, "stop")

    @recorded("start-dependency")
    def start_dependency(self, name: str) -> None:
        self._dependency_action(name, "start")

    @recorded("network-cut")
    def cut_network(self, dependency: str) -> None:
        """Disconnect a running dependency from the replicas: their connections hang or fail."""
        self._network_action(dependency, False)

    @recorded("network-heal")
    def heal_network(self, dependency: str) -> None:
        """Reconnect the dependency under its usual name and wait until it answers again."""
        self._network_action(dependency, True)

    # ---- naming and lifecycle ----------------------------------------------------
    @staticmethod
    def replica_name(index: int) -> str:
        return f"app-{index}"

    def __enter__(self) -> "Deployment":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
