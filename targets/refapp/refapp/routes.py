"""The HTTP routes for every state kind, built once at import, before any setting is read.

Building FastAPI's routes is most of what the app costs to start (request and
response models for every endpoint). They read the settings and the mode's
Backend only when a request arrives, from the module globals ``bind`` sets, so
the local backend's fork server can import this module once and every replica
forked from it starts with its routes ready. ``refapp.main`` reads the settings
and binds them. Handlers are plain ``def`` functions: they run in FastAPI's
threadpool and may block on psycopg, redis-py and sqlite3 without stalling the
event loop.
"""

from __future__ import annotations

import logging
import math
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

from fastapi import FastAPI, File, Header, HTTPException, Request, Response, UploadFile
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from refapp.config import Settings
from refapp.errors import AlreadyUsed, CoolingDown, Expired, NotFound, StorageUnavailable
from refapp.middleware import ReplicaMiddleware, RequestCounter
from refapp.models import Quote, Record, Session, StoredFile, now
from refapp.storage.base import Backend
from refapp.payloads import IncrementBody, LoginBody, QuoteBody, RecordBody
from refapp.readiness import failed_checks
from refapp.schema import SchemaError

log = logging.getLogger("refapp")

settings: Settings   # set by bind(), before the app serves
backend: Backend
requests_served = RequestCounter()


@asynccontextmanager
async def lifespan(_: FastAPI) -> AsyncIterator[None]:
    """Create the schema and start background work; flush and close on SIGTERM."""
    try:
        await run_in_threadpool(backend.start)
    except SchemaError as exc:
        print(str(exc), file=sys.stderr, flush=True)
        raise
    log.info("refapp ready: replica=%s storage=%s stores=%s", settings.replica_name, settings.storage, backend.stores)
    yield
    await run_in_threadpool(backend.stop)


app = FastAPI(title="refapp", lifespan=lifespan)


def bind(settings_: Settings, backend_: Backend) -> FastAPI:
    """Give the routes their settings and storage; the app is ready to serve afterwards."""
    global settings, backend
    settings, backend = settings_, backend_
    app.add_middleware(ReplicaMiddleware, replica=settings.replica_name, counter=requests_served)
    return app


@app.exception_handler(StorageUnavailable)
async def storage_unavailable(_: Request, exc: StorageUnavailable) -> JSONResponse:
    """A failed dependency is a 503: the write was not acknowledged."""
    return JSONResponse(status_code=503, content={"detail": f"storage unavailable: {exc}"})


def _error(status: int, detail: str) -> HTTPException:
    return HTTPException(status_code=status, detail=detail)


def _too_many(retry_after: float, body: dict[str, object]) -> JSONResponse:
    return JSONResponse(status_code=429, content=body, headers={"Retry-After": str(max(1, math.ceil(retry_after)))})


# --- process ---------------------------------------------------------------


# These three are async on purpose: they never block, so they keep answering
# even when every threadpool worker waits on a hung dependency.


@app.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@app.get("/readyz")
async def readyz() -> JSONResponse:
    errors = await failed_checks(backend.checks, timeout=settings.db_timeout + 0.5)
    if errors:
        return JSONResponse(status_code=503, content={"status": "unready", "errors": errors})
    return JSONResponse(content={"status": "ready"})


@app.get("/stats")
async def stats() -> dict[str, object]:
    return {"replica": settings.replica_name, "storage": settings.storage, "stores": backend.stores,
            "requests": requests_served.value}


# --- sessions --------------------------------------------------------------

INVALID_SESSION = "invalid or expired session"


def _token(authorization: str | None) -> str:
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise _error(401, INVALID_SESSION)
    return token.strip()


@app.post("/sessions/login")
def login(body: LoginBody) -> dict[str, object]:
    session = Session.new(body.user, body.ttl or settings.session_ttl)
    session = backend.sessions.add(session) or session  # a client-side store issues its own token
    return {"token": session.token, "user": session.user, "expires_at": session.expires_at}


@app.get("/sessions/whoami")
def whoami(authorization: Annotated[str | None, Header()] = None) -> dict[str, object]:
    try:
        session = backend.sessions.get(_token(authorization), now())
    except NotFound:
        raise _error(401, INVALID_SESSION) from None
    return {"user": session.user, "expires_at": session.expires_at}


