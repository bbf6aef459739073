"""The soak's clients: mixed random operations over every state kind the target has, on random replicas,
over key pools all clients share, so that they contend as real users do.

Races only show where requests meet: several clients increment the same few counters, update the same
few hot records, use the newest quote at nearly the same time, hit the same rate-limit key and start the
same cooldowns; a session logged in on one replica is read and logged out on others. Each operation goes
through a harness ``Client``, so its outcome follows ``harness.outcome``, and it is recorded the way the
bundled workloads record it (the same args the checkers read: a hit's key, limit, window and algorithm, a
record's unique nonce, an upload's sha256), so the existing checkers judge the history unchanged.

Every random choice a client makes comes from its own ``random.Random`` seeded by (plan seed, client
index); what it finds in the shared pools depends on how the clients interleave, which no seed fixes.
Memory stays bounded: each pool keeps a bounded set of live keys to pick from and a bounded, seeded
sample of everything written for the final read.
"""

from __future__ import annotations

import hashlib
import itertools
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Callable, Generic, Mapping, Sequence, TypeVar

from harness.adapter import Adapter
from harness.client import Client
from harness.history import Operation, Outcome
from harness.vocabulary import StateKind
from harness.workloads.rate_limit import PROBE_MARGIN, clear_after, probe_size

T = TypeVar("T")

#: keys every client picks from, per kind: few, so that clients meet on them
HOT_COUNTERS = 3
HOT_RECORDS = 4
#: rate-limit keys take turns in RATE_LIMIT_TURNS, each turn one slot long; RATE_LIMIT_PHASES such rotations run
#: side by side, their turns staggered, so that some key opens a window every slot / RATE_LIMIT_PHASES seconds
RATE_LIMIT_TURNS = 3
RATE_LIMIT_PHASES = 4
COOLDOWN_KEYS = 3
#: live items a pool picks from (the newest); older ones are only read back at the end
LIVE = 64
#: items per kind read back on every replica at the end, at most (a seeded sample beyond that)
FINAL_MOST = 1000
#: records created in a whole soak, at most (then only updated, read, deleted): a listing answers them all
RECORDS_MOST = 2000
#: listings of every record while the clients run, at most (each answer holds every record: memory)
MAIN_LISTS = 20
#: quotes live this long (most), or a short, random 1 to 3 s so that uses and reads probe their expiry
QUOTE_TTL = 300.0
SHORT_QUOTE_TTL = (1.0, 3.0)
#: bytes of an uploaded file, at most
FILE_MAX = 4096


