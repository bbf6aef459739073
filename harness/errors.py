"""Every error the harness raises on purpose derives from one root.

::

    HarnessError
    ├── SpecError            a target spec is invalid (names the file and the field)
    │   └── ExtractionError  at run time, a response lacks a value the spec points at
    ├── ImageBuildError      an offline image could not be built (names the step)
    ├── ReproError           a repro.json cannot be read (names the file and the field)
    └── BackendError         the backend could not do what was asked
        ├── EngineUnavailable     no Docker engine answers
        ├── MissingCapability     a scenario needs what the backend cannot do (a skip, not a failure)
        └── DeploymentError       a replica or dependency failed to start or heal
            └── ReadinessTimeout  it started but never became ready (carries its logs)

A violation found by a checker is *not* an error: it is a verdict. Errors mean the
harness could not judge at all, so a run that raises never reports a pass.
"""

from __future__ import annotations


class HarnessError(Exception):
    """Root of the harness's own errors.

    Its text is scrubbed of secrets (``harness.redaction.scrub``) wherever it is shown:
    a message may quote a response, an environment or a replica's log lines.
    """

    def __init__(self, *args: object) -> None:
        from harness.redaction import scrub

        super().__init__(*(scrub(a) if isinstance(a, str) else a for a in args))

    def __str__(self) -> str:
        from harness.redaction import scrub

        return scrub(super().__str__())


class SpecError(HarnessError):
    """A target spec is invalid; the message names the file, the field and what was expected."""


class ExtractionError(SpecError):
    """A response the spec calls accepted lacks a value the spec says to extract from it.

    Found only at run time, but a mistake in the spec all the same: the run stops
    rather than judge a history of operations it could not read.
    """


class ImageBuildError(HarnessError):
    """An image could not be built; the message names the step that failed."""


class ReproError(HarnessError):
    """A reproducer file (``repro.json``, ``harness replay``) is missing, not JSON, or lacks a field;
    the message names the file, the field and what was expected."""


class BackendError(HarnessError):
    """The backend could not perform an action on a deployment."""


class EngineUnavailable(BackendError):
    """No container engine answers, so nothing can be deployed."""


class MissingCapability(BackendError):
    """A scenario needs a capability (``harness.capabilities``) its backend's deployments lack.

    Not a fault of the target, and nothing was judged: the plugin skips the scenario with this
    message, which names the capability and the backend.
    """


class DeploymentError(BackendError):
    """A replica or dependency failed to start, stop or heal."""

    def __init__(self, message: str, logs: str = "") -> None:
        from harness.redaction import scrub

        # A replica that prints its environment must not put it in a CI log: redacted at once.
        logs = scrub(logs)
        self.logs = logs
        if logs:
            message = f"{message}\n--- last log lines ---\n{logs}"
        super().__init__(message)


class ReadinessTimeout(DeploymentError):
    """A container runs but never answered its readiness check in time."""
