"""The attach backend: an environment that already runs, faulted by the commands its spec gives.

Nothing is deployed, nothing removed: the replicas are the URLs of the spec's ``attach``
section (``harness.attach_spec``), and every fault verb runs the command given for it,
with ``{replica}``, ``{url}``, ``{dependency}`` or ``{count}`` filled in, then waits until
its work is done (a command that exits 0, if it gives one, then the readiness path on the
replicas it brought back). A command runs without a shell (split like a shell line, each placeholder one
argument) unless the verb asks for ``sh -c``; its output is scrubbed of secrets before it
reaches an error or a fault event's detail, and a command that fails is a ``BackendError``
naming the verb, the command and its exit status.

What the deployment can do is the verbs given: ``attach_kind`` builds its class from the
core and only the capability mixins whose verbs are all there, so a scenario needing
another is skipped with the capability's name, as on any backend. The environment's
state is never wiped (``owns_state`` is False): the plugin gives each scenario a seed of
its own, so no workload meets the keys of an earlier run.
"""

from __future__ import annotations

import functools
import shlex
import subprocess
import time
from contextlib import ExitStack
from typing import Any, ClassVar

import httpx

from harness import interrupt
from harness.attach_spec import AttachSpec, Ready, Verb, Verbs
from harness.capabilities import DependencyFaultable, NetworkCuttable, Pausable, Redeployable, Scalable
from harness.deployment import POLL_INTERVAL, Deployment, Stopped, recorded
from harness.errors import BackendError, DeploymentError, MissingCapability, ReadinessTimeout
from harness.history import History
from harness.redaction import scrub
from harness.spec import TargetSpec
from harness.tls import tls_context
from harness.vocabulary import FaultName

#: a ``ready.command`` is run this often until it exits 0
COMMAND_POLL = 0.5
#: characters of a command's output kept in an error or a fault event's detail
OUTPUT_TAIL = 400


def render(verb: Verb, template: str, values: dict[str, str]) -> list[str]:
    """The argv of ``template`` with its placeholders filled in: split like a shell line, then each
    word filled (a value is one argument, whatever spaces it holds); or ``sh -c`` with every value
    quoted for the shell when the verb asks for a shell."""
    if verb.shell:
        return ["sh", "-c", template.format(**{k: shlex.quote(v) for k, v in values.items()})]
    return [word.format(**values) for word in shlex.split(template)]


def _said(argv: list[str]) -> str:
    return scrub(shlex.join(argv))