class InFlight:
    """The start of every operation under way, so a running history can be judged up to the earliest one
    (``harness.soak.progress.check_prefix``): before it nothing can change any more."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._starts: dict[int, float] = {}
        self._ids = itertools.count()

    def begin(self, now: float) -> int:
        with self._lock:
            token = next(self._ids)
            self._starts[token] = now
            return token

    def end(self, token: int) -> None:
        with self._lock:
            self._starts.pop(token, None)

    def since(self) -> float | None:
        """The earliest start of an operation still under way; None when none is."""
        with self._lock:
            return min(self._starts.values(), default=None)


class TrackedClient(Client):
    """A harness ``Client`` that says when each of its operations began until it is recorded (``InFlight``)."""

    def __init__(self, *args: Any, in_flight: InFlight, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.in_flight = in_flight
        self.last: Operation | None = None

    def record(self, kind: str, name: str, replica: str, action: Callable[..., tuple[Outcome, Any]],
               args: dict[str, Any] | None = None, phase: str = "main") -> Operation:
        token = self.in_flight.begin(self.history.clock.now())  # before the op's own start: never later
        try:
            self.last = super().record(kind, name, replica, action, args, phase)
            return self.last
        finally:
            self.in_flight.end(token)

    def refused(self) -> bool:
        """Whether the last operation never reached the app (a replica down: connection refused, no address)."""
        return self.last is not None and self.last.outcome is Outcome.FAIL and self.last.status is None


class Pool(Generic[T]):
    """Items one kind's clients share: the first ``hot`` ever added (picked half the time, so clients meet
    on them), the newest ``live`` to pick from, and a bounded sample of all for the final read (reservoir
    sampling, drawn with the adding client's generator). Thread-safe."""

    def __init__(self, hot: int = 0, live: int = LIVE, keep: int = FINAL_MOST) -> None:
        self._lock = threading.Lock()
        self._hot: list[T] = []
        self._live: list[T] = []
        self._kept: list[T] = []
        self._seen = 0
        self.hot_most, self.live_most, self.keep_most = hot, live, keep

    def add(self, item: T, rng: random.Random) -> None:
        with self._lock:
            if len(self._hot) < self.hot_most:
                self._hot.append(item)
            self._live.append(item)
            if len(self._live) > self.live_most:
                del self._live[0]
            self._seen += 1
            if len(self._kept) < self.keep_most:
                self._kept.append(item)
            else:
                slot = rng.randrange(self._seen)
                if slot < self.keep_most:
                    self._kept[slot] = item

    def remove(self, item: T) -> None:
        """No longer picked (a deleted record, a logged-out session); still read back at the end if kept."""
        with self._lock:
            if item in self._live:
                self._live.remove(item)

    def pick(self, rng: random.Random, newest: float = 0.0) -> T | None:
        """A hot item half the time when the pool has some; else the newest live one with probability
        ``newest``, else any live one; None when there is none."""
        hot, roll = rng.random() < 0.5, rng.random()
        with self._lock:
            if hot and self._hot:
                return self._hot[rng.randrange(len(self._hot))]
            if not self._live:
                return None
            if roll < newest:
                return self._live[-1]
            return self._live[rng.randrange(len(self._live))]

    def is_hot(self, item: T) -> bool:
        with self._lock:
            return item in self._hot

    def kept(self) -> list[T]:
        with self._lock:
            return list(self._kept)

    def __len__(self) -> int:
        with self._lock:
            return len(self._live)


@dataclass(frozen=True)
class Quote:
    id: str
    expires_at: float


@dataclass(frozen=True)
class Session:
    token: str
    replica: str


def soak_keys(seed: int, owns_state: bool, nonce: str) -> str:
    """What a soak's keys, user names and nonces are made from: its seed where the deployment starts empty
    (the same seed makes the same keys, so a replay is exact), else the seed and ``nonce``, a value of
    this run alone: an environment that keeps its state (``--backend attach``) still holds every key of
    an earlier soak of the same seed (``--seed`` given again, a replay, a shrink's runs of one plan)."""
    return str(seed) if owns_state else f"{seed}-{nonce}"


@dataclass
class SoakWorkload:
    """What all clients of one soak share: the seed, the kinds exercised, the pools. ``client(i)`` makes
    client ``i``'s own chooser; ``final_read`` reads everything back on every replica (phase ``final``).

    ``kinds``: the state kinds to exercise (those the target has, narrowed by the plan's ``kinds``).
    ``invariants``: the spec's rules driven alongside (``WithInvariants``), probed now and then by
    the clients and at the end; None when the spec states none.
    """

    seed: int
    kinds: tuple[str, ...]
    invariants: Any = None
    #: what every key, user name and nonce of this soak is made from (``soak_keys``): the seed, unless
    #: set otherwise; the random choices always come from ``seed``
    keys: str = ""
    counters: tuple[str, ...] = ()
    records: Pool[str] = field(default_factory=lambda: Pool(hot=HOT_RECORDS))
    files: Pool[str] = field(default_factory=Pool)
    quotes: Pool[Quote] = field(default_factory=Pool)
    sessions: Pool[Session] = field(default_factory=Pool)
    revoked: Pool[Session] = field(default_factory=Pool)
    #: when the workload began (monotonic): the rate-limit key's time slots count from it
    began: float = field(default_factory=time.monotonic)
    _last_hit: dict[str, float] = field(default_factory=dict)
    _created: itertools.count = field(default_factory=itertools.count)
    _listed: itertools.count = field(default_factory=itertools.count)
    _args: dict[str, dict[str, Any]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.keys = self.keys or str(self.seed)
        self.counters = tuple(f"c-{self.keys}-{i}" for i in range(HOT_COUNTERS))

    @classmethod
    def for_target(cls, seed: int, adapter: Adapter, kinds: Sequence[str] | None = None,
                   invariants: Any = None, keys: str = "") -> "SoakWorkload":
        """The workload of a target: every kind its adapter has, or those of ``kinds`` it has."""
        present = [str(k) for k in adapter.kinds()]
        chosen = tuple(k for k in present if kinds is None or k in kinds)
        return cls(seed, chosen, invariants, keys=keys)

    def list_args(self, client: Client) -> dict[str, str]:
        """What a listing records (as ``RecordWorkload.list_args``): nothing, or where the environment keeps
        its state between runs, the prefix of this soak's nonces, since only its own records are judged."""
        return {} if getattr(client.endpoints, "owns_state", True) else {"own_nonces": f"r-{self.keys}-"}

    def may_create_record(self) -> bool:
        """Whether one more record may be created (``RECORDS_MOST``); counts it when it may."""
        with self._lock:
            return next(self._created) < RECORDS_MOST

    def may_list(self) -> bool:
        """Whether one more listing may be sent while the clients run (``MAIN_LISTS``); counts it."""
        with self._lock:
            return next(self._listed) < MAIN_LISTS

    def client(self, index: int) -> "SoakClient":
        return SoakClient(self, index, random.Random(f"soak-{self.seed}-{index}"))

    # ---- args shared by every operation of a key (the rate-limit checker reads each distinct args once)
    def key_args(self, kind: str, key: str, settings: Mapping[str, Any]) -> dict[str, Any]:
        with self._lock:
            args = self._args.get(f"{kind}/{key}")
            if args is None:
                if kind == StateKind.RATE_LIMIT:
                    args = {"key": key, "limit": settings["limit"], "window": settings["window"],
                            **({"algorithm": settings["algorithm"]} if "algorithm" in settings else {})}
                else:
                    args = {"key": key, "period": settings["period"]}
                self._args[f"{kind}/{key}"] = args
            return args

    def rate_limit_key(self, settings: Mapping[str, Any], phase: int = 0, now: float | None = None) -> str:
        """The key of rotation ``phase`` hit now. Each rotation's keys take turns, a turn lasting a slot of one
        window of the model plus a margin, so a key rests between its turns for longer than any window:
        the first hits of a turn must be allowed (a counter stuck since a crash kept its expiry from it is
        denied there), and the clients hammer the keys of the turn. The rotations' turns are staggered, so a
        key opens a new window every slot / ``RATE_LIMIT_PHASES`` seconds: a crash lands soon after one often."""
        slot = clear_after(settings) + PROBE_MARGIN
        elapsed = (time.monotonic() if now is None else now) - self.began
        turn = int((elapsed + slot * phase / RATE_LIMIT_PHASES) // slot)
        key = f"rl-{self.keys}-{phase}-{turn % RATE_LIMIT_TURNS}"
        with self._lock:
            self._last_hit[key] = time.monotonic()
        return key

    def hit_ended(self, key: str) -> None:
        """A hit of ``key`` was answered (or gave up): the key's rest counts from now."""
        with self._lock:
            self._last_hit[key] = time.monotonic()

    def rested_keys(self, settings: Mapping[str, Any]) -> list[str]:
        """Rate-limit keys not hit for longer than their model needs to allow a burst again."""
        wait = clear_after(settings) + PROBE_MARGIN
        now = time.monotonic()
        with self._lock:
            return sorted(k for k, t in self._last_hit.items() if now - t > wait)

    # ---- the final read ---------------------------------------------------------------------------
    def final_read(self, client: Client, replicas: list[str]) -> None:
        """Read back everything on every replica (phase ``final``), after the deployment has healed: the
        replicas in parallel (each one's reads in turn), then the rested rate-limit keys, then the rules."""
        with ThreadPoolExecutor(max_workers=max(1, len(replicas)), thread_name_prefix="final read") as pool:
            list(pool.map(lambda replica: self._read_back(client, replica), replicas))
        if StateKind.RATE_LIMIT in self.kinds:
            self._probe_rested(client, replicas)
        if self.invariants is not None:
            self.invariants.final_read(client, replicas)

    def _read_back(self, client: Client, replica: str) -> None:
        """Every kind's state on one replica."""
        supports = client.adapter.supports
        for kind in self.kinds:
            if kind == StateKind.COUNTERS:
                for name in self.counters:
                    client.call(kind, "read", replica, {"name": name}, phase="final")
            elif kind == StateKind.RECORDS:
                if supports(kind, "list"):
                    client.call(kind, "list", replica, args=self.list_args(client), phase="final")
                for rid in self.records.kept():
                    client.call(kind, "read", replica, {"id": rid}, phase="final")
            elif kind == StateKind.FILES:
                for fid in self.files.kept():
                    client.call(kind, "download", replica, {"id": fid}, phase="final")
            elif kind == StateKind.QUOTES:
                now = time.time()
                for quote in self.quotes.kept():
                    if supports(kind, "read"):
                        client.call(kind, "read", replica, {"id": quote.id}, phase="final")
                    if quote.expires_at < now:  # long expired: any use must be refused
                        client.call(kind, "use", replica, {"id": quote.id}, phase="final")
            elif kind == StateKind.SESSIONS:
                for session in self.sessions.kept() + self.revoked.kept():
                    _whoami(client, replica, session.token, "final")
            elif kind == StateKind.COOLDOWNS:
                settings = client.adapter.settings(kind)
                for i in range(COOLDOWN_KEYS):
                    key = f"cd-{self.keys}-{i}"
                    client.call(kind, "start", replica, {"key": key},
                                args=self.key_args(kind, key, settings), phase="final")

    def _probe_rested(self, client: Client, replicas: list[str]) -> None:
        """Hits every model must allow: on each key rested past its windows, as many as the limit allows."""
        settings = client.adapter.settings(StateKind.RATE_LIMIT)
        for key in self.rested_keys(settings):
            args = self.key_args(StateKind.RATE_LIMIT, key, settings)
            for replica in itertools.islice(itertools.cycle(replicas), probe_size(settings, 3)):
                client.call(StateKind.RATE_LIMIT, "hit", replica, {"key": key}, args=args, phase="final")


def _whoami(client: Client, replica: str, token: str, phase: str = "main") -> None:
    variables = {"token": token}
    client.call(StateKind.SESSIONS, "whoami", replica, variables, args=_session_args(client, variables), phase=phase)


def _session_args(client: Client, variables: dict[str, Any]) -> dict[str, Any]:
    """The variables, and the session model when the target declares one (as ``SessionWorkload`` records)."""
    model = client.adapter.settings(StateKind.SESSIONS).get("model")
    return {**variables, "model": str(model)} if model is not None else variables


@dataclass
class SoakClient:
    """One client's choices: which kind, which operation, which key, which replica, from its own generator."""

    workload: SoakWorkload
    index: int
    rng: random.Random
    count: int = 0
    #: the generator of the step under way (seeded from ``rng``)
    step_rng: random.Random = field(default_factory=random.Random)

    def step(self, client: Client, replicas: list[str]) -> None:
        """One random operation on a random replica of ``replicas`` (not empty).

        The client's own generator gives exactly three numbers per step: the kind, the replica, and the
        seed of the step's generator, which draws the rest (the operation, the key, the payload). What a
        step finds in the shared pools then changes only that step's draws: the kinds and replicas a
        client chooses are the same for a seed, however the clients interleave.
        """
        w = self.workload
        kinds = list(w.kinds) + (["invariants"] if w.invariants is not None else [])
        kind = kinds[int(self.rng.random() * len(kinds))]
        replica = replicas[int(self.rng.random() * len(replicas))]
        self.step_rng = random.Random(self.rng.getrandbits(64))
        self.count += 1
        getattr(self, f"_{kind}")(client, replicas, replica)

    def _nonce(self, prefix: str) -> str:
        return f"{prefix}-{self.workload.keys}-{self.index}-{self.count}"

    def _other(self, replicas: list[str], than: str) -> str:
        others = [r for r in replicas if r != than]
        return self.step_rng.choice(others) if others else than

    # ---- one method per kind: the operation drawn, and its keys -------------------------------------
    def _counters(self, client: Client, replicas: list[str], replica: str) -> None:
        name = self.step_rng.choice(self.workload.counters)
        if self.step_rng.random() < 0.7:
            client.call(StateKind.COUNTERS, "increment", replica, {"name": name, "by": self.step_rng.randint(1, 5)})
        else:
            client.call(StateKind.COUNTERS, "read", replica, {"name": name})

    def _records(self, client: Client, replicas: list[str], replica: str) -> None:
        pool, supports, roll = self.workload.records, client.adapter.supports, self.step_rng.random()
        chosen = pool.pick(self.step_rng)
        if (chosen is None or roll < (0.3 if len(pool) < LIVE else 0.08)) and self.workload.may_create_record():
            data = {"nonce": self._nonce("r"), "n": self.count}
            op = client.call(StateKind.RECORDS, "create", replica, {"data": data})
            if op.outcome is Outcome.OK and (op.value or {}).get("id"):
                pool.add(op.value["id"], self.step_rng)
        elif chosen is None:
            return  # no record yet, and no more may be created
        elif roll < 0.55 and supports(StateKind.RECORDS, "update"):
            data = {"nonce": f"{self._nonce('r')}-update", "client": self.index}
            client.call(StateKind.RECORDS, "update", replica, {"id": chosen, "data": data})
        elif roll < 0.58 and supports(StateKind.RECORDS, "delete") and not pool.is_hot(chosen):
            pool.remove(chosen)
            client.call(StateKind.RECORDS, "delete", replica, {"id": chosen})
        elif roll < 0.6 and supports(StateKind.RECORDS, "list") and self.workload.may_list():
            client.call(StateKind.RECORDS, "list", replica, args=self.workload.list_args(client))
        else:
            client.call(StateKind.RECORDS, "read", replica, {"id": chosen})

    def _files(self, client: Client, replicas: list[str], replica: str) -> None:
        chosen = self.workload.files.pick(self.step_rng)
        if chosen is None or self.step_rng.random() < 0.3:
            content = self.step_rng.randbytes(self.step_rng.randrange(1, FILE_MAX))
            nonce = self._nonce("f")
            op = client.call(StateKind.FILES, "upload", replica, {"content": content, "filename": f"{nonce}.bin"},
                             args={"sha256": hashlib.sha256(content).hexdigest(), "size": len(content),
                                   "nonce": nonce})
            if op.outcome is Outcome.OK and (op.value or {}).get("id"):
                self.workload.files.add(op.value["id"], self.step_rng)
        else:
            client.call(StateKind.FILES, "download", replica, {"id": chosen})

    def _quotes(self, client: Client, replicas: list[str], replica: str) -> None:
        pool, roll = self.workload.quotes, self.step_rng.random()
        chosen = pool.pick(self.step_rng, newest=0.6)  # most uses go to the newest quote: clients race for it
        if chosen is None or roll < 0.3:
            short = self.step_rng.random() < 0.3
            ttl = round(self.step_rng.uniform(*SHORT_QUOTE_TTL), 2) if short else QUOTE_TTL
            op = client.call(StateKind.QUOTES, "create", replica, {"amount": self.step_rng.randint(1, 500), "ttl": ttl})
            if op.outcome is Outcome.OK and (op.value or {}).get("id") and op.value.get("expires_at") is not None:
                pool.add(Quote(op.value["id"], float(op.value["expires_at"])), self.step_rng)
        elif roll < 0.8 or not client.adapter.supports(StateKind.QUOTES, "read"):
            client.call(StateKind.QUOTES, "use", replica, {"id": chosen.id})
        else:
            client.call(StateKind.QUOTES, "read", replica, {"id": chosen.id})

    def _rate_limit(self, client: Client, replicas: list[str], replica: str) -> None:
        settings = client.adapter.settings(StateKind.RATE_LIMIT)
        key = self.workload.rate_limit_key(settings, int(self.step_rng.random() * RATE_LIMIT_PHASES))
        client.call(StateKind.RATE_LIMIT, "hit", replica, {"key": key},
                    args=self.workload.key_args(StateKind.RATE_LIMIT, key, settings))
        self.workload.hit_ended(key)

    def _cooldowns(self, client: Client, replicas: list[str], replica: str) -> None:
        settings = client.adapter.settings(StateKind.COOLDOWNS)
        key = f"cd-{self.workload.keys}-{self.step_rng.randrange(COOLDOWN_KEYS)}"
        client.call(StateKind.COOLDOWNS, "start", replica, {"key": key},
                    args=self.workload.key_args(StateKind.COOLDOWNS, key, settings))

    def _sessions(self, client: Client, replicas: list[str], replica: str) -> None:
        w, roll = self.workload, self.step_rng.random()
        chosen = w.sessions.pick(self.step_rng, newest=0.3)
        if chosen is None or roll < 0.25:
            variables = {"user": f"u-{w.keys}-{self.index}-{self.count}"}
            op = client.call(StateKind.SESSIONS, "login", replica, variables, args=_session_args(client, variables))
            if op.outcome is Outcome.OK and (op.value or {}).get("token"):
                w.sessions.add(Session(op.value["token"], replica), self.step_rng)
        elif roll < 0.33 and client.adapter.supports(StateKind.SESSIONS, "logout"):
            w.sessions.remove(chosen)
            w.revoked.add(chosen, self.step_rng)
            variables = {"token": chosen.token}
            client.call(StateKind.SESSIONS, "logout", self._other(replicas, chosen.replica), variables,
                        args=_session_args(client, variables))
        else:
            revoked = w.revoked.pick(self.step_rng) if roll > 0.9 else None
            session = revoked or chosen
            _whoami(client, self._other(replicas, session.replica), session.token)

    def _invariants(self, client: Client, replicas: list[str], replica: str) -> None:
        if self.step_rng.random() < 0.1:  # every rule on every replica: a heavier step, taken less often
            self.workload.invariants.step(client, replicas, 0)


__all__ = ["InFlight", "Pool", "SoakClient", "SoakWorkload", "TrackedClient", "soak_keys"]
