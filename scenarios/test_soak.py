"""Soak suite: one short soak, concurrent clients under a random fault schedule drawn from the seed.

The fixed suites write from one thread around one fault; a soak runs ``--soak-clients``
clients (default 2) of mixed operations over every state kind the target has, on random
replicas and shared keys, for ``--soak-duration`` seconds (default 30), while faults this
backend and target support come one at a time, each healed before the next; then every
replica reads everything back and every checker judges the whole history. The seed
(``--seed``) names the schedule, so a failure replays with the same seed. Long soaks,
shrinking and ``repro.json`` are ``harness soak``'s.
"""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.soak


def test_soak(harness) -> None:
    harness.assert_pass(harness.soak())
