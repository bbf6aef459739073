"""The reference app's racy writes (refapp/storage/races.py): the broken forms lose under concurrency, the correct don't.

Threads run against the stores on a real SQLite file (the engine of local-disk and of the
shared embedded database) and in memory; Postgres runs the same SQL in the racy-*.yaml
targets. A barrier starts the threads together, so every pair overlaps in the broken
forms' round trip.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "targets" / "refapp"))

from refapp.config import ConfigError, load_settings  # noqa: E402
from refapp.errors import AlreadyUsed, NotFound  # noqa: E402
from refapp.models import Quote, Record  # noqa: E402
from refapp.modes import build_backend  # noqa: E402
from refapp.schema import create_shared_sqlite_schema  # noqa: E402
from refapp.storage import races  # noqa: E402
from refapp.storage.memory import MemoryCounterStore, MemoryQuoteStore, MemoryRecordStore  # noqa: E402
from refapp.storage.sql import SqlCounterStore, SqlQuoteStore, SqlRecordStore  # noqa: E402
from refapp.storage.sqlite import SqliteEngine  # noqa: E402

THREADS = 4
ROUND_TRIP = 0.1


def _together(work: Callable[[int], Any], threads: int = THREADS) -> list[Any]:
    """Run ``work(i)`` in ``threads`` threads released at once; each result, or the exception raised."""
    barrier = threading.Barrier(threads)
    results: list[Any] = [None] * threads

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = work(i)
        except Exception as exc:  # noqa: BLE001 - the test inspects it
            results[i] = exc

    workers = [threading.Thread(target=run, args=(i,)) for i in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=30)
    assert not any(w.is_alive() for w in workers)
    return results


@pytest.fixture(params=["sqlite", "memory"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> SqliteEngine | None:
    """A SQLite file with the app's tables, or None for the memory stores."""
    if request.param == "memory":
        return None
    db = SqliteEngine(str(tmp_path / "races.sqlite3"), 10.0)
    create_shared_sqlite_schema(db)
    return db


def _counters(db: SqliteEngine | None, broken: bool) -> Any:
    if db is None:
        return races.ReadModifyWriteMemoryCounterStore(ROUND_TRIP) if broken else MemoryCounterStore()
    return races.ReadModifyWriteSqlCounterStore(db, ROUND_TRIP) if broken else SqlCounterStore(db)


def _quotes(db: SqliteEngine | None, broken: bool) -> Any:
    if db is None:
        return races.CheckThenSetMemoryQuoteStore(ROUND_TRIP) if broken else MemoryQuoteStore()
    return races.CheckThenSetSqlQuoteStore(db, ROUND_TRIP) if broken else SqlQuoteStore(db)


def _records(db: SqliteEngine | None, broken: bool) -> Any:
    if db is None:
        return races.ReadModifyWriteMemoryRecordStore(ROUND_TRIP) if broken else MemoryRecordStore()
    return races.ReadModifyWriteSqlRecordStore(db, ROUND_TRIP) if broken else SqlRecordStore(db)


def test_atomic_increments_never_lose_one(engine) -> None:
    store = _counters(engine, broken=False)
    store.increment("hits", 1)
    answers = _together(lambda i: store.increment("hits", 1))
    assert sorted(answers) == [2, 3, 4, 5] and store.get("hits") == 5


def test_read_modify_write_increments_lose_all_but_one(engine) -> None:
    store = _counters(engine, broken=True)
    store.increment("hits", 1)
    answers = _together(lambda i: store.increment("hits", 1))
    # four acknowledged increments, and the counter moved by less: those that read the same value overwrote
    # each other (with the threads released together, all four usually read 1 and it moves by one)
    assert all(isinstance(a, int) for a in answers) and len(set(answers)) < THREADS
    lost = 5 - store.get("hits")
    assert lost >= 1 and store.get("hits") in answers
    value = store.get("hits")
    assert store.increment("hits", 3) == value + 3  # one client alone never sees it


def _quote(store: Any) -> str:
    quote = Quote.new(10.0, 60.0)
    store.add(quote)
    return quote.id


