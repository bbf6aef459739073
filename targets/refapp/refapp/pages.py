"""A server-rendered front end of the same stores: HTML forms, a session cookie, redirects to a login page.

Real server-rendered apps (an Express app with sessions, the Flask tutorial) differ
from the JSON API in every way a harness reads an answer: a user registers before
logging in, a form posts and the answer is a redirect, a new note's id appears only
in a link of the page, and a missing session sends the browser to the login page.
These routes give the harness such a target with the very stores of the STORAGE mode
(``routes.backend``), so the JSON API's bug modes are its bug modes too.

Users and notes are records (ids ``user-<sha256 of the name>`` and uuid hex), so no
mode needs a table of its own. Every user-given text is HTML-escaped on the way out.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from html import escape
from typing import Annotated

from fastapi import APIRouter, Cookie, Form
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from refapp import routes
from refapp.errors import NotFound
from refapp.models import Record, Session, now

router = APIRouter(prefix="/html")

#: the session cookie's name
COOKIE = "sid"
LOGIN = "/html/login"
#: PBKDF2 rounds: enough to be a real password hash, few enough for a 2-core test machine
HASH_ROUNDS = 2_000


def page(title: str, body: str, status: int = 200) -> HTMLResponse:
    """A whole HTML document; ``title`` and ``body`` are already escaped where they hold user text."""
    return HTMLResponse(f"<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>{title}</title></head>"
                        f"<body><h1>{title}</h1>\n{body}\n</body></html>\n", status_code=status)


def see_other(location: str) -> RedirectResponse:
    """303: the browser follows with a GET, as after any form post."""
    return RedirectResponse(location, status_code=303)


def user_id(name: str) -> str:
    """The record id of a user: fixed per name, so a lookup needs no index."""
    return "user-" + hashlib.sha256(name.encode()).hexdigest()


def password_hash(password: str, salt: str) -> str:
    return hashlib.pbkdf2_hmac("sha256", password.encode(), bytes.fromhex(salt), HASH_ROUNDS).hex()


def _user(name: str) -> Record | None:
    try:
        record = routes.backend.records.get(user_id(name))
    except NotFound:
        return None
    return record if record.data.get("kind") == "user" else None


def _session(sid: str | None) -> Session | None:
    """The live session the cookie names, or None."""
    if not sid:
        return None
    try:
        return routes.backend.sessions.get(sid, now())
    except NotFound:
        return None


def _note(note_id: str, owner: str) -> Record | None:
    """The owner's note; None for an unknown id, a user record or another user's note."""
    try:
        record = routes.backend.records.get(note_id)
    except NotFound:
        return None
    data = record.data
    return record if data.get("kind") == "note" and data.get("owner") == owner else None


def _note_link(record: Record) -> str:
    return f'<a href="/html/notes/{escape(record.id)}">{escape(_title(record))}</a>'


def _title(record: Record) -> str:
    first = str(record.data.get("text", "")).split("\n", 1)[0]
    return first[:60] or "(empty note)"


# --- users and sessions ----------------------------------------------------

_CREDENTIALS = ('<label>User <input name="username" required></label>\n'
                '<label>Password <input name="password" type="password" required></label>\n')


@router.get("/register")
def register_form() -> HTMLResponse:
    return page("Register", f'<form method="post" action="/html/register">\n{_CREDENTIALS}'
                            '<button>Register</button></form>\n<p><a href="/html/login">Log in</a></p>')


@router.post("/register", response_model=None)
def register(username: Annotated[str, Form()], password: Annotated[str, Form()]) -> Response:
    """A new user: 303 to the login page; a taken name: a page saying so (its password unchanged)."""
    if _user(username) is not None:
        return page("Register", f"<p>The user name <b>{escape(username)}</b> is already taken.</p>\n"
                                '<p><a href="/html/login">Log in</a></p>')
    salt = secrets.token_hex(16)
    routes.backend.records.add(Record(id=user_id(username), version=1, data={
        "kind": "user", "name": username, "salt": salt, "hash": password_hash(password, salt)}))
    return see_other(LOGIN)


@router.get("/login")
def login_form(failed: str | None = None) -> HTMLResponse:
    warning = '<p class="error">Wrong user name or password.</p>\n' if failed else ""
    return page("Log in", f'{warning}<form method="post" action="/html/login">\n{_CREDENTIALS}'
                          '<button>Log in</button></form>\n<p><a href="/html/register">Register</a></p>')


@router.post("/login")
def login(username: Annotated[str, Form()], password: Annotated[str, Form()]) -> RedirectResponse:
    """Good credentials: a session cookie and 303 to the notes; bad ones: 303 back to the form."""
    user = _user(username)
    if user is None or not hmac.compare_digest(password_hash(password, user.data["salt"]), user.data["hash"]):
        return see_other(f"{LOGIN}?failed=1")
    session = Session.new(username, routes.settings.session_ttl)
    session = routes.backend.sessions.add(session) or session  # a client-side store issues its own token
    response = see_other("/html/notes")
    response.set_cookie(COOKIE, session.token, httponly=True, samesite="lax", path="/html")
    return response


@router.post("/logout")
def logout(sid: Annotated[str | None, Cookie()] = None) -> RedirectResponse:
    """Revoke the session: 303 to ``/html/login?logged_out=1``; no live session: 303 to the bare login page."""
    if not sid:
        return see_other(LOGIN)
    try:
        routes.backend.sessions.revoke(sid, now())
    except NotFound:
        return see_other(LOGIN)
    response = see_other(f"{LOGIN}?logged_out=1")
    response.delete_cookie(COOKIE, path="/html")
    return response


@router.get("/account", response_model=None)
def account(sid: Annotated[str | None, Cookie()] = None) -> Response:
    """Who is logged in; without a live session, 303 to the login page."""
    session = _session(sid)
    if session is None:
        return see_other(LOGIN)
    return page("Account", f'<p>Signed in as <b id="user">{escape(session.user)}</b>.</p>\n'
                           '<form method="post" action="/html/logout"><button>Log out</button></form>')


# --- notes -----------------------------------------------------------------

_NOTE_FORM = ('<form method="post" action="/html/notes">\n<textarea name="text"></textarea>\n'
              '<button>Save</button></form>')


@router.get("/notes", response_model=None)
def notes(sid: Annotated[str | None, Cookie()] = None) -> Response:
    """The user's notes as links, and a form for a new one."""
    session = _session(sid)
    if session is None:
        return see_other(LOGIN)
    mine = [r for r in routes.backend.records.list()
            if r.data.get("kind") == "note" and r.data.get("owner") == session.user]
    items = "\n".join(f"<li>{_note_link(r)}</li>" for r in mine) or "<li>No notes yet.</li>"
    return page("Notes", f'<p>Signed in as <b id="user">{escape(session.user)}</b>.</p>\n'
                         f"<ul>\n{items}\n</ul>\n{_NOTE_FORM}")


