"""Synthetic soak histories for the state checkers, and the cases the checker benchmark times.

``CASES`` maps a case name to (checker, make): ``make(n_ops, violating, seed)`` builds a
history of about ``n_ops`` operations, ``checker(history)`` judges it (the runner,
``benchmarks/checker_throughput.py``, times only the checker).

A history is what a soak against a *correct* app records: several concurrent clients
(each one request at a time, 2-12 ms each) on three replicas, over shared key pools (the
same record updated from several replicas at once, one counter incremented by several
clients while others read it, a session logged out on one replica while another reads
it). Each request takes effect at a random instant inside its own [start, end], in that
order, on one shared store, exactly as a correct app behind a shared database would.
A fault every ~10 s, each healed before the next (crash and restart of a replica, a
graceful restart, a dependency outage and a dependency restart of postgres): requests to
a replica that is down fail (connection refused), those it was serving when it died end
unknown (applied or not), and during an outage a correct app answers 503 (unknown, not
applied). 1 % of the other requests end unknown (a read timeout; applied or not). After
the last fault healed, every item is read back on every replica (phase ``final``).

``violating=True`` plants about one violation per hundred operations: a read answers a
state the store never had at that moment (a record or session missing, an older record
state, a counter reset to zero, a file with another checksum, a logged-out session still
accepted, a broken invariant), and for ``fail-loud`` the app acknowledges writes during
an outage and forgets them (the ``fallback`` bug).

    .venv/bin/python benchmarks/histories_state.py [--ops 100000] [--violating] [--case records]

(a quick look in one process; ``benchmarks/checker_throughput.py`` runs each case in its own.)
"""

from __future__ import annotations

import argparse
import heapq
import random
import resource
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from harness.checkers import STATE_CHECKERS, check_counters, check_fail_loud, check_files  # noqa: E402
from harness.checkers import check_invariants, check_records, check_sessions  # noqa: E402
from harness.checkers.base import Verdict, judge  # noqa: E402
from harness.checkers.causes import causes  # noqa: E402
from harness.checkers.faults_as_claimed import with_fault_findings  # noqa: E402
from harness.history import History, Outcome  # noqa: E402
from harness.policy import effective  # noqa: E402

REPLICAS = ("app-0", "app-1", "app-2")
CLIENTS = 8
FAULT_EVERY = 10.0  # seconds between faults (the soak's intensity), each healed before the next
POSTGRES = "postgres"
#: the share of planted wrong answers among the operations that can carry one (about 1 in 100 operations)
PLANT = 0.012
#: how many long-lived records, counters and sessions every client keeps coming back to
HOT = 40

OK, FAIL, UNKNOWN = Outcome.OK, Outcome.FAIL, Outcome.UNKNOWN

Apply = Callable[[bool, bool], Any]  # (applied, acknowledged) -> the value answered


class Store:
    """The shared store of a correct app, and the key pools the clients contend on."""

    boost = 1.0

    def __init__(self, rng: random.Random, violating: bool) -> None:
        self.rng = rng
        self.violating = violating
        # more often where few of a kind's operations are reads that can be judged
        self.plant = PLANT * self.boost
        self.n = 0

    def wrong(self) -> bool:
        return self.violating and self.rng.random() < self.plant


# ---- the state kinds ----------------------------------------------------------------------------


