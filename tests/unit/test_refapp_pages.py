"""The reference app's server-rendered pages (refapp/pages.py): user text is escaped, ids appear only in links.

In process, on the memory stores, through Starlette's test client: no server, no
harness. What the YAML of ``targets/refapp/html-*.yaml`` relies on is checked here:
the redirects and their ``Location``, the session cookie, and that a hostile user
name or note text can neither inject markup nor fake the link the spec reads the
new note's id from.
"""

from __future__ import annotations

import html
import re
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "targets" / "refapp"))

from fastapi import FastAPI
from refapp import pages, routes
from refapp.config import load_settings
from refapp.modes import in_memory

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # the test client's notice about its httpx dependency
    from fastapi.testclient import TestClient

NAME = '<script>alert("x")</script>&'
#: a note text that closes the <pre> and adds a link of the shape the spec's id pattern reads
TEXT = '</pre><a href="/html/notes/00000000000000000000000000000000">fake</a> & "quoted"'
ID_LINK = re.compile(r'<a href="/html/notes/([0-9a-f]{32})">')


@pytest.fixture
def client(monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    settings = load_settings({"STORAGE": "memory"})
    monkeypatch.setattr(routes, "settings", settings, raising=False)
    monkeypatch.setattr(routes, "backend", in_memory(settings), raising=False)
    app = FastAPI()
    app.include_router(pages.router)
    with TestClient(app, follow_redirects=False) as c:
        yield c


def login(client: TestClient, name: str, password: str = "pw") -> dict[str, str]:
    """The Cookie header of a fresh session (the client keeps no jar between requests)."""
    response = client.post("/html/login", data={"username": name, "password": password})
    assert response.status_code == 303 and response.headers["location"] == "/html/notes", response.text
    sid = response.cookies["sid"]
    client.cookies.clear()
    return {"Cookie": f"sid={sid}"}


def test_register_then_login_and_redirects(client: TestClient) -> None:
    assert client.get("/html/notes").headers["location"] == "/html/login"
    first = client.post("/html/register", data={"username": "ann", "password": "pw"})
    assert (first.status_code, first.headers["location"]) == (303, "/html/login")
    again = client.post("/html/register", data={"username": "ann", "password": "other"})
    assert again.status_code == 200 and "already taken" in again.text   # the first password still holds
    bad = client.post("/html/login", data={"username": "ann", "password": "other"})
    assert (bad.status_code, bad.headers["location"]) == (303, "/html/login?failed=1")
    cookie = login(client, "ann")
    assert client.get("/html/account", headers=cookie).status_code == 200
    out = client.post("/html/logout", headers=cookie)
    assert out.headers["location"] == "/html/login?logged_out=1"
    assert client.post("/html/logout", headers=cookie).headers["location"] == "/html/login"   # nothing to revoke
    assert client.get("/html/account", headers=cookie).headers["location"] == "/html/login"


def test_user_text_is_escaped(client: TestClient) -> None:
    client.post("/html/register", data={"username": NAME, "password": "pw"})
    taken = client.post("/html/register", data={"username": NAME, "password": "pw"})
    cookie = login(client, NAME)
    account = client.get("/html/account", headers=cookie).text
    saved = client.post("/html/notes", data={"text": TEXT}, headers=cookie)
    assert saved.status_code == 200 and "location" not in saved.headers
    ids = ID_LINK.findall(saved.text)
    assert len(ids) == 1 and ids[0] != "0" * 32, saved.text   # the only id is the real one, in one link
    note = client.get(f"/html/notes/{ids[0]}", headers=cookie).text
    listing = client.get("/html/notes", headers=cookie).text
    for page in (taken.text, account, saved.text, note, listing):
        assert "<script>" not in page and "0" * 32 + '">' not in page, page
    assert html.escape(NAME) in account
    shown = re.search(r'<pre id="text">(.*?)</pre>', note, re.DOTALL)
    assert shown is not None and html.unescape(shown.group(1)) == TEXT, note   # what was stored, escaped once
    assert ID_LINK.findall(listing) == ids


def test_notes_are_their_owners_only(client: TestClient) -> None:
    for name in ("ann", "bob"):
        client.post("/html/register", data={"username": name, "password": "pw"})
    ann, bob = login(client, "ann"), login(client, "bob")
    note_id = ID_LINK.findall(client.post("/html/notes", data={"text": "a"}, headers=ann).text)[0]
    assert client.get(f"/html/notes/{note_id}", headers=bob).status_code == 404
    assert client.post(f"/html/notes/{note_id}/delete", headers=bob).status_code == 404
    edited = client.post(f"/html/notes/{note_id}/edit", data={"text": "b"}, headers=ann)
    assert (edited.status_code, edited.headers["location"]) == (303, f"/html/notes/{note_id}")
    page = client.get(f"/html/notes/{note_id}", headers=ann).text
    assert '<pre id="text">b</pre>' in page and '<span id="version">2</span>' in page
    assert client.post(f"/html/notes/{note_id}/delete", headers=ann).headers["location"] == "/html/notes"
    assert client.get(f"/html/notes/{note_id}", headers=ann).status_code == 404
    # a user is a record too, never shown as a note
    assert client.get(f"/html/notes/{pages.user_id('ann')}", headers=ann).status_code == 404