@router.post("/notes", response_model=None)
def create_note(text: Annotated[str, Form()], sid: Annotated[str | None, Cookie()] = None) -> Response:
    """Save a note: 200 with a page whose only trace of the new id is a link to it."""
    session = _session(sid)
    if session is None:
        return see_other(LOGIN)
    record = Record.new({"kind": "note", "owner": session.user, "text": text})
    routes.backend.records.add(record)
    return page("Note saved", f"<p>Saved: {_note_link(record)}</p>\n"
                              '<p><a href="/html/notes">Back to the notes</a></p>')


@router.get("/notes/{note_id}", response_model=None)
def show_note(note_id: str, sid: Annotated[str | None, Cookie()] = None) -> Response:
    """The note's text and version; 404 for a note this user does not have."""
    session = _session(sid)
    if session is None:
        return see_other(LOGIN)
    record = _note(note_id, session.user)
    if record is None:
        return page("Not found", "<p>No such note.</p>", status=404)
    text = escape(str(record.data.get("text", "")))
    return page(escape(_title(record)),
                f'<pre id="text">{text}</pre>\n<p>Version <span id="version">{record.version}</span></p>\n'
                f'<form method="post" action="/html/notes/{escape(record.id)}/edit">'
                f'<textarea name="text">{text}</textarea><button>Save</button></form>\n'
                f'<form method="post" action="/html/notes/{escape(record.id)}/delete"><button>Delete</button></form>')


@router.post("/notes/{note_id}/edit", response_model=None)
def edit_note(note_id: str, text: Annotated[str, Form()], sid: Annotated[str | None, Cookie()] = None) -> Response:
    """Replace the text: 303 to the note; 404 for a note this user does not have."""
    session = _session(sid)
    if session is None:
        return see_other(LOGIN)
    if _note(note_id, session.user) is None:
        return page("Not found", "<p>No such note.</p>", status=404)
    try:
        routes.backend.records.update(note_id, {"kind": "note", "owner": session.user, "text": text})
    except NotFound:
        return page("Not found", "<p>No such note.</p>", status=404)
    return see_other(f"/html/notes/{note_id}")


@router.post("/notes/{note_id}/delete", response_model=None)
def delete_note(note_id: str, sid: Annotated[str | None, Cookie()] = None) -> Response:
    """Delete: 303 to the list; 404 for a note this user does not have."""
    session = _session(sid)
    if session is None:
        return see_other(LOGIN)
    if _note(note_id, session.user) is None:
        return page("Not found", "<p>No such note.</p>", status=404)
    try:
        routes.backend.records.delete(note_id)
    except NotFound:
        return page("Not found", "<p>No such note.</p>", status=404)
    return see_other("/html/notes")