class AttachDeployment(Deployment):
    """Replicas that already run at the URLs of the spec's ``attach`` section; its verbs are commands.

    The core (crash, start, graceful and rolling restart) is this class; the capabilities are
    the mixins below, added by ``attach_kind`` only when their verbs are given.
    """

    owns_state = False

    def __init__(self, spec: TargetSpec, replicas: int = 1, history: History | None = None) -> None:
        super().__init__(spec, history)
        if spec.attach is None:
            raise BackendError(f"{spec.name}: --backend attach needs an 'attach' section in the target spec "
                               "(or --attach FILE): the replicas' URLs and a command per fault verb")
        self.attach: AttachSpec = spec.attach
        self._urls = {r.name: r.base for r in self.attach.replicas}
        self._count = replicas
        if replicas > len(self.attach.replicas):  # the environment cannot give what the scenario needs: a skip
            raise MissingCapability(f"the scenario needs {replicas} replicas, and attach.replicas lists "
                                    f"{len(self.attach.replicas)}")

    @property
    def names(self) -> list[str]:
        """Every replica that may run, in the order the section lists them."""
        return [r.name for r in self.attach.replicas]

    def up(self) -> "AttachDeployment":
        """Use the first N replicas: nothing is started, only their readiness is checked (in parallel)."""
        self.replicas = self.names[: self._count]
        self._bring_up(list(self.replicas))
        return self

    # ---- the core's primitives -------------------------------------------------------
    def endpoint(self, replica: str) -> str:
        try:
            return self._urls[replica]
        except KeyError:
            raise BackendError(f"replica {replica} is not in attach.replicas ({', '.join(self._urls)})") from None

    def _create_replica(self, replica: str) -> None:
        """Nothing to create: the environment runs its replicas (its redeploy and scale verbs make new
        ones). Only checks that ``replica`` is listed; ``_bring_up`` then waits until it answers."""
        self.endpoint(replica)

    def _signal(self, replica: str, signal: str) -> None:
        if signal != "SIGKILL":
            raise BackendError(f"an attached environment sends no {signal}: its verbs are commands")
        self._act("crash", self._replica_values(replica), replicas=[])

    def _stop(self, replica: str) -> Stopped | None:
        """Nothing is stopped apart: an attached replica's graceful stop is part of its restart verb, one
        command (``_restart``), and how that stop ended is the environment's to know (None)."""
        return None

    def _start(self, replica: str) -> None:
        self._heal_replica(replica)

    def _exit_status(self, replica: str) -> int | None:
        return None  # a replica's process is not the harness's to see

    def logs(self, name: str, lines: int = 30) -> str:
        return f"(the logs of {name} are the attached environment's own: read them where it runs)"

    def close(self) -> None:
        """Nothing to remove: the environment was there before and stays."""

    # ---- verbs ---------------------------------------------------------------------------
    @recorded(FaultName.CRASH, heal=True)
    def start(self, replica: str) -> None:
        """The crash's heal: the start verb when given, else the environment brings the replica back itself."""
        self._heal_replica(replica)

    def _heal_replica(self, replica: str) -> None:
        if self.attach.verbs.start is not None:
            self._act("start", self._replica_values(replica), replicas=[replica])
        else:
            self._wait_replicas([replica], Ready(timeout=self.spec.app.ready_timeout))

    def _restart(self, replica: str) -> None:
        self._act("restart", self._replica_values(replica), replicas=[replica])

    def rolling_restart(self) -> None:
        """The rolling-restart verb, once for the whole deployment (one event per replica, all spanning it);
        without one, the restart verb on each replica in turn."""
        if self.attach.verbs.rolling_restart is None:
            super().rolling_restart()
            return
        with ExitStack() as stack:
            for replica in self.replicas:
                stack.enter_context(self.recording(FaultName.ROLLING_RESTART, replica))
            self._act("rolling_restart", {}, replicas=list(self.replicas))

    # ---- running a verb ------------------------------------------------------------------
    def _replica_values(self, replica: str) -> dict[str, str]:
        return {"replica": replica, "url": self.endpoint(replica)}

    def _dependency_values(self, name: str) -> dict[str, str]:
        return {"dependency": self.attach.dependencies.get(name, name)}

    def _act(self, name: str, values: dict[str, str], replicas: list[str]) -> None:
        """Run verb ``name`` (a ``Verbs`` field), then wait until it is done: its ``ready.command`` exits 0,
        then ``replicas`` (those it brought back; none: no wait) answer their readiness path."""
        verb = getattr(self.attach.verbs, name)
        if verb is None:  # a capability's mixin is only there when its verbs are: a harness bug
            raise BackendError(f"attach verb {Verbs.key(name)} is not given")
        output = self.command(name, verb, verb.run, values)
        if output:
            self.note(f"{Verbs.key(name)}: {output[-OUTPUT_TAIL:]}")
        ready = verb.ready
        if ready is not None and ready.command is not None:
            self._wait_command(name, verb, ready, values)
        if replicas:
            self._wait_replicas(replicas, ready or Ready(timeout=self.spec.app.ready_timeout))

    def command(self, name: str, verb: Verb, template: str, values: dict[str, str], check: bool = True) -> str:
        """Run one command of verb ``name``; its output (stdout and stderr, scrubbed), or a ``BackendError``
        naming the verb, the command and its exit status when it fails (``check``)."""
        interrupt.check(f"running attach verb {Verbs.key(name)}")
        argv = render(verb, template, values)
        try:
            done = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                                  timeout=verb.timeout, check=False)
        except FileNotFoundError:
            raise BackendError(f"attach verb {Verbs.key(name)}: `{_said(argv)}`: program {argv[0]!r} not found "
                               "(on PATH, or give its full path)") from None
        except subprocess.TimeoutExpired as exc:
            raise BackendError(f"attach verb {Verbs.key(name)}: `{_said(argv)}` still ran after {verb.timeout:g} s "
                               f"(timeout) and was killed; output: {_tail(exc.stdout, exc.stderr)}") from None
        output = _tail(done.stdout, done.stderr)
        if check and done.returncode != 0:
            raise BackendError(f"attach verb {Verbs.key(name)}: `{_said(argv)}` exited with status "
                               f"{done.returncode}; output: {output or '(none)'}")
        return output if done.returncode == 0 else f"exit status {done.returncode}: {output}"

    def _wait_command(self, name: str, verb: Verb, ready: Ready, values: dict[str, str]) -> None:
        """Run ``ready.command`` every ``COMMAND_POLL`` seconds until it exits 0, for at most ``ready.timeout``."""
        assert ready.command is not None
        start = time.monotonic()
        last = ""
        while True:
            try:
                last = self.command(name, verb, ready.command, values)
                return
            except BackendError as exc:
                last = str(exc)
            if time.monotonic() - start > ready.timeout:
                raise DeploymentError(f"attach verb {Verbs.key(name)}: not done after {ready.timeout:g} s "
                                      f"(its ready.command never exited 0; last: {last[-OUTPUT_TAIL:]})")
            time.sleep(COMMAND_POLL)

    def _wait_replicas(self, replicas: list[str], ready: Ready) -> None:
        """Poll the readiness path (``ready.path``, else the app's) on each replica's URL until it answers 200."""
        path = ready.path or self.spec.app.readiness_path
        with httpx.Client(timeout=httpx.Timeout(1.0, connect=0.5), verify=tls_context()) as http:
            for replica in replicas:
                start, last = time.monotonic(), "no answer yet"
                url = self.endpoint(replica) + path
                while True:
                    interrupt.check(f"waiting for replica {replica} to be ready")
                    try:
                        response = http.get(url)
                        if response.status_code == 200:
                            break
                        last = f"HTTP {response.status_code}: {response.text[:200]}"
                    except httpx.HTTPError as exc:
                        last = f"{type(exc).__name__}: {exc}"
                    if time.monotonic() - start > ready.timeout:
                        raise ReadinessTimeout(f"replica {replica} of {self.spec.name} was not ready on {url} after "
                                               f"{ready.timeout:g}s (last answer: {last})")
                    time.sleep(POLL_INTERVAL)


