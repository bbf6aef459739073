"""Rate limits under real load: locust across every replica, one record per response.

``plan`` renders the target's rate-limited request per client key; ``runner`` runs
locust (``locustfile.py``) headless in its own processes; ``endpoints`` publishes the
replicas' addresses to it; ``faults`` crashes or restarts a replica meanwhile;
``records`` merges the per-response records into a history; ``scenario`` ties them
into one judged scenario. Nothing here imports locust: it monkey-patches the
process it is imported in.
"""

from importlib import import_module
from typing import TYPE_CHECKING, Any

#: the public names of the load suite, and the module each lives in. Imported when first used,
#: so ``import harness.load.plan`` in a locust process stays as light as that module alone.
_EXPORTS = {
    "DuringLoad": "harness.load.faults",
    "LoadConfig": "harness.load.runner",
    "LoadError": "harness.load.runner",
    "LoadScenario": "harness.load.scenario",
    "build_plan": "harness.load.plan",
    "execute_load": "harness.load.scenario",
}

if TYPE_CHECKING:
    from harness.load.faults import DuringLoad
    from harness.load.plan import build_plan
    from harness.load.runner import LoadConfig, LoadError
    from harness.load.scenario import LoadScenario, execute_load


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'harness.load' has no attribute {name!r}")
    return getattr(import_module(_EXPORTS[name]), name)


__all__ = ["DuringLoad", "LoadConfig", "LoadError", "LoadScenario", "build_plan", "execute_load"]
