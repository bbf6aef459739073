"""The soak's clients without HTTP: seeded choices, shared keys, every kind and operation, the final read.

A fake client answers every call at once (an id for a create, a token for a login), so what is checked
is what the clients ask for: the same seed and index ask for the same things, clients meet on the
same keys, and the final read covers every replica with phase ``final``.
"""

from __future__ import annotations

import itertools
import random
import time
from collections import Counter
from pathlib import Path
from typing import Any

from harness.history import History, Outcome
from harness.soak.workload import (COOLDOWN_KEYS, HOT_COUNTERS, RATE_LIMIT_PHASES, RATE_LIMIT_TURNS, InFlight, Pool,
                                   SoakWorkload,
                                   TrackedClient)
from harness.spec import load_spec
from harness.spec_adapter import make_adapter
from harness.vocabulary import StateKind

DURABLE = Path(__file__).resolve().parents[2] / "targets" / "refapp" / "durable.yaml"
REPLICAS = ["app-0", "app-1", "app-2"]


class FakeClient:
    """Answers every operation as acknowledged, with fresh ids and tokens; keeps each call."""

    def __init__(self) -> None:
        self.adapter = make_adapter(load_spec(DURABLE))
        self.endpoints = object()  # a deployment that owns its state: listings judge every record
        self.calls: list[tuple[str, str, str, dict[str, Any], dict[str, Any], str]] = []
        self._ids = itertools.count()

    def call(self, kind: str, name: str, replica: str, variables: dict[str, Any] | None = None,
             args: dict[str, Any] | None = None, phase: str = "main") -> Any:
        variables = variables or {}
        self.calls.append((kind, name, replica, variables, variables if args is None else args, phase))
        n = next(self._ids)
        value: dict[str, Any] = {"id": f"id-{n}", "token": f"token-{n}", "expires_at": time.time() + 300,
                                 "found": True}
        return type("Op", (), {"outcome": Outcome.OK, "value": value, "status": 200})()


def run(seed: int, index: int, steps: int = 400) -> list[tuple[str, str, str]]:
    workload = SoakWorkload.for_target(seed, FakeClient().adapter)
    client, chooser = FakeClient(), workload.client(index)
    for _ in range(steps):
        chooser.step(client, REPLICAS)
    return [(kind, name, replica) for kind, name, replica, *_ in client.calls]


def test_the_same_seed_and_client_choose_the_same_operations() -> None:
    assert run(5, 0) == run(5, 0)
    assert run(5, 0) != run(5, 1)  # each client its own generator
    assert run(5, 0) != run(6, 0)


def test_a_client_chooses_the_same_kinds_and_replicas_whatever_the_others_put_in_the_pools() -> None:
    def steps(crowd: int) -> list[tuple[str, str, str, Any]]:
        workload = SoakWorkload.for_target(5, FakeClient().adapter)
        other, busy = workload.client(1), FakeClient()
        for _ in range(crowd):  # another client fills the pools first: client 0 then finds other keys
            other.step(busy, REPLICAS)
        client, chooser = FakeClient(), workload.client(0)
        for _ in range(400):
            chooser.step(client, REPLICAS)
        assert len(client.calls) == 400  # one call per step
        return [(kind, name, replica, variables.get("id")) for kind, name, replica, variables, *_ in client.calls]

    alone, crowded = steps(0), steps(300)
    assert [k for k, *_ in alone] == [k for k, *_ in crowded]
    # the replica drawn, except where a session is read or logged out on another than its own login's
    assert [r for k, _, r, _ in alone if k != "sessions"] == [r for k, _, r, _ in crowded if k != "sessions"]
    assert alone != crowded  # what a step found in the pools did change it


def test_a_client_exercises_every_kind_and_operation_of_the_target_on_every_replica() -> None:
    calls = run(3, 0, steps=3000)
    seen = {(kind, name) for kind, name, _ in calls}
    expected = {("counters", "increment"), ("counters", "read"), ("records", "create"), ("records", "read"),
                ("records", "update"), ("records", "delete"), ("records", "list"), ("files", "upload"),
                ("files", "download"), ("quotes", "create"), ("quotes", "use"), ("quotes", "read"),
                ("rate_limit", "hit"), ("cooldowns", "start"), ("sessions", "login"), ("sessions", "whoami"),
                ("sessions", "logout")}
    assert expected <= seen, expected - seen
    assert {replica for _, _, replica in calls} == set(REPLICAS)


def test_the_kinds_can_be_narrowed_to_those_the_plan_names() -> None:
    workload = SoakWorkload.for_target(1, FakeClient().adapter, kinds=("counters", "quotes", "no-such-kind"))
    assert workload.kinds == ("quotes", "counters")  # in the target's order; an unknown kind is not invented


def test_clients_meet_on_the_same_keys() -> None:
    workload = SoakWorkload.for_target(9, FakeClient().adapter)
    clients = [FakeClient() for _ in range(3)]
    choosers = [workload.client(i) for i in range(3)]
    for _ in range(600):
        for client, chooser in zip(clients, choosers):
            chooser.step(client, REPLICAS)
    names = [{c[3]["name"] for c in client.calls if c[0] == "counters"} for client in clients]
    assert all(n == set(workload.counters) for n in names) and len(workload.counters) == HOT_COUNTERS
    cooldowns = [{c[4]["key"] for c in client.calls if c[0] == "cooldowns"} for client in clients]
    assert cooldowns[0] == cooldowns[1] == cooldowns[2] and len(cooldowns[0]) <= COOLDOWN_KEYS
    # a record updated by several clients, a quote used by several
    updated = [Counter(c[3]["id"] for c in client.calls if c[:2] == ("records", "update")) for client in clients]
    assert set(updated[0]) & set(updated[1]) & set(updated[2])
    used = [{c[3]["id"] for c in client.calls if c[:2] == ("quotes", "use")} for client in clients]
    assert used[0] & used[1] & used[2]
    # every write carries its own nonce, whichever client made it
    nonces = [c[3]["data"]["nonce"] for client in clients for c in client.calls
              if c[0] == "records" and c[1] in ("create", "update")]
    assert len(nonces) == len(set(nonces))