def _tail(*parts: Any) -> str:
    text = "".join(p.decode(errors="replace") if isinstance(p, bytes) else (p or "") for p in parts).strip()
    return scrub(text[-OUTPUT_TAIL:])


# ---- capabilities: each mixed in only when all its verbs are given ----------------------------
class AttachPausable(Pausable):
    def _pause(self, replica: str) -> None:
        self._act("pause", self._replica_values(replica), replicas=[])  # type: ignore[attr-defined]

    def _unpause(self, replica: str) -> None:
        self._act("resume", self._replica_values(replica), replicas=[replica])  # type: ignore[attr-defined]


class AttachRedeployable(Redeployable):
    def _remove(self, replica: str) -> None:
        """Nothing to remove apart: the redeploy verb replaces the replica in one command."""

    @recorded(FaultName.REDEPLOY)
    def redeploy(self, replica: str) -> None:
        """The redeploy verb; done when the replica answers its readiness path again."""
        self._act("redeploy", self._replica_values(replica), replicas=[replica])  # type: ignore[attr-defined]


class AttachScalable(Scalable):
    def _remove(self, replica: str) -> None:
        """Nothing to remove apart: the scale verb removes the newest replicas in one command."""

    @classmethod
    def unscalable(cls, spec: TargetSpec, count: int) -> str | None:
        """The scale verb can only bring up replicas the section lists: a larger count is a skip, decided
        before the scenario starts, never an error in its middle."""
        listed = len(spec.attach.replicas) if spec.attach is not None else 0
        if count > listed:
            return (f"scale to {count} needs {count} replicas listed in the attach section "
                    f"(attach.replicas); it lists {listed}")
        return None

    @recorded(FaultName.SCALE)
    def scale(self, count: int) -> None:
        """The scale verb with ``{count}``; the deployment then uses the first ``count`` listed replicas,
        and waits until each answers its readiness path (the newest removed are not waited for)."""
        names: list[str] = self.names  # type: ignore[attr-defined]
        if not 1 <= count <= len(names):
            raise BackendError(f"scale({count}): attach.replicas lists {len(names)} replicas; expected 1 to "
                               f"{len(names)}")
        self._act("scale", {"count": str(count)}, replicas=names[:count])  # type: ignore[attr-defined]
        self.replicas[:] = names[:count]

    @recorded(FaultName.SCALE_TO_ZERO)
    def scale_to_zero(self, count: int) -> None:
        """The scale verb with ``{count}`` 0: the environment's own replicas go, not only the harness's list
        of them (the core's stop and remove steps do nothing here)."""
        if count != len(self.replicas) or count < 1:
            raise BackendError(f"scale_to_zero({count}): the deployment has {len(self.replicas)} replica(s)")
        self.scaled_to_zero_from = count
        self._act("scale", {"count": "0"}, replicas=[])  # type: ignore[attr-defined]
        self.replicas.clear()

    @recorded(FaultName.SCALE_TO_ZERO, heal=True)
    def scale_from_zero(self, count: int) -> None:
        """The scale verb with ``{count}`` again; done when the first ``count`` listed replicas answer."""
        names: list[str] = self.names  # type: ignore[attr-defined]
        if self.replicas or not 1 <= count <= len(names):
            raise BackendError(f"scale_from_zero({count}): expected a deployment scaled to zero and 1 to "
                               f"{len(names)} replicas")
        self._act("scale", {"count": str(count)}, replicas=names[:count])  # type: ignore[attr-defined]
        self.replicas[:] = names[:count]


