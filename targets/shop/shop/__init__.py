"""A small shop: form login with cookie sessions, orders, page-view counters and a
rate-limited search. ``SHOP_STORAGE`` picks where its state lives: ``memory``
(process dicts: lost on every restart, different on every replica) or ``postgres``
(every piece of state in PostgreSQL, each change committed before it is answered).
"""

from shop.app import create_app

__all__ = ["create_app"]
