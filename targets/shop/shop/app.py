"""The shop's HTTP API (Flask). Settings come from the environment:

- ``SHOP_STORAGE``: ``postgres`` (default) or ``memory``;
- ``SHOP_DATABASE_URL``: the PostgreSQL URL (``postgres`` storage only);
- ``SHOP_SEARCH_LIMIT`` / ``SHOP_SEARCH_WINDOW``: searches allowed per client key and
  fixed window of that many seconds (default 5 per 10 s); the rest are denied with 403.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from flask import Flask, jsonify, redirect, request
from werkzeug.exceptions import HTTPException

from shop.storage import MemoryStore, PostgresStore, StorageUnavailable

log = logging.getLogger("shop")

LOGIN_FORM = """<!doctype html><title>Sign in</title>
<form method="post" action="/login">
<input name="username" placeholder="user"> <input name="password" type="password">
<button>Sign in</button></form>
"""


def make_store(env: dict[str, str]) -> MemoryStore | PostgresStore:
    storage = env.get("SHOP_STORAGE", "postgres")
    if storage == "memory":
        return MemoryStore()
    if storage == "postgres":
        url = env.get("SHOP_DATABASE_URL")
        if not url:
            raise SystemExit("shop: SHOP_STORAGE=postgres needs SHOP_DATABASE_URL")
        store = PostgresStore(url, timeout=float(env.get("SHOP_DB_TIMEOUT", "2")))
        store.open()
        return store
    raise SystemExit(f"shop: invalid SHOP_STORAGE {storage!r}: expected 'memory' or 'postgres'")


def create_app(env: dict[str, str] | None = None) -> Flask:
    env = dict(os.environ if env is None else env)
    store = make_store(env)
    search_limit = int(env.get("SHOP_SEARCH_LIMIT", "5"))
    search_window = float(env.get("SHOP_SEARCH_WINDOW", "10"))

    app = Flask("shop")
    app.config["STORE"] = store
    log.warning("shop: storage %s, search limit %d per %gs", type(store).__name__, search_limit, search_window)

    def error(status: int, message: str) -> Any:
        return jsonify({"error": message}), status

    @app.errorhandler(StorageUnavailable)
    def _unavailable(exc: StorageUnavailable) -> Any:
        log.warning("storage unavailable: %s", exc)
        return error(503, "storage unavailable")

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException) -> Any:
        return error(exc.code or 500, exc.description or exc.name)

    # ---- health ----------------------------------------------------------------
    @app.get("/health/ready")
    def ready() -> Any:
        try:
            store.ping()
        except StorageUnavailable as exc:
            return error(503, str(exc))
        return jsonify({"status": "ready"})

    # ---- form login, cookie sessions ---------------------------------------------
    @app.get("/login")
    def login_form() -> Any:
        return LOGIN_FORM, 200, {"Content-Type": "text/html; charset=utf-8"}

    @app.post("/login")
    def login() -> Any:
        username = request.form.get("username", "").strip()
        if not username or not request.form.get("password"):  # a demo shop: any password will do
            return LOGIN_FORM, 401, {"Content-Type": "text/html; charset=utf-8"}
        sid = store.create_session(username)
        response = redirect("/account", code=303)
        response.set_cookie("sid", sid, httponly=True, samesite="Lax", path="/")
        return response

    def current_user() -> tuple[str | None, str | None]:
        sid = request.cookies.get("sid")
        return sid, (store.session_user(sid) if sid else None)

    @app.get("/account")
    def account() -> Any:
        _, user = current_user()
        if user is None:
            if request.accept_mimetypes.best == "application/json":
                return error(401, "not signed in")
            return redirect("/login", code=302)
        return jsonify({"account": {"username": user}})

    @app.post("/logout")
    def logout() -> Any:
        sid, _ = current_user()
        if not sid or not store.delete_session(sid):
            return error(401, "not signed in")
        response = redirect("/login", code=303)
        response.delete_cookie("sid", path="/")
        return response

    # ---- orders ----------------------------------------------------------------
    def order_body(order_id: str, payload: Any, revision: int) -> Any:
        response = jsonify({"result": {"order_id": order_id, "payload": payload}})
        response.headers["ETag"] = f'"{revision}"'
        return response

    def payload_of_request() -> Any:
        body = request.get_json(silent=True)
        if not isinstance(body, dict) or "order" not in body:
            return None
        return body["order"]

    @app.post("/api/v1/orders")
    def create_order() -> Any:
        payload = payload_of_request()
        if payload is None:
            return error(400, 'expected a JSON body {"order": {...}}')
        order_id, revision = store.create_order(payload)
        response = order_body(order_id, payload, revision)
        response.status_code = 201
        response.headers["Location"] = f"/api/v1/orders/{order_id}"
        return response

    @app.get("/api/v1/orders")
    def list_orders() -> Any:
        orders = store.list_orders()
        return jsonify({"result": {"count": len(orders), "orders": orders}})

    @app.get("/api/v1/orders/<order_id>")
    def get_order(order_id: str) -> Any:
        found = store.get_order(order_id)
        if found is None:
            return error(404, "no such order")
        return order_body(order_id, *found)

    @app.put("/api/v1/orders/<order_id>")
    def update_order(order_id: str) -> Any:
        payload = payload_of_request()
        if payload is None:
            return error(400, 'expected a JSON body {"order": {...}}')
        revision = store.update_order(order_id, payload)
        if revision is None:
            return error(404, "no such order")
        return order_body(order_id, payload, revision)

    @app.delete("/api/v1/orders/<order_id>")
    def delete_order(order_id: str) -> Any:
        if not store.delete_order(order_id):
            return error(404, "no such order")
        return "", 204

    # ---- page views ------------------------------------------------------------
    @app.post("/api/v1/views/<name>")
    def add_views(name: str) -> Any:
        try:
            n = int(request.form.get("n", "1"))
        except ValueError:
            return error(400, "n must be an integer")
        return jsonify({"views": store.add_views(name, n)})

    @app.get("/api/v1/views/<name>")
    def views(name: str) -> Any:
        return jsonify({"views": store.views(name)})

    # ---- rate-limited search (denied with 403, like django-ratelimit) ------------
    @app.post("/api/v1/search")
    def search() -> Any:
        client = request.args.get("client") or request.remote_addr or "anonymous"
        if store.hit(client, search_window) > search_limit:
            return error(403, "rate limited")
        return jsonify({"results": [], "query": request.form.get("q", "")})

    return app