class AttachDependencies(DependencyFaultable):
    VERBS: ClassVar[dict[str, str]] = {"restart": "dependency_restart", "stop": "dependency_stop",
                                       "start": "dependency_start"}

    def _dependency_action(self, name: str, action: str) -> None:
        """The dependency verb; after a restart or start, done when every replica answers its readiness path."""
        self._act(self.VERBS[action], self._dependency_values(name),  # type: ignore[attr-defined]
                  replicas=list(self.replicas) if action != "stop" else [])


class AttachNetwork(NetworkCuttable):
    def _network_action(self, name: str, connected: bool) -> None:
        """The network verb; after the heal, done when every replica answers its readiness path."""
        self._act("network_heal" if connected else "network_cut",  # type: ignore[attr-defined]
                  self._dependency_values(name), replicas=list(self.replicas) if connected else [])  # type: ignore[attr-defined]


#: the capability each group of verbs makes (``Verbs.GROUPS``), by the capability's name
MIXINS: dict[str, type[Deployment]] = {"pause": AttachPausable, "redeploy": AttachRedeployable,
                                       "scale": AttachScalable, "dependency-faults": AttachDependencies,
                                       "network-cut": AttachNetwork}


@functools.cache
def _kind(capabilities: tuple[str, ...]) -> type[AttachDeployment]:
    bases = (AttachDeployment, *(MIXINS[c] for c in capabilities))
    return type("AttachDeployment", bases, {"__module__": __name__, "__doc__": AttachDeployment.__doc__,
                                            "verbs_given": capabilities})


def attach_kind(attach: AttachSpec) -> type[AttachDeployment]:
    """The deployment class for ``attach``: the core, and the capabilities whose verbs are all given."""
    return _kind(tuple(name for name in Verbs.GROUPS if attach.verbs.given(name)))


__all__ = ["AttachDeployment", "attach_kind", "render"]
