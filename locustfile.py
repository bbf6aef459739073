"""Rate-limit load across every replica of a deployment, with one record per response.

The harness (``harness/load/runner.py``) runs this file with locust in processes of
their own: importing locust monkey-patches a process with gevent, which breaks
pytest, subprocess and SSL users, so the harness never imports it. Each locust
user sends the target's rate-limited request (``operations.rate_limit.hit``, rendered
per client key by ``harness.load.plan``) to one of the running replicas (the users
are spread evenly over them), round-robin over the client keys, as fast as it can,
except that a request which might straddle a rate-limit window boundary is held
until just past it (the plan's ``hold``), so every hit falls surely in one window.
Every single response is written by a ``request`` event listener as one
tab-separated line::

    start  end  replica  key  status  latency_ms  error

(epoch seconds; ``status`` empty and ``error`` set when no HTTP answer came), so
the rate-limit checker counts exactly, with no sampling. The spec's denial status
(429, or e.g. 403) is a correct answer: it is marked a success with
``catch_response``, so locust's failure count means "no definite answer" only.

Configuration, all through the environment (set by the harness):

``HARNESS_LOAD_PLAN``       JSON file of the rendered requests (``harness.load.plan``); or
``HARNESS_LOAD_SPEC``       a target spec, rendered here with the harness, for the keys in
``HARNESS_LOAD_KEYS``       (comma-separated; default ``load-0,load-1,load-2,load-3``)
``HARNESS_LOAD_ENDPOINTS``  JSON file ``{"replicas": {name: url or null}}``, re-read when it
                            changes (ports change after a restart), or the same JSON inline
``HARNESS_LOAD_RECORDS``    folder for this process's record file, ``records-<host>-<pid>.tsv``
``HARNESS_LOAD_WAIT``       seconds a user waits between requests (default 0)
``HARNESS_LOAD_MAX_REQUESTS`` requests one process sends at most (default 10 000 000)
``HARNESS_LOAD_DURATION``   seconds of load when distributed (see below)

Distributed runs (``--processes N``, or ``--master`` plus ``--worker`` on other machines):
each process that sends requests writes its own record file (named by host and pid);
the harness merges them. A worker that has no ``HARNESS_LOAD_RECORDS`` (one started by
hand on another machine) sends its records to the master with its stats reports
instead, and the master writes them as ``records-remote-<worker>.tsv``; such a worker
also gets the plan and every new version of the endpoints from the master, so it
needs only locust and this file (``locust --worker -f - --master-host HOST``).
Runs are bounded: the harness always passes ``--run-time`` and ``--stop-timeout``, and
each process stops its users after ``HARNESS_LOAD_MAX_REQUESTS``.

Why a distributed run ends on ``HARNESS_LOAD_DURATION`` and not on ``--run-time``: at
``--run-time`` a headless master quits at once and waits only 0.5 s for the workers'
last stats, so under load locust's own totals miss the last requests (seen here:
2153 counted, 2650 sent and recorded). Instead the master stops the workers first and
waits for them (locust's ``stop``: in-flight requests finish within ``--stop-timeout``),
each worker sends its stats as its users stop, and only then the master quits; the
``--run-time`` the harness passes is then a backstop a little past the duration.
"""

from __future__ import annotations

import itertools
import json
import math
import os
import socket
import sys
import time
from typing import Any

import gevent
from locust import FastHttpUser, constant, events, task
from locust.exception import StopUser
from locust.runners import MasterRunner, WorkerRunner

try:  # One request sent = one request recorded: no silent resend on a dropped keep-alive connection.
    # geventhttpclient resends an idempotent request (a GET) once the connection closes after it
    # was sent; the app may have served the first copy, so one recorded response would stand for
    # two served requests, and a hit that may have been counted would be recorded as refused.
    import geventhttpclient.client as _ghc

    _ghc._may_retry_after_send_error = lambda method: False
except ImportError:  # pragma: no cover - locust always brings it
    pass

PLAN_FILE = os.environ.get("HARNESS_LOAD_PLAN")
SPEC_FILE = os.environ.get("HARNESS_LOAD_SPEC")
KEYS = [k for k in os.environ.get("HARNESS_LOAD_KEYS", "load-0,load-1,load-2,load-3").split(",") if k]
ENDPOINTS_SOURCE = os.environ.get("HARNESS_LOAD_ENDPOINTS")
RECORDS_DIR = os.environ.get("HARNESS_LOAD_RECORDS")
WAIT = float(os.environ.get("HARNESS_LOAD_WAIT", "0"))
MAX_REQUESTS = int(os.environ.get("HARNESS_LOAD_MAX_REQUESTS", "10000000"))
DURATION = float(os.environ.get("HARNESS_LOAD_DURATION", "0"))