def test_conditional_use_acknowledges_one_of_concurrent_uses(engine) -> None:
    store = _quotes(engine, broken=False)
    quote_id = _quote(store)
    answers = _together(lambda i: store.use(quote_id, time.time()))
    assert sum(a is None for a in answers) == 1
    assert sum(isinstance(a, AlreadyUsed) for a in answers) == THREADS - 1


def test_check_then_set_acknowledges_every_concurrent_use(engine) -> None:
    store = _quotes(engine, broken=True)
    quote_id = _quote(store)
    answers = _together(lambda i: store.use(quote_id, time.time()))
    # more than one use acknowledged (with the threads released together, usually all four)
    assert sum(a is None for a in answers) >= 2
    assert all(a is None or isinstance(a, AlreadyUsed) for a in answers)
    with pytest.raises(AlreadyUsed):
        store.use(quote_id, time.time())  # a later, lone use is refused
    with pytest.raises(NotFound):
        store.use("nope", 0.0)


def _record(store: Any) -> str:
    record = Record.new({"n": 0})
    store.add(record)
    return record.id


def test_atomic_updates_answer_distinct_versions(engine) -> None:
    store = _records(engine, broken=False)
    record_id = _record(store)
    answers = _together(lambda i: store.update(record_id, {"n": i + 1}))
    assert sorted(r.version for r in answers) == [2, 3, 4, 5]
    last = max(answers, key=lambda r: r.version)
    assert store.get(record_id) == last


def test_read_modify_write_updates_answer_one_version_and_overwrite(engine) -> None:
    store = _records(engine, broken=True)
    record_id = _record(store)
    answers = _together(lambda i: store.update(record_id, {"n": i + 1}))
    # acknowledged updates answering one version: all but one of them were silently overwritten
    # (with the threads released together, usually all four answer version 2)
    versions = [r.version for r in answers]
    assert len(set(versions)) < THREADS
    stored = store.get(record_id)
    assert stored.version in versions and max(versions) < 5 and stored.data in [r.data for r in answers]
    assert store.update(record_id, {"n": 9}).version == stored.version + 1  # one client alone never sees it
    with pytest.raises(NotFound):
        store.update("nope", {"n": 1})


def test_settings_pick_the_forms_and_name_bad_values(tmp_path: Path) -> None:
    broken = {"COUNTER_INCREMENT": "read-modify-write", "QUOTE_USE": "check-then-set",
              "RECORD_UPDATE": "read-modify-write"}
    memory = build_backend(load_settings({"STORAGE": "memory", **broken}))
    assert isinstance(memory.counters, races.ReadModifyWriteMemoryCounterStore)
    assert isinstance(memory.quotes, races.CheckThenSetMemoryQuoteStore)
    assert isinstance(memory.records, races.ReadModifyWriteMemoryRecordStore)
    assert "(0.005s apart)" in memory.stores  # the default round trip: a few ms
    shared = f"sqlite:///{tmp_path / 'shared.sqlite3'}"
    durable = build_backend(load_settings({"DATABASE_URL": shared, "REDIS_URL": shared, "ROUND_TRIP_DELAY": "0.02",
                                           **broken}))
    assert isinstance(durable.counters, races.ReadModifyWriteSqlCounterStore) and durable.counters.round_trip == 0.02
    assert isinstance(durable.quotes, races.CheckThenSetSqlQuoteStore)
    assert isinstance(durable.records, races.ReadModifyWriteSqlRecordStore)
    correct = build_backend(load_settings({"STORAGE": "memory"}))
    assert type(correct.counters) is MemoryCounterStore and type(correct.records) is MemoryRecordStore
    with pytest.raises(ConfigError, match="COUNTER_INCREMENT 'rmw': expected one of atomic, read-modify-write"):
        load_settings({"COUNTER_INCREMENT": "rmw"})
    with pytest.raises(ConfigError, match="QUOTE_USE=check-then-set needs STORAGE durable, memory, local-disk"):
        load_settings({"STORAGE": "write-behind", "QUOTE_USE": "check-then-set"})
    with pytest.raises(ConfigError, match="ROUND_TRIP_DELAY 'soon'"):
        load_settings({"ROUND_TRIP_DELAY": "soon"})