@app.post("/sessions/logout")
def logout(authorization: Annotated[str | None, Header()] = None) -> dict[str, bool]:
    try:
        backend.sessions.revoke(_token(authorization), now())
    except NotFound:
        raise _error(401, INVALID_SESSION) from None
    return {"revoked": True}


# --- files -----------------------------------------------------------------


@app.post("/files", status_code=201)
def upload(file: Annotated[UploadFile, File()]) -> dict[str, object]:
    stored = StoredFile.new(file.file.read())
    backend.files.add(stored)
    return {"id": stored.id, "sha256": stored.sha256, "size": stored.size}


@app.get("/files/{file_id}")
def download(file_id: str) -> Response:
    try:
        content = backend.files.get(file_id)
    except NotFound:
        raise _error(404, "file not found") from None
    return Response(content=content, media_type="application/octet-stream")


# --- quotes ----------------------------------------------------------------


def _quote_json(quote: Quote) -> dict[str, object]:
    return {"id": quote.id, "amount": quote.amount, "expires_at": quote.expires_at, "used": quote.used}


@app.post("/quotes", status_code=201)
def create_quote(body: QuoteBody) -> dict[str, object]:
    quote = Quote.new(body.amount, body.ttl or settings.quote_ttl)
    backend.quotes.add(quote)
    return {"id": quote.id, "amount": quote.amount, "expires_at": quote.expires_at}


@app.get("/quotes/{quote_id}")
def get_quote(quote_id: str) -> dict[str, object]:
    try:
        return _quote_json(backend.quotes.get(quote_id, now()))
    except NotFound:
        raise _error(404, "quote not found") from None
    except Expired:
        raise _error(410, "quote expired") from None


@app.post("/quotes/{quote_id}/use")
def use_quote(quote_id: str) -> dict[str, object]:
    try:
        backend.quotes.use(quote_id, now())
    except NotFound:
        raise _error(404, "quote not found") from None
    except AlreadyUsed:
        raise _error(409, "quote already used") from None
    except Expired:
        raise _error(410, "quote expired") from None
    return {"id": quote_id, "used": True}


# --- rate limit and cooldowns ----------------------------------------------


@app.get("/limited/{key}", response_model=None)
def limited(key: str) -> dict[str, object] | JSONResponse:
    result = backend.limiter.hit(key, now())
    if not result.allowed:
        return _too_many(result.retry_after, {"detail": "rate limited"})
    return {"key": key, "count": result.count, "limit": result.limit, "remaining": result.remaining}


@app.post("/cooldowns/{key}", response_model=None)
def cooldown(key: str) -> dict[str, object] | JSONResponse:
    at = now()
    try:
        started = backend.cooldowns.start(key, at, settings.cooldown_seconds)
    except CoolingDown as exc:
        return _too_many(exc.until - at, {"detail": "cooling down", "until": exc.until})
    return {"key": key, "started_at": started.started_at, "until": started.until}


# --- records ---------------------------------------------------------------


def _record_json(record: Record) -> dict[str, object]:
    return {"id": record.id, "data": record.data, "version": record.version}


@app.post("/records", status_code=201)
def create_record(body: RecordBody) -> dict[str, object]:
    record = Record.new(body.data)
    backend.records.add(record)
    return _record_json(record)


@app.get("/records")
def list_records() -> dict[str, object]:
    return {"records": [_record_json(r) for r in backend.records.list()]}


@app.get("/records/{record_id}")
def get_record(record_id: str) -> dict[str, object]:
    try:
        return _record_json(backend.records.get(record_id))
    except NotFound:
        raise _error(404, "record not found") from None


@app.put("/records/{record_id}")
def update_record(record_id: str, body: RecordBody) -> dict[str, object]:
    try:
        return _record_json(backend.records.update(record_id, body.data))
    except NotFound:
        raise _error(404, "record not found") from None


@app.delete("/records/{record_id}", status_code=204)
def delete_record(record_id: str) -> Response:
    try:
        backend.records.delete(record_id)
    except NotFound:
        raise _error(404, "record not found") from None
    return Response(status_code=204)


# --- counters --------------------------------------------------------------


@app.post("/counters/{name}/increment")
def increment(name: str, body: IncrementBody | None = None) -> dict[str, object]:
    by = body.by if body is not None else 1
    return {"name": name, "value": backend.counters.increment(name, by)}


@app.get("/counters/{name}")
def get_counter(name: str) -> dict[str, object]:
    return {"name": name, "value": backend.counters.get(name)}
