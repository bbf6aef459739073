"""The app's environment: the spec's ``app.env`` with its placeholders filled in.

Every backend fills ``{postgres.url}``-style placeholders the same way, only from
different addresses (a container's name and port on docker, 127.0.0.1 and a picked
port on local), so the rule lives here, below the backends, and none imports another.
"""

from __future__ import annotations

from types import SimpleNamespace

from harness.errors import SpecError
from harness.spec import TargetSpec


def render_env(spec: TargetSpec, addresses: dict[str, dict[str, str]],
               volumes: dict[str, str] | None = None) -> dict[str, str]:
    """Fill ``{postgres.url}``-style placeholders; an unknown one is a spec error naming the key.

    ``volumes`` maps each of ``app.volumes`` to where the app finds it (``{volume.NAME}``): its
    mount path in a container, its folder on the local backend.
    """
    namespace = {name: SimpleNamespace(**fields) for name, fields in addresses.items()}
    if volumes is None:
        volumes = {v.name: v.path for v in spec.app.volumes}
    if volumes:
        addresses = {**addresses, "volume": volumes}
        namespace["volume"] = SimpleNamespace(**volumes)
    env = {}
    for key, value in spec.app.env.items():
        try:
            env[key] = value.format_map(namespace)
        except (KeyError, AttributeError) as exc:
            known = ", ".join(f"{{{n}.{f}}}" for n, fs in addresses.items() for f in fs) or "none"
            raise SpecError(
                f"{spec.source or spec.name}: field 'app.env.{key}': placeholder {exc} is not a "
                f"dependency address of this target (known: {known})"
            ) from None
    return env


__all__ = ["render_env"]