class Records(Store):
    """Records created, updated from several replicas at once, deleted, read by id; listed at the end."""

    kind = "records"
    boost = 1.8
    writes = ("create", "update", "delete")

    def __init__(self, rng: random.Random, violating: bool) -> None:
        super().__init__(rng, violating)
        self.data: dict[str, Any] = {}     # id -> data (absent: deleted)
        self.history: dict[str, list[Any]] = {}  # id -> every state it had (for planting an older one)
        self.ids: list[str] = []

    def main(self) -> tuple[str, dict[str, Any], Apply]:
        rng, roll = self.rng, self.rng.random()
        if roll < 0.11 or len(self.ids) < 5:
            self.n += 1
            data = {"nonce": f"r-{self.n}", "n": self.n}
            rid = f"rec-{self.n}"

            def create(applied: bool, acked: bool) -> Any:
                if applied:
                    self.data[rid] = data
                    self.history[rid] = [data]
                if acked:  # only an acknowledged create gives the clients its id
                    self.ids.append(rid)
                return {"id": rid}
            return "create", {"data": data}, create
        if rng.random() < 0.5:  # a few long-lived records every client keeps updating and reading
            rid = self.ids[rng.randrange(min(HOT, len(self.ids)))]
        else:  # or one of the recent ones
            rid = self.ids[-1 - min(int(rng.expovariate(1 / 15)), len(self.ids) - 1)]
        if roll < 0.36:
            self.n += 1
            data = {"nonce": f"r-{self.n}", "updated": self.n}

            def update(applied: bool, acked: bool) -> Any:
                if applied:  # an upsert: an update after a delete puts the record back
                    self.data[rid] = data
                    self.history.setdefault(rid, []).append(data)
                return {"id": rid, "updated": True}
            return "update", {"id": rid, "data": data}, update
        if roll < 0.40:
            def delete(applied: bool, acked: bool) -> Any:
                if applied and self.data.pop(rid, None) is not None:
                    self.history[rid].append(None)
                return {"deleted": True}
            return "delete", {"id": rid}, delete
        return "read", {"id": rid}, self._read(rid)

    def _read(self, rid: str) -> Apply:
        def read(applied: bool, acked: bool) -> Any:
            data = self.data.get(rid)
            if self.wrong():
                older = [s for s in self.history.get(rid, []) if s is not None and s is not data]
                data = None if data is not None and (not older or self.rng.random() < 0.5) else (
                    older[0] if older else {"nonce": "never-written"})
            return {"found": data is not None, "data": data} if data is not None else {"found": False}
        return read

    def final(self, replica: str) -> list[tuple[str, dict[str, Any], Apply]]:
        ops = [("list", {}, lambda applied, acked: {"records": dict(self.data)})]
        return ops + [("read", {"id": rid}, self._read(rid)) for rid in self.ids]


class Files(Store):
    """Files uploaded (never changed), downloaded from every replica."""

    kind = "files"
    writes = ("upload",)

    def __init__(self, rng: random.Random, violating: bool) -> None:
        super().__init__(rng, violating)
        self.files: dict[str, str] = {}
        self.ids: list[str] = []

    def main(self) -> tuple[str, dict[str, Any], Apply]:
        if self.rng.random() < 0.25 or not self.ids:
            self.n += 1
            fid, sha = f"file-{self.n}", f"{self.n:064x}"

            def upload(applied: bool, acked: bool) -> Any:
                if applied:
                    self.files[fid] = sha
                if acked:
                    self.ids.append(fid)
                return {"id": fid, "sha256": sha}
            return "upload", {"sha256": sha, "size": 1024 + self.n % 4096, "nonce": f"f-{self.n}"}, upload
        fid = self.ids[-1 - min(int(self.rng.expovariate(1 / 30)), len(self.ids) - 1)]
        return "download", {"id": fid}, self._download(fid)

    def _download(self, fid: str) -> Apply:
        def download(applied: bool, acked: bool) -> Any:
            sha = self.files.get(fid)
            if sha is not None and self.wrong():
                return {"found": False} if self.rng.random() < 0.5 else {"found": True, "sha256": "0" * 64}
            return {"found": True, "sha256": sha} if sha is not None else {"found": False}
        return download

    def final(self, replica: str) -> list[tuple[str, dict[str, Any], Apply]]:
        return [("download", {"id": fid}, self._download(fid)) for fid in self.ids]


class Sessions(Store):
    """Logins, whoami from every replica, logouts on one replica while others read the same token."""

    kind = "sessions"
    writes = ("login",)

    def __init__(self, rng: random.Random, violating: bool) -> None:
        super().__init__(rng, violating)
        self.live: dict[str, str] = {}  # token -> user
        self.tokens: list[str] = []

    def main(self) -> tuple[str, dict[str, Any], Apply]:
        roll = self.rng.random()
        if roll < 0.12 or not self.tokens:
            self.n += 1
            token, user = f"tok-{self.n:08d}-{self.rng.getrandbits(32):08x}", f"user-{self.n}"

            def login(applied: bool, acked: bool) -> Any:
                if applied:
                    self.live[token] = user
                if acked:
                    self.tokens.append(token)
                return {"token": token, "user": user}
            return "login", {"user": user}, login
        if self.rng.random() < 0.3:  # long-lived sessions, read (and now and then logged out) all along
            token = self.tokens[self.rng.randrange(min(HOT, len(self.tokens)))]
        else:
            token = self.tokens[-1 - min(int(self.rng.expovariate(1 / 20)), len(self.tokens) - 1)]
        if roll < 0.17:
            def logout(applied: bool, acked: bool) -> Any:
                revoked = token in self.live
                if applied:
                    self.live.pop(token, None)
                return {"revoked": revoked}
            return "logout", {"token": token}, logout
        return "whoami", {"token": token}, self._whoami(token)

    def _whoami(self, token: str) -> Apply:
        def whoami(applied: bool, acked: bool) -> Any:
            user = self.live.get(token)
            if self.wrong():
                return {"accepted": False} if user is not None else {"accepted": True, "user": None}
            return {"accepted": True, "user": user} if user is not None else {"accepted": False}
        return whoami

    def final(self, replica: str) -> list[tuple[str, dict[str, Any], Apply]]:
        return [("whoami", {"token": token}, self._whoami(token)) for token in self.tokens]