RELOAD_EVERY = 0.2       # s: how often users look at the endpoints file (a stat)
GUARD_MIN = 0.02         # s: a request this close to a window boundary is held even at zero latency
GUARD_LATENCIES = 2.0    # ... and one that close, in multiples of the user's recent latency
ERROR_PAUSE = 0.05       # s: a user's pause after a connection error, so a dead port is not hammered
PLAN_MESSAGE = "harness_plan"
PLAN_REQUEST = "harness_plan_request"
RECORDS_FIELD = "harness_records"
STARTED = "load-started"  # written into the records folder when the users start


class Plan:
    """The rendered request per key and what its statuses mean (from ``harness.load.plan``)."""

    def __init__(self, raw: dict[str, Any]) -> None:
        self.raw = raw
        self.keys: list[str] = list(raw["keys"])
        self.requests = {k: (r["method"], r["path"], r["headers"] or None, r["body"])
                         for k, r in raw["requests"].items()}
        self.answers = frozenset(raw["accepted"]) | frozenset(raw["limited"])
        self.window = float(raw.get("window") or 0.0)
        self.hold = float(raw.get("hold") or 0.0) if self.window > 0 else 0.0


def _local_plan() -> Plan | None:
    if PLAN_FILE:
        with open(PLAN_FILE, encoding="utf-8") as fh:
            return Plan(json.load(fh))
    if SPEC_FILE:
        from harness import load_spec
        from harness.load import build_plan  # the harness is needed only where the spec is

        return Plan(build_plan(load_spec(SPEC_FILE), KEYS).to_dict())
    return None


class Endpoints:
    """Where each replica answers now; a down replica (null) is skipped."""

    def __init__(self, source: str | None) -> None:
        self.path: str | None = None
        self.raw: dict[str, Any] | None = None
        self.targets: list[tuple[str, str]] = []
        self.version = 0
        self._signature: tuple[int, int, int] | None = None
        self._checked = 0.0
        if source and source.lstrip().startswith("{"):
            self.set(json.loads(source))
        elif source:
            self.path = source
            self.reload(force=True)

    @property
    def local(self) -> bool:
        return self.raw is not None or self.path is not None

    def set(self, raw: dict[str, Any]) -> None:
        replicas = raw.get("replicas", raw)
        self.raw = {"replicas": replicas}
        self.targets = [(name, url.rstrip("/")) for name, url in replicas.items() if url]
        self.version += 1

    def reload(self, force: bool = False) -> None:
        """Re-read the file if it was replaced; cheap enough to call before every request."""
        if self.path is None:
            return
        now = time.monotonic()
        if not force and now - self._checked < RELOAD_EVERY:
            return
        self._checked = now
        try:
            st = os.stat(self.path)
            signature = (st.st_ino, st.st_mtime_ns, st.st_size)
            if signature == self._signature:
                return
            with open(self.path, encoding="utf-8") as fh:
                raw = json.load(fh)
        except (OSError, ValueError):
            return  # keep the last good version; the harness replaces the file atomically
        self._signature = signature
        self.set(raw)


class Recorder:
    """This process's records: appended to its own file, or kept for the master (remote workers)."""

    def __init__(self, folder: str | None) -> None:
        self.folder = folder
        self.stream = False  # set for a worker without a folder of its own
        self.pending: list[str] = []
        self._fh: Any = None
        self._pid = 0
        self.count = 0

    def _file(self) -> Any:
        # Opened lazily, in the process that records: with --processes the file is named after
        # the forked worker's pid, not the parent's.
        if self._fh is None or self._pid != os.getpid():
            os.makedirs(self.folder, exist_ok=True)  # type: ignore[arg-type]
            self._pid = os.getpid()
            name = f"records-{socket.gethostname()}-{self._pid}.tsv"
            self._fh = open(os.path.join(self.folder, name), "a", encoding="utf-8", buffering=1 << 16)  # type: ignore[arg-type]
        return self._fh

    def add(self, line: str) -> None:
        self.count += 1
        if self.stream:
            self.pending.append(line)
        else:
            self._file().write(line)

    def take(self) -> list[str]:
        taken, self.pending = self.pending, []
        return taken

    def flush(self) -> None:
        if self._fh is not None:
            self._fh.flush()


