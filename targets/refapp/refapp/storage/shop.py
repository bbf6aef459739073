"""Addresses with one default per user, and stock that sells down to zero: the app's own rules.

Each rule comes in its correct form and in the real broken form a shop ships:

* ``ADDRESSES=one-transaction`` (correct) sets the default with one statement,
  ``UPDATE ... SET is_default = (id = X)``, so no reader and no crash ever sees a
  user without exactly one default. ``ADDRESSES=two-statements`` clears every
  default in one committed transaction, then, after the delay of a second round
  trip (ROUND_TRIP_DELAY), sets the new one in another: a reader in between sees
  none, and a crash in between leaves none for good.
* ``STOCK=conditional`` (correct) sells with ``UPDATE ... SET stock = stock - 1
  WHERE id = X AND stock > 0``: sold iff a row changed. ``STOCK=check-then-decrement``
  reads the stock, and if it is positive, one round trip later decrements it without
  a condition: two replicas that both read 1 both sell, and the stock goes to -1.

The SQL store runs on the mode's database (Postgres, or the shared SQLite file);
the memory store keeps the same forms in this process's dicts.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Protocol

from refapp.errors import NotFound
from refapp.models import new_id, now
from refapp.storage.sql import SqlEngine

ADDRESS_FORMS: tuple[str, ...] = ("one-transaction", "two-statements")
"""ADDRESSES: how "set default" writes; one-transaction is correct."""

STOCK_FORMS: tuple[str, ...] = ("conditional", "check-then-decrement")
"""STOCK: how "buy" takes one item; conditional is correct."""


@dataclass(frozen=True)
class Address:
    id: str
    user: str
    label: str
    is_default: bool


@dataclass(frozen=True)
class Item:
    id: str
    name: str
    stock: int


@dataclass(frozen=True)
class ShopForms:
    """Which form each rule runs in, and the round trip the broken forms wait between statements."""

    addresses: str = "one-transaction"
    stock: str = "conditional"
    round_trip: float = 0.03


class ShopStore(Protocol):
    def add_address(self, user: str, label: str) -> Address: ...

    def set_default(self, user: str, address_id: str) -> None:
        """Make ``address_id`` the user's only default; raise NotFound if it is not theirs."""

    def addresses(self, user: str) -> list[Address]: ...

    def add_item(self, name: str, stock: int) -> Item: ...

    def buy(self, item_id: str) -> bool:
        """Take one item; False when sold out; raise NotFound for an unknown item."""

    def item(self, item_id: str) -> Item:
        """Raise NotFound."""