def test_rate_limit_hits_share_their_args_and_turn_between_keys_that_rest() -> None:
    workload = SoakWorkload.for_target(2, FakeClient().adapter)
    settings = FakeClient().adapter.settings(StateKind.RATE_LIMIT)
    a = workload.key_args(StateKind.RATE_LIMIT, "k", settings)
    assert workload.key_args(StateKind.RATE_LIMIT, "k", settings) is a  # the checker reads each args once
    assert a == {"key": "k", "limit": 10, "window": 10.0, "algorithm": {"name": "fixed-window", "anchor": "epoch"}}
    slot = 10.0 + 0.3  # the model's window plus a margin: a key rests for RATE_LIMIT_TURNS - 1 slots
    for phase in range(RATE_LIMIT_PHASES):
        at = [workload.began + slot * i / 8 for i in range(8 * 2 * RATE_LIMIT_TURNS)]  # 8 looks per slot
        keys = [workload.rate_limit_key(settings, phase, t) for t in at]
        turns = [k for k, _ in itertools.groupby(keys)]  # each key for one slot, in turn, then again
        assert len(set(turns)) == RATE_LIMIT_TURNS and turns[:RATE_LIMIT_TURNS] * 2 == turns[:2 * RATE_LIMIT_TURNS]
        for key in set(keys):  # between two turns of a key: two whole slots, longer than the window
            times = [t for t, k in zip(at, keys) if k == key]
            gaps = [b - a for a, b in zip(times, times[1:]) if b - a > slot / 8 + 1e-9]
            assert all(gap > 2 * slot - slot / 8 - 1e-9 for gap in gaps)
    # the rotations' turns are staggered: some key starts a turn every slot / RATE_LIMIT_PHASES
    step = slot / 40
    changes = sorted(i * step for phase in range(RATE_LIMIT_PHASES) for i in range(1, 80)
                     if workload.rate_limit_key(settings, phase, workload.began + i * step)
                     != workload.rate_limit_key(settings, phase, workload.began + (i - 1) * step))
    assert len(changes) >= 2 * RATE_LIMIT_PHASES - 1
    assert all(abs((b - a) - slot / RATE_LIMIT_PHASES) <= step + 1e-9 for a, b in zip(changes, changes[1:]))


def test_the_final_read_reads_everything_on_every_replica() -> None:
    workload = SoakWorkload.for_target(4, FakeClient().adapter)
    writer, chooser = FakeClient(), workload.client(0)
    for _ in range(500):
        chooser.step(writer, REPLICAS)
    reader = FakeClient()
    workload.final_read(reader, REPLICAS)
    assert {c[5] for c in reader.calls} == {"final"}
    by_replica = Counter(c[2] for c in reader.calls)
    assert set(by_replica) == set(REPLICAS) and len(set(by_replica.values())) == 1
    read = {(c[0], c[1]) for c in reader.calls}
    assert {("counters", "read"), ("records", "list"), ("records", "read"), ("files", "download"),
            ("quotes", "read"), ("sessions", "whoami"), ("cooldowns", "start")} <= read
    created = {c[3]["data"]["nonce"] for c in writer.calls if c[:2] == ("records", "create")}
    assert created and sum(c[:2] == ("records", "read") for c in reader.calls) == len(created) * len(REPLICAS)


def test_a_pool_is_bounded_and_keeps_its_hot_items() -> None:
    pool: Pool[int] = Pool(hot=2, live=5, keep=10)
    rng = random.Random(0)
    for i in range(1000):
        pool.add(i, rng)
    assert len(pool) == 5 and len(pool.kept()) == 10
    assert pool.is_hot(0) and pool.is_hot(1) and not pool.is_hot(2)
    picks = Counter(pool.pick(rng) for _ in range(1000))
    assert picks[0] + picks[1] > 300  # about half the picks go to the hot items
    assert set(picks) <= {0, 1, 995, 996, 997, 998, 999}
    pool.remove(999)
    assert 999 not in {pool.pick(rng) for _ in range(200)}


def test_in_flight_gives_the_earliest_start_still_under_way() -> None:
    flight = InFlight()
    assert flight.since() is None
    a, b = flight.begin(5.0), flight.begin(3.0)
    assert flight.since() == 3.0
    flight.end(b)
    assert flight.since() == 5.0
    flight.end(a)
    assert flight.since() is None


def test_a_tracked_client_is_in_flight_until_its_operation_is_recorded() -> None:
    history, flight = History(), InFlight()
    seen: list[float | None] = []

    class Endpoints:
        def endpoint(self, replica: str) -> str:
            return "http://127.0.0.1:9"

    client = TrackedClient(Endpoints(), history, in_flight=flight)

    def action(http: Any) -> tuple[Outcome, Any]:
        seen.append(flight.since())
        return Outcome.OK, {}

    op = client.record("counters", "read", "app-0", action, {"name": "c"})
    assert seen[0] is not None and seen[0] <= op.start  # under way from before its recorded start
    assert flight.since() is None and client.last is op and not client.refused()
    client.close()