class RemoteRecords:
    """On the master: records streamed by remote workers, one file per worker."""

    def __init__(self, folder: str) -> None:
        self.folder = folder
        self._files: dict[str, Any] = {}

    def write(self, client_id: str, lines: list[str]) -> None:
        if not lines:
            return
        fh = self._files.get(client_id)
        if fh is None:
            os.makedirs(self.folder, exist_ok=True)
            safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in client_id)
            fh = self._files[client_id] = open(os.path.join(self.folder, f"records-remote-{safe}.tsv"), "a",
                                               encoding="utf-8")
        fh.writelines(lines)
        fh.flush()

    def close(self) -> None:
        for fh in self._files.values():
            fh.close()


PLAN = _local_plan()
ENDPOINTS = Endpoints(ENDPOINTS_SOURCE)
RECORDER = Recorder(RECORDS_DIR or "harness-load-records")
_sent = 0
_user_numbers = itertools.count()


def _clean(text: str) -> str:
    return text.replace("\t", " ").replace("\n", " ").replace("\r", " ")[:200]


@events.request.add_listener
def record_response(request_type: str, name: str, response_time: float, response_length: int, response: Any = None,
                    context: dict[str, Any] | None = None, exception: BaseException | None = None,
                    start_time: float | None = None, **_: Any) -> None:
    """One line per response, written as it arrives: nothing is sampled or aggregated."""
    if not context or "replica" not in context:
        return
    end = time.time()
    status = getattr(response, "status_code", 0) or 0
    error = ""
    if not status:
        error = _clean(f"{type(exception).__name__}: {exception}") if exception is not None else "no response"
    start = start_time if start_time is not None else end - response_time / 1000.0
    RECORDER.add(f"{start:.6f}\t{end:.6f}\t{context['replica']}\t{context['key']}\t"
                 f"{status or ''}\t{response_time:.2f}\t{error}\n")


@events.init.add_listener
def on_init(environment: Any, **_: Any) -> None:
    runner = environment.runner
    if isinstance(runner, WorkerRunner):
        RECORDER.stream = RECORDS_DIR is None
        runner.register_message(PLAN_MESSAGE, _receive_plan)
        if PLAN is None or not ENDPOINTS.local:  # asked for, not pushed on connect: the handler exists by now
            runner.send_message(PLAN_REQUEST)
    if isinstance(runner, MasterRunner):
        remote = RemoteRecords(RECORDER.folder)  # type: ignore[arg-type]
        environment.events.worker_report.add_listener(
            lambda client_id, data, **_: remote.write(client_id, data.get(RECORDS_FIELD) or []))
        environment.events.quitting.add_listener(lambda **_: remote.close())
        runner.register_message(PLAN_REQUEST, lambda environment, msg, **_: _send_plan(runner, msg.node_id))
        gevent.spawn(_forward_endpoints, runner)


@events.report_to_master.add_listener
def on_report_to_master(client_id: str, data: dict[str, Any], **_: Any) -> None:
    """A streaming worker's records travel with its stats report (every 3 s, and a last one on quit)."""
    if RECORDER.stream:
        data[RECORDS_FIELD] = RECORDER.take()


@events.test_stop.add_listener
def on_test_stop(environment: Any, **_: Any) -> None:
    RECORDER.flush()
    if isinstance(environment.runner, WorkerRunner):
        # Report now, before locust's "client_stopped": the master may quit before the next periodic report.
        environment.runner._send_stats()


@events.test_start.add_listener
def on_test_start(environment: Any, **_: Any) -> None:
    if isinstance(environment.runner, WorkerRunner):
        return
    # The harness times its faults from here, not from starting locust (seconds of imports and forks).
    os.makedirs(RECORDER.folder, exist_ok=True)  # type: ignore[arg-type]
    with open(os.path.join(RECORDER.folder, STARTED), "w") as fh:  # type: ignore[arg-type]
        fh.write(f"{time.time():.6f}\n")
    if DURATION > 0 and isinstance(environment.runner, MasterRunner):
        gevent.spawn_later(DURATION, _stop_then_quit, environment.runner)


def _stop_then_quit(runner: Any) -> None:
    """Stop every worker and wait for their last stats (see the module docstring), then quit.

    A worker that reported "stopped" is no longer in the master's list, so locust's quit
    would not reach it and a remote worker would idle on until it misses the master's
    heartbeat: it is told to quit here.
    """
    from locust.rpc import Message

    workers = [worker.id for worker in runner.clients.all]
    runner.stop()
    for worker in workers:
        if worker not in runner.clients:
            runner.server.send_to_client(Message("quit", None, worker))
    runner.quit()


@events.quitting.add_listener
def on_quitting(**_: Any) -> None:
    RECORDER.flush()