class SqlShopStore:
    """Both rules on the mode's SQL engine (tables in refapp/schema.py)."""

    def __init__(self, db: SqlEngine, forms: ShopForms) -> None:
        self.db = db
        self.forms = forms

    def add_address(self, user: str, label: str) -> Address:
        address = Address(new_id(), user, label, False)
        with self.db.transaction() as cur:
            cur.execute("INSERT INTO addresses (id, username, label, is_default, created_at) VALUES (%s, %s, %s, %s, %s)",
                        (address.id, user, label, False, now()))
        return address

    def _owned(self, cur: object, user: str, address_id: str) -> None:
        cur.execute("SELECT 1 FROM addresses WHERE id = %s AND username = %s", (address_id, user))  # type: ignore[attr-defined]
        if cur.fetchone() is None:  # type: ignore[attr-defined]
            raise NotFound(address_id)

    def set_default(self, user: str, address_id: str) -> None:
        if self.forms.addresses == "one-transaction":
            with self.db.transaction() as cur:
                self._owned(cur, user, address_id)
                cur.execute("UPDATE addresses SET is_default = (id = %s) WHERE username = %s", (address_id, user))
            return
        with self.db.transaction() as cur:  # the broken form: two transactions, a round trip apart
            self._owned(cur, user, address_id)
            cur.execute("UPDATE addresses SET is_default = FALSE WHERE username = %s", (user,))
        time.sleep(self.forms.round_trip)
        with self.db.transaction() as cur:
            cur.execute("UPDATE addresses SET is_default = TRUE WHERE id = %s", (address_id,))

    def addresses(self, user: str) -> list[Address]:
        with self.db.transaction() as cur:
            cur.execute("SELECT id, label, is_default FROM addresses WHERE username = %s ORDER BY created_at, id", (user,))
            rows = cur.fetchall()
        return [Address(str(r[0]), user, str(r[1]), bool(r[2])) for r in rows]

    def add_item(self, name: str, stock: int) -> Item:
        item = Item(new_id(), name, stock)
        with self.db.transaction() as cur:
            cur.execute("INSERT INTO items (id, name, stock) VALUES (%s, %s, %s)", (item.id, name, stock))
        return item

    def buy(self, item_id: str) -> bool:
        if self.forms.stock == "conditional":
            with self.db.transaction() as cur:
                cur.execute("UPDATE items SET stock = stock - 1 WHERE id = %s AND stock > 0", (item_id,))
                if cur.rowcount == 1:
                    return True
            self.item(item_id)  # NotFound, or sold out
            return False
        stock = self.item(item_id).stock  # the broken form: read, think, write without a condition
        if stock <= 0:
            return False
        time.sleep(self.forms.round_trip)
        with self.db.transaction() as cur:
            cur.execute("UPDATE items SET stock = stock - 1 WHERE id = %s", (item_id,))
        return True

    def item(self, item_id: str) -> Item:
        with self.db.transaction() as cur:
            cur.execute("SELECT name, stock FROM items WHERE id = %s", (item_id,))
            row = cur.fetchone()
        if row is None:
            raise NotFound(item_id)
        return Item(item_id, str(row[0]), int(row[1]))


class MemoryShopStore:
    """Both rules in this process's dicts; the broken forms release the lock between their steps."""

    def __init__(self, forms: ShopForms) -> None:
        self.forms = forms
        self._lock = threading.Lock()
        self._addresses: dict[str, Address] = {}
        self._items: dict[str, Item] = {}

    def add_address(self, user: str, label: str) -> Address:
        address = Address(new_id(), user, label, False)
        with self._lock:
            self._addresses[address.id] = address
        return address

    def _set_defaults(self, user: str, chosen: str | None, only: bool) -> None:
        for a in list(self._addresses.values()):
            if a.user == user and (not only or a.id == chosen):
                self._addresses[a.id] = Address(a.id, a.user, a.label, a.id == chosen)

    def set_default(self, user: str, address_id: str) -> None:
        with self._lock:
            found = self._addresses.get(address_id)
            if found is None or found.user != user:
                raise NotFound(address_id)
            if self.forms.addresses == "one-transaction":
                self._set_defaults(user, address_id, only=False)
                return
            self._set_defaults(user, None, only=False)
        time.sleep(self.forms.round_trip)
        with self._lock:
            self._set_defaults(user, address_id, only=True)

    def addresses(self, user: str) -> list[Address]:
        with self._lock:
            return [a for a in self._addresses.values() if a.user == user]

    def add_item(self, name: str, stock: int) -> Item:
        item = Item(new_id(), name, stock)
        with self._lock:
            self._items[item.id] = item
        return item

    def buy(self, item_id: str) -> bool:
        if self.forms.stock == "conditional":
            with self._lock:
                item = self.item(item_id)
                if item.stock <= 0:
                    return False
                self._items[item_id] = Item(item_id, item.name, item.stock - 1)
                return True
        if self.item(item_id).stock <= 0:
            return False
        time.sleep(self.forms.round_trip)
        with self._lock:
            item = self._items[item_id]
            self._items[item_id] = Item(item_id, item.name, item.stock - 1)
        return True

    def item(self, item_id: str) -> Item:
        found = self._items.get(item_id)
        if found is None:
            raise NotFound(item_id)
        return found