class Counters(Store):
    """A rotating pool of counters, each incremented by several clients at once while others read it."""

    kind = "counters"
    boost = 3.0
    writes = ("increment",)

    def __init__(self, rng: random.Random, violating: bool) -> None:
        super().__init__(rng, violating)
        self.values: dict[str, int] = {}
        self.names: list[str] = []

    def main(self) -> tuple[str, dict[str, Any], Apply]:
        self.n += 1
        if not self.names or self.n % 150 == 0:
            self.names.append(f"ctr-{len(self.names)}")
            self.values[self.names[-1]] = 0
        if self.rng.random() < 0.3:  # a few long-lived counters (a metrics total), or a recent one
            name = self.names[self.rng.randrange(min(HOT // 4, len(self.names)))]
        else:
            name = self.names[-1 - min(int(self.rng.expovariate(1 / 4)), len(self.names) - 1)]
        if self.rng.random() < 0.6:
            by = 2 if self.rng.random() < 0.1 else 1

            def increment(applied: bool, acked: bool) -> Any:
                if applied:
                    self.values[name] += by
                return {"value": self.values[name]}
            return "increment", {"name": name, "by": by}, increment
        return "read", {"name": name}, self._read(name)

    def _read(self, name: str) -> Apply:
        def read(applied: bool, acked: bool) -> Any:
            return {"value": 0 if self.values[name] > 2 and self.wrong() else self.values[name]}
        return read

    def final(self, replica: str) -> list[tuple[str, dict[str, Any], Apply]]:
        return [("read", {"name": name}, self._read(name)) for name in self.names]


class Invariants(Store):
    """The spec's rules probed on every replica: stock never negative, one default address, a status."""

    kind = "invariants"
    writes = ()
    RULES = {
        "stock-not-negative": {"json": {"path": "stock", "min": 0}},
        "one-default-address": {"count": {"json": "addresses", "where": {"is_default": True}, "equals": 1}},
        "health": {"status": 200},
        "balance-bounded": {"json": {"path": "balance", "min": 0, "max": 1000}},
    }
    REQUESTS = {rule: f"GET /{rule}" for rule in RULES}  # a spec's request, the same text for every probe

    def main(self) -> tuple[str, dict[str, Any], Apply]:
        rule = self.rng.choice(list(self.RULES))
        return "probe", {"rule": rule, "request": self.REQUESTS[rule], "expect": self.RULES[rule]}, self._probe(rule)

    def _probe(self, rule: str) -> Apply:
        def probe(applied: bool, acked: bool) -> Any:
            bad = self.wrong()
            body: Any = ({"stock": -1 if bad else 5} if rule == "stock-not-negative" else
                         {"addresses": [{"is_default": not bad}]} if rule == "one-default-address" else
                         {"balance": 1001 if bad else 10} if rule == "balance-bounded" else None)
            return {"status": 500 if bad else 200, "json": body}
        return probe

    def final(self, replica: str) -> list[tuple[str, dict[str, Any], Apply]]:
        return [("probe", {"rule": rule, "request": self.REQUESTS[rule], "expect": expect}, self._probe(rule))
                for rule, expect in self.RULES.items()]


# ---- the soak -------------------------------------------------------------------------------------


class _Soak:
    """Concurrent clients over the stores, a fault schedule, and a history recorded as requests end."""

    def __init__(self, stores: list[tuple[Store, float]], seed: int, violating: bool, outages: float = 0.25,
                 fallback: bool = False) -> None:
        self.rng = random.Random(seed)
        self.stores = stores
        self.weights = [w for _, w in stores]
        self.history = History()
        self.effects: list[tuple[float, int, Callable[[], None]]] = []  # (effect time, seq, apply)
        self.ends: list[tuple[float, int, Callable[[], None]]] = []     # (end time, seq, record)
        self.seq = 0
        self.outage_share = outages
        self.fallback = fallback and violating
        self.outage_first = fallback  # the fail-loud case: its first fault is an outage, clean or violating
        self.down: dict[str, tuple[float, float]] = {}   # replica -> (from, to)
        self.outage: tuple[float, float] | None = None
        self.next_fault = 0.2 * FAULT_EVERY
        self.fault_n = 0

    # -- faults: one at a time, each healed before the next --
    def _fault(self, now: float) -> None:
        if now < self.next_fault:
            return
        rng, self.fault_n = self.rng, self.fault_n + 1
        start = self.next_fault
        roll = rng.random()
        if roll < self.outage_share or (self.outage_first and self.fault_n == 1):  # a short history has one too
            hold = rng.uniform(1.0, 3.0)
            self._record_fault("dependency-outage", POSTGRES, start, start + 0.05)
            self._record_fault("dependency-outage", POSTGRES, start + hold, start + hold + 0.05, heal=True)
            self.outage = (start, start + hold + 0.05)
        elif roll < self.outage_share + 0.1:
            self._record_fault("dependency-restart", POSTGRES, start, start + 0.8)
            self.outage = (start, start + 0.8)
        else:
            replica = rng.choice(REPLICAS)
            fault = "crash" if roll < 0.75 else "graceful-restart"
            self._record_fault(fault, replica, start, start + 0.15)
            self._record_fault(fault, replica, start + 0.15, start + 0.5, heal=True)
            self.down[replica] = (start, start + 0.5)
        self.next_fault = start + FAULT_EVERY * rng.uniform(0.7, 1.3)

    def _record_fault(self, fault: str, target: str, start: float, end: float, heal: bool = False) -> None:
        self.seq += 1
        heapq.heappush(self.ends, (end, self.seq,
                                   lambda: self.history.record_fault(fault, target, start, end, heal=heal)))

    def _advance(self, now: float) -> None:
        """Everything that happened before ``now``: effects applied, then requests and faults ended, in order."""
        while self.effects and self.effects[0][0] < now:
            heapq.heappop(self.effects)[2]()
        while self.ends and self.ends[0][0] < now:
            heapq.heappop(self.ends)[2]()

    # -- one request --
    def request(self, store: Store, name: str, args: dict[str, Any], apply: Apply, replica: str, start: float,
                phase: str) -> float:
        rng = self.rng
        end = start + rng.uniform(0.002, 0.012)
        effect = start + rng.random() * (end - start)
        down = self.down.get(replica)
        out = self.outage
        write = name in store.writes
        status: int | None = 200
        error: str | None = None
        if down is not None and down[0] <= start < down[1]:
            outcome, status, error, applies = FAIL, None, "ConnectError: [Errno 111] Connection refused", False
        elif down is not None and start < down[0] < end:
            outcome, status, error, applies = UNKNOWN, None, "RemoteProtocolError: Server disconnected", None
        elif out is not None and out[0] < end and start < out[1] and store.kind != "invariants":
            if self.fallback and write and name != "delete":
                outcome, applies = OK, False   # acknowledged, kept in memory, lost
            else:
                outcome, status, applies = UNKNOWN, 503, False
        elif rng.random() < 0.01:
            outcome, status, error, applies = UNKNOWN, None, "ReadTimeout: timed out", None
        else:
            outcome, applies = OK, True
        if applies is None:
            applies = write and rng.random() < 0.5
        box: list[Any] = [None]
        seq = self.seq = self.seq + 1

        def take_effect() -> None:
            box[0] = apply(applies, outcome is OK)

        def record() -> None:
            value = box[0] if outcome is OK else None
            self.history.record_op(kind=store.kind, name=name, replica=replica, start=start, end=end,
                                   outcome=outcome, args=args, value=value, status=status if outcome is not FAIL
                                   else None, error=error, phase=phase)
        heapq.heappush(self.effects, (effect, seq, take_effect))
        heapq.heappush(self.ends, (end, seq, record))
        return end

    def run(self, n_ops: int, finals: Callable[[], int]) -> History:
        """Main-phase requests until what is left is the final read-back, then the final reads."""
        rng = self.rng
        clients = [(rng.uniform(0, 0.01), c) for c in range(CLIENTS)]
        heapq.heapify(clients)
        main = 0
        while True:
            now, c = heapq.heappop(clients)
            if main % 64 == 0 and main + finals() >= n_ops:
                break
            self._advance(now)
            self._fault(now)
            store = rng.choices(self.stores, self.weights)[0][0]
            name, args, apply = store.main()
            end = self.request(store, name, args, apply, rng.choice(REPLICAS), now, "main")
            main += 1
            heapq.heappush(clients, (end + rng.uniform(0, 0.003), c))
        # heal, settle, then read everything back on every replica, several clients at once
        now = max(now, self.next_fault - FAULT_EVERY) + 2.0
        self._advance(now)
        self.down.clear()
        self.outage = None
        work = ((store, replica, op) for replica in REPLICAS for store, _ in self.stores
                for op in store.final(replica))
        clients = [(now + rng.uniform(0, 0.01), c) for c in range(CLIENTS)]
        heapq.heapify(clients)
        for store, replica, (name, args, apply) in work:
            t, c = heapq.heappop(clients)
            self._advance(t)
            end = self.request(store, name, args, apply, replica, t, "final")
            heapq.heappush(clients, (end + rng.uniform(0, 0.003), c))
        self._advance(float("inf"))
        return self.history


def _finals(stores: list[tuple[Store, float]]) -> Callable[[], int]:
    def count() -> int:
        total = 0
        for store, _ in stores:
            size = (len(store.ids) + 1 if isinstance(store, Records) else len(store.ids) if isinstance(store, Files)
                    else len(store.tokens) if isinstance(store, Sessions)
                    else len(store.names) if isinstance(store, Counters) else len(Invariants.RULES))
            total += size
        return total * len(REPLICAS)
    return count


def _make(kinds: dict[type[Store], float], outages: float = 0.25, fallback: bool = False,
          setup: bool = False) -> Callable[[int, bool, int], History]:
    def make(n_ops: int, violating: bool = False, seed: int = 0) -> History:
        rng = random.Random(seed * 7919 + 1)
        stores = [(cls(rng, violating), share) for cls, share in kinds.items()]
        soak = _Soak(stores, seed, violating, outages=outages, fallback=fallback)
        if setup:
            soak.history.record_op(kind="invariants", name="setup", replica=REPLICAS[0], start=0.0, end=0.005,
                                   outcome=OK, args={"step": 1, "request": "POST /seed",
                                                     "rules": list(Invariants.RULES)}, value={"status": 201},
                                   status=201)
        return soak.run(n_ops, _finals(stores))
    return make


def judge_all(history: History) -> Verdict:
    """What a soak does with its history: every checker under the default policy, the faults' own
    findings, and the violations grouped by cause."""
    checkers = [*STATE_CHECKERS, check_fail_loud, check_invariants]
    verdict = with_fault_findings(judge(history, checkers, effective()), history)
    grouped = causes(verdict, history)
    return replace(verdict, stats={**verdict.stats, "causes": grouped})


CASES: dict[str, tuple[Callable[[History], Verdict], Callable[[int, bool, int], History]]] = {
    "records": (check_records, _make({Records: 1.0})),
    "files": (check_files, _make({Files: 1.0})),
    "sessions": (check_sessions, _make({Sessions: 1.0})),
    "counters": (check_counters, _make({Counters: 1.0})),
    "fail-loud": (check_fail_loud, _make({Records: 0.4, Files: 0.2, Sessions: 0.2, Counters: 0.2},
                                         outages=0.55, fallback=True)),
    "invariants": (check_invariants, _make({Invariants: 1.0}, setup=True)),
    "judge-all": (judge_all, _make({Records: 0.35, Files: 0.15, Sessions: 0.2, Counters: 0.25, Invariants: 0.05},
                                   setup=True)),
}

#: the invariants checker reports one violation per rule and counts the broken probes in its stats
FOUND: dict[str, Callable[[Verdict], int]] = {
    "invariants": lambda verdict: sum(int(s.get("broken", 0)) for s in verdict.stats.values() if isinstance(s, dict)),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ops", type=int, default=100_000)
    parser.add_argument("--violating", action="store_true")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--case", action="append", choices=sorted(CASES))
    args = parser.parse_args()
    for name in args.case or list(CASES):
        checker, make = CASES[name]
        t = time.perf_counter()
        history = make(args.ops, args.violating, args.seed)
        built = time.perf_counter() - t
        t = time.perf_counter()
        verdict = checker(history)
        took = time.perf_counter() - t
        print(f"{name:11} {len(history.operations()):>9,} ops  {len(history.faults()):>4} faults  built {built:6.1f} s  "
              f"judged {took:7.2f} s  {verdict.validity.value:7} {len(verdict.violations):>7,} violations  "
              f"peak {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:6.0f} MB", flush=True)


if __name__ == "__main__":
    main()
