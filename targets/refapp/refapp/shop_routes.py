"""Routes for the app's own rules: a user's addresses with one default, and items sold from stock.

A team states such rules as invariants in its spec (targets/refapp/rules*.yaml);
ADDRESSES and STOCK pick the correct form or a real broken one
(refapp/storage/shop.py), ROUND_TRIP_DELAY the seconds a broken form waits
between its two statements. The routes are built at import (the local backend's
fork server preloads them, like refapp.routes) and read their store only when a
request arrives, from the global ``bind`` sets.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter, HTTPException
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from refapp.config import ConfigError, Settings
from refapp.errors import NotFound
from refapp.storage.base import Backend
from refapp.storage.postgres import PostgresEngine
from refapp.storage.shop import (
    ADDRESS_FORMS,
    STOCK_FORMS,
    Address,
    Item,
    MemoryShopStore,
    ShopForms,
    ShopStore,
    SqlShopStore,
)
from refapp.storage.sqlite import SqliteEngine, sqlite_path

router = APIRouter()
store: ShopStore | None = None   # set by bind(), before the app serves

SHOP_POOL_SIZE = 4
"""Connections of the shop's own Postgres pool, beside the mode's."""


def load_forms(env: Mapping[str, str]) -> ShopForms:
    """ADDRESSES, STOCK and ROUND_TRIP_DELAY; a bad value raises ConfigError naming the variable."""
    addresses = env.get("ADDRESSES", "one-transaction").strip() or "one-transaction"
    if addresses not in ADDRESS_FORMS:
        raise ConfigError(f"unknown ADDRESSES {addresses!r}: expected one of {', '.join(ADDRESS_FORMS)}")
    stock = env.get("STOCK", "conditional").strip() or "conditional"
    if stock not in STOCK_FORMS:
        raise ConfigError(f"unknown STOCK {stock!r}: expected one of {', '.join(STOCK_FORMS)}")
    raw = env.get("ROUND_TRIP_DELAY", "").strip()
    try:
        delay = float(raw) if raw else ShopForms.round_trip
    except ValueError:
        raise ConfigError(f"invalid ROUND_TRIP_DELAY {raw!r}: expected a number of seconds") from None
    if delay < 0:
        raise ConfigError(f"invalid ROUND_TRIP_DELAY {raw!r}: must be >= 0")
    return ShopForms(addresses, stock, delay)


def bind(settings: Settings, backend: Backend, forms: ShopForms) -> APIRouter:
    """Put the shop's store on the mode's database and hook its pool into the backend's start and stop."""
    global store
    if settings.storage == "memory":
        store = MemoryShopStore(forms)
        return router
    if settings.storage == "local-disk":
        store = SqlShopStore(SqliteEngine(os.path.join(settings.data_dir, "refapp.sqlite3"),
                                          max(settings.db_timeout, 5.0)), forms)
        return router
    path = sqlite_path(settings.database_url)
    if path is not None:
        store = SqlShopStore(SqliteEngine(path, max(settings.db_timeout, 5.0)), forms)
        return router
    pg = PostgresEngine(settings.database_url, settings.db_timeout, SHOP_POOL_SIZE)
    backend.on_start.insert(0, pg.open)
    backend.on_stop.append(pg.close)
    store = SqlShopStore(pg, forms)
    return router


def _store() -> ShopStore:
    assert store is not None, "refapp.shop_routes.bind() was not called"
    return store


def _not_found(what: str) -> HTTPException:
    return HTTPException(status_code=404, detail=f"{what} not found")


class AddressBody(BaseModel):
    label: str = Field(default="home", max_length=200)


class ItemBody(BaseModel):
    name: str = Field(max_length=200)
    stock: int = Field(ge=0)


def _address_json(a: Address) -> dict[str, Any]:
    return {"id": a.id, "user": a.user, "label": a.label, "is_default": a.is_default}


def _item_json(i: Item) -> dict[str, Any]:
    return {"id": i.id, "name": i.name, "stock": i.stock}


@router.post("/users/{user}/addresses", status_code=201)
def add_address(user: str, body: AddressBody | None = None) -> dict[str, Any]:
    return _address_json(_store().add_address(user, (body or AddressBody()).label))


@router.post("/users/{user}/addresses/{address_id}/default")
def set_default(user: str, address_id: str) -> dict[str, Any]:
    try:
        _store().set_default(user, address_id)
    except NotFound:
        raise _not_found("address") from None
    return {"user": user, "default": address_id}


@router.get("/users/{user}/addresses")
def list_addresses(user: str) -> dict[str, Any]:
    return {"addresses": [_address_json(a) for a in _store().addresses(user)]}


@router.post("/shop/items", status_code=201)
def add_item(body: ItemBody) -> dict[str, Any]:
    return _item_json(_store().add_item(body.name, body.stock))


@router.post("/shop/items/{item_id}/buy", response_model=None)
def buy(item_id: str) -> dict[str, Any] | JSONResponse:
    try:
        sold = _store().buy(item_id)
    except NotFound:
        raise _not_found("item") from None
    if not sold:
        return JSONResponse(status_code=409, content={"detail": "sold out", "id": item_id})
    return {"id": item_id, "sold": True}


@router.get("/shop/items/{item_id}")
def get_item(item_id: str) -> dict[str, Any]:
    try:
        return _item_json(_store().item(item_id))
    except NotFound:
        raise _not_found("item") from None