def _send_plan(runner: Any, client_id: str | None = None) -> None:
    """Hand the plan and the endpoints to workers that have neither (remote ones)."""
    if PLAN is None and ENDPOINTS.raw is None:
        return
    runner.send_message(PLAN_MESSAGE, {"plan": PLAN.raw if PLAN else None, "endpoints": ENDPOINTS.raw},
                        client_id=client_id)


def _forward_endpoints(runner: Any) -> None:
    """On the master: send each new version of the endpoints file to the workers."""
    seen = ENDPOINTS.version
    while True:
        gevent.sleep(RELOAD_EVERY)
        ENDPOINTS.reload()
        if ENDPOINTS.version != seen:
            seen = ENDPOINTS.version
            _send_plan(runner)


def _receive_plan(environment: Any, msg: Any, **_: Any) -> None:
    global PLAN
    data = msg.data or {}
    if PLAN is None and data.get("plan"):
        PLAN = Plan(data["plan"])
    if ENDPOINTS.path is None and data.get("endpoints"):
        ENDPOINTS.set(data["endpoints"])


class RateLimitUser(FastHttpUser):
    """Hits the rate-limited request on one of the running replicas, round-robin over the client keys."""

    wait_time = constant(WAIT)
    host = "http://127.0.0.1"  # every request names its replica's full URL
    network_timeout = 5.0
    connection_timeout = 1.0
    max_retries = 0

    def on_start(self) -> None:
        self.number = next(_user_numbers) + os.getpid()  # different starting points in each process
        self.sent = 0
        self.valid: frozenset[int] | None = None
        self.latency = 0.0  # s, a moving average of this user's response times

    def hold_past_boundary(self, plan: Plan) -> None:
        """Wait out a window boundary this request might straddle (see ``hold`` in harness.load.plan).

        A request sent now ends about one latency later; if that may be after the boundary
        (less the checker's tolerance), it is sent just past the boundary instead.
        """
        if not plan.hold:
            return
        now = time.time()
        boundary = (math.floor(now / plan.window) + 1) * plan.window
        guard = min(GUARD_MIN + GUARD_LATENCIES * self.latency, plan.window / 4)
        if boundary - now < plan.hold + guard:
            gevent.sleep(boundary + plan.hold - now)

    @task
    def hit(self) -> None:
        global _sent
        plan = PLAN
        ENDPOINTS.reload()
        targets = ENDPOINTS.targets
        if plan is None or not targets:  # a remote worker before the master's plan arrived, or all down
            gevent.sleep(ERROR_PAUSE)
            return
        if _sent >= MAX_REQUESTS:
            raise StopUser()
        _sent += 1
        # Each user stays on one replica (the users of a process are spread evenly over them; when
        # one is down they spread over the others) and rotates over the keys. Users rotating over
        # replicas would queue up behind the slowest replica of the moment while the others idle;
        # fixed users per replica load every replica fully, as wrk's fixed connections do.
        replica, base = targets[self.number % len(targets)]
        key = plan.keys[(self.number + self.sent) % len(plan.keys)]
        self.sent += 1
        method, path, headers, body = plan.requests[key]
        self.hold_past_boundary(plan)
        sent_at = time.monotonic()
        if self.valid is None:
            # A status outside locust's "valid" set goes through its error path (an exception and a
            # text dump of the whole exchange per response), and most answers here are denials: the
            # spec's statuses are made valid. catch_response still decides success and failure.
            agent = self.client.client
            self.valid = agent.valid_response_codes = frozenset(agent.valid_response_codes) | plan.answers
        with self.client.request(method, base + path, name=f"{replica} {method} rate_limit.hit", data=body,
                                 headers=headers, catch_response=True, allow_redirects=False,
                                 context={"replica": replica, "key": key}) as response:
            status = response.status_code
            if status in plan.answers:
                response.success()  # allowed, or denied by the limit: both are correct answers
            elif status:
                response.failure(f"HTTP {status}")
        self.latency = 0.8 * self.latency + 0.2 * (time.monotonic() - sent_at)
        if not status:  # no answer: the port may have moved (restart) or the replica is down
            ENDPOINTS.reload(force=True)
            gevent.sleep(ERROR_PAUSE)


if PLAN is None and ENDPOINTS.path is None and ENDPOINTS.raw is None and "--worker" not in sys.argv:
    print("locustfile.py: set HARNESS_LOAD_PLAN (or HARNESS_LOAD_SPEC) and HARNESS_LOAD_ENDPOINTS; "
          "the harness does this for you: `harness run --suite load`", file=sys.stderr)
