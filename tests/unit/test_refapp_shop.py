"""The reference app's own rules (refapp/storage/shop.py): correct forms keep them, broken forms break them.

Runs the stores on a real SQLite file (the engine the shared embedded database uses)
and in memory; the Postgres form is exercised by tests/integration/test_invariants_refapp.py.
"""

from __future__ import annotations

import sys
import threading
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "targets" / "refapp"))

from refapp.config import ConfigError  # noqa: E402
from refapp.errors import NotFound  # noqa: E402
from refapp.schema import create_shared_sqlite_schema  # noqa: E402
from refapp.shop_routes import load_forms  # noqa: E402
from refapp.storage.shop import MemoryShopStore, ShopForms, SqlShopStore  # noqa: E402
from refapp.storage.sqlite import SqliteEngine  # noqa: E402


def _sqlite(tmp_path: Path, forms: ShopForms) -> SqlShopStore:
    db = SqliteEngine(str(tmp_path / "shop.sqlite3"), 5.0)
    create_shared_sqlite_schema(db)
    return SqlShopStore(db, forms)


@pytest.fixture(params=["sqlite", "memory"])
def make(request: pytest.FixtureRequest, tmp_path: Path):
    return (lambda forms: _sqlite(tmp_path, forms)) if request.param == "sqlite" else MemoryShopStore


def _defaults(store, user: str) -> int:
    return sum(a.is_default for a in store.addresses(user))


def test_correct_default_address_leaves_exactly_one_at_every_moment(make) -> None:
    store = make(ShopForms(round_trip=0.2))
    a, b = store.add_address("ann", "home"), store.add_address("ann", "work")
    store.add_address("bob", "home")
    store.set_default("ann", a.id)
    seen: list[int] = []
    writer = threading.Thread(target=store.set_default, args=("ann", b.id))
    writer.start()
    while writer.is_alive():
        seen.append(_defaults(store, "ann"))
    writer.join()
    assert set(seen) <= {1} and _defaults(store, "ann") == 1
    assert [x.is_default for x in store.addresses("ann")] == [False, True]
    with pytest.raises(NotFound):
        store.set_default("bob", a.id)  # not bob's address


def test_two_statements_show_no_default_between_them(make) -> None:
    store = make(ShopForms(addresses="two-statements", round_trip=0.3))
    a, b = store.add_address("ann", "home"), store.add_address("ann", "work")
    store.set_default("ann", a.id)
    seen: list[int] = []
    writer = threading.Thread(target=store.set_default, args=("ann", b.id))
    writer.start()
    while writer.is_alive():
        seen.append(_defaults(store, "ann"))
    writer.join()
    assert 0 in seen  # what a crash between the statements leaves for good
    assert _defaults(store, "ann") == 1


def _race_last_item(store) -> tuple[list[bool], int]:
    item = store.add_item("widget", 1)
    barrier = threading.Barrier(2)
    sold: list[bool] = []

    def buy() -> None:
        barrier.wait()
        sold.append(store.buy(item.id))

    buyers = [threading.Thread(target=buy) for _ in range(2)]
    for t in buyers:
        t.start()
    for t in buyers:
        t.join()
    return sold, store.item(item.id).stock


def test_conditional_update_sells_the_last_item_once(make) -> None:
    sold, stock = _race_last_item(make(ShopForms(round_trip=0.2)))
    assert sorted(sold) == [False, True] and stock == 0


def test_check_then_decrement_sells_the_last_item_twice(make) -> None:
    sold, stock = _race_last_item(make(ShopForms(stock="check-then-decrement", round_trip=0.2)))
    assert sold == [True, True] and stock == -1


def test_sold_out_and_unknown_item(make) -> None:
    store = make(ShopForms())
    item = store.add_item("widget", 0)
    assert store.buy(item.id) is False
    with pytest.raises(NotFound):
        store.buy("nope")
    with pytest.raises(NotFound):
        store.item("nope")


def test_forms_from_the_environment() -> None:
    assert load_forms({}) == ShopForms("one-transaction", "conditional", 0.03)
    assert load_forms({"ADDRESSES": "two-statements", "STOCK": "check-then-decrement", "ROUND_TRIP_DELAY": "0.3"}) \
        == ShopForms("two-statements", "check-then-decrement", 0.3)
    for env, named in (({"ADDRESSES": "x"}, "ADDRESSES"), ({"STOCK": "x"}, "STOCK"),
                       ({"ROUND_TRIP_DELAY": "soon"}, "ROUND_TRIP_DELAY"), ({"ROUND_TRIP_DELAY": "-1"}, "ROUND_TRIP_DELAY")):
        with pytest.raises(ConfigError, match=named):
            load_forms(env)


def test_the_routes_answer_as_the_specs_expect(monkeypatch: pytest.MonkeyPatch) -> None:
    """201 with the id, 404 for another user's address, the list with is_default, 200 sold then 409 sold out."""
    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    from refapp import shop_routes
    from refapp.config import Settings
    from refapp.modes import in_memory

    settings = Settings(storage="memory")
    monkeypatch.setattr(shop_routes, "store", None)   # bind() sets it; put back after the test
    app = FastAPI()
    app.include_router(shop_routes.bind(settings, in_memory(settings), ShopForms()))
    http = TestClient(app)
    home = http.post("/users/ann/addresses", json={"label": "home"})
    assert home.status_code == 201
    work = http.post("/users/ann/addresses", json={"label": "work"}).json()["id"]
    assert http.post(f"/users/bob/addresses/{work}/default").status_code == 404
    assert http.post(f"/users/ann/addresses/{work}/default").json() == {"user": "ann", "default": work}
    listed = http.get("/users/ann/addresses").json()["addresses"]
    assert [(a["label"], a["is_default"]) for a in listed] == [("home", False), ("work", True)]
    item = http.post("/shop/items", json={"name": "widget", "stock": 1}).json()["id"]
    assert [http.post(f"/shop/items/{item}/buy").status_code for _ in range(2)] == [200, 409]
    assert http.get(f"/shop/items/{item}").json()["stock"] == 0
    assert http.get("/shop/items/nope").status_code == 404
    assert http.post("/shop/items", json={"name": "widget", "stock": -1}).status_code == 422
