"""How a response, or its absence, becomes an outcome: the one table the client, the adapters and the load share.

An outcome says what the history may assume about an operation's effect, as in Jepsen:
``ok`` it was acknowledged (or definitely answered), ``fail`` it definitely did not take
effect, ``unknown`` it may or may not have. A checker counts a ``fail`` as never applied,
so a ``fail`` recorded for something the app did apply is a false alarm in waiting
(a "lost" or "unexpected" record, a denial the rate limit cannot explain). Hence every
rule below says ``fail`` only when "not applied" is certain, and ``unknown`` otherwise.

Statuses the operation declares (a spec's ``accepted``, ``rejected``, ``limited``, or a
Python adapter's own reading) are answers: ``ok``. Any other status is read by its class
(:func:`status_outcome`):

=========  =========  ====================================================================
status     outcome    why
=========  =========  ====================================================================
4xx        fail       the app refused the request: it was not acted on
5xx        unknown    the app may have applied the write before failing
3xx        unknown    a redirect is not a refusal: Post/Redirect/Get answers a write that
                      succeeded with 303, a login sets its cookie on a 302, and the
                      harness follows no redirect, so it cannot tell those from a moved page
2xx        unknown    a success the operation does not declare has no declared reading,
                      so there is no value to record as ``ok``; it is not a refusal either
other      unknown    1xx as a final answer, or outside 100-599: nothing is certain
=========  =========  ====================================================================

With no response, the phase of the failure decides (:func:`error_outcome`, the table
:data:`ERROR_OUTCOMES`, by exception class, most specific first): a request that never
left (connection refused, connect timeout, no free connection, no address for the
replica) provably did nothing: ``fail``. One that was sent but whose answer was lost
(read timeout, reset, protocol error) may have been applied: ``unknown``. An exception
the table does not list is ``unknown``, never ``fail``. And when an earlier request of
the same operation was answered (a Python adapter's multi-step flow), a later one that
was never sent does not make the operation ``fail``: the earlier one may have done it.

The load's records come from locust in processes of their own, so only the exception's
name reaches the harness (``ConnectionRefusedError: [Errno 111] ...``); the name is
resolved to its class (builtins, httpx, the harness's errors) and goes through the same
table (:func:`error_name_outcome`).
"""

from __future__ import annotations

import builtins

import httpx

from harness import errors
from harness.history import Outcome

#: exception class -> outcome when no response came, most specific first; anything else is unknown.
ERROR_OUTCOMES: tuple[tuple[type[BaseException], Outcome], ...] = (
    (errors.BackendError, Outcome.FAIL),  # no address for the replica: nothing was sent
    (httpx.ConnectError, Outcome.FAIL),
    (httpx.ConnectTimeout, Outcome.FAIL),
    (httpx.PoolTimeout, Outcome.FAIL),  # no connection to send on
    (ConnectionRefusedError, Outcome.FAIL),  # the socket-level refusal (locust's client raises it bare)
    (httpx.TimeoutException, Outcome.UNKNOWN),  # read and write timeouts: sent, or partly sent
    (httpx.TransportError, Outcome.UNKNOWN),
)


def status_outcome(status: int) -> Outcome:
    """The outcome of a status the operation does not declare (see the module's table)."""
    return Outcome.FAIL if 400 <= status < 500 else Outcome.UNKNOWN


def error_type_outcome(exc_type: type[BaseException]) -> Outcome:
    """The outcome of a failure of this class with no response."""
    for listed, outcome in ERROR_OUTCOMES:
        if issubclass(exc_type, listed):
            return outcome
    return Outcome.UNKNOWN


def error_outcome(exc: BaseException, answered: bool = False) -> Outcome:
    """The outcome of an operation that ended on ``exc``.

    ``answered``: an earlier request of the same operation got a response, so a request
    that was never sent after it cannot prove the operation did nothing.
    """
    outcome = error_type_outcome(type(exc))
    return Outcome.UNKNOWN if answered and outcome is Outcome.FAIL else outcome


_SCOPES = (builtins, httpx, errors)
_BY_NAME: dict[str, Outcome] = {}


def error_name_outcome(name: str) -> Outcome:
    """The outcome of a failure known only by its exception's class name (``ConnectionRefusedError``).

    The name is looked up among the builtins, httpx's and the harness's exceptions and
    classified like an exception of that class; a name none of them has is unknown.
    """
    outcome = _BY_NAME.get(name)
    if outcome is None:
        outcome = Outcome.UNKNOWN
        for scope in _SCOPES:
            found = getattr(scope, name, None)
            if isinstance(found, type) and issubclass(found, BaseException):
                outcome = error_type_outcome(found)
                break
        _BY_NAME[name] = outcome
    return outcome


__all__ = ["ERROR_OUTCOMES", "Outcome", "error_name_outcome", "error_outcome", "error_type_outcome",
           "status_outcome"]
