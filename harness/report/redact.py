"""Secrets never reach a report: every secret is replaced by a stable pseudonym.

Histories hold session tokens (in operation args and values), verdicts quote them in
evidence, and target specs carry passwords. Run folders end up as CI artifacts and
HTML pages that many people read, so everything written there goes through a
``Redactor`` first.

A secret is replaced by ``pseudonym(secret)``, e.g. ``‹secret:3f2a9c01b7de›``: a short
sha256 of the secret. The same secret always gets the same pseudonym, so

- a redacted history can be judged again: checkers compare tokens by equality, and
  equal tokens stay equal (different ones stay different: 48 bits make a collision
  among a few thousand tokens about one in ten million);
- a reader can still follow one token from its login to the read that lost it, and
  the checkers' own messages (which use ``pseudonym`` too) match the history.

What is a secret:

- any string under a key named like a secret (token, password, secret, authorization,
  cookie, set-cookie, api_key, session, ...), at any depth: such a value is replaced
  whole wherever it is found, whatever its length;
- the same strings, and explicit extra secrets (spec passwords, env values), are also
  replaced wherever they occur inside other text (messages, errors, evidence), but
  only when at least ``min_length`` characters long. A shorter one (the default
  postgres password is ``app``) would otherwise rewrite every replica name
  (``app-0``); it is counted in ``Redactor.too_short`` so a report can say so.

What redaction does not do: the pseudonym is an unsalted hash, so whoever can guess a
low-entropy password can confirm the guess. Random tokens are safe; weak passwords
should not be in a spec that reaches a report anyway.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import replace
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Iterable, Iterator, Mapping

from harness.history import Event, History, Operation

if TYPE_CHECKING:
    from harness.spec import TargetSpec

#: Secrets shorter than this are replaced only as whole values under secret-named keys.
MIN_LENGTH = 8

#: Hex digits of sha256 in a pseudonym: 48 bits, see the module docstring.
DIGITS = 12

PSEUDONYM = re.compile(r"‹secret:[0-9a-f]{%d}›" % DIGITS)

# Words that make a key secret. "sessions" (plural) is deliberately absent: it is the
# name of a state kind and of a checker, used as a key in verdict stats.
_SECRET_WORDS = frozenset({
    "token", "tokens", "password", "passwd", "pwd", "secret", "secrets", "authorization",
    "cookie", "cookies", "apikey", "session", "sessionid", "sid", "credential", "credentials",
})
_ENV_WORDS = ("PASSWORD", "SECRET", "TOKEN", "KEY")
_PLACEHOLDER = re.compile(r"\{[\w.]+\}")
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_NOT_ALNUM = re.compile(r"[^a-z0-9]+")
_COOKIE_ATTRIBUTES = frozenset({"path", "domain", "expires", "max-age", "samesite", "secure", "httponly", "priority"})


def pseudonym(secret: str) -> str:
    """The stable stand-in for a secret; shows nothing of the secret itself.

    A pseudonym is its own pseudonym, so a checker that judges a redacted history
    writes the very messages it wrote about the original.
    """
    if PSEUDONYM.fullmatch(secret):
        return secret
    return f"‹secret:{hashlib.sha256(secret.encode()).hexdigest()[:DIGITS]}›"


@lru_cache(maxsize=4096)  # a history repeats the same few keys thousands of times
def is_secret_key(key: str) -> bool:
    """Whether a key names a secret: ``token``, ``accessToken``, ``X-Api-Key``, ``session_id``..."""
    snake = _CAMEL.sub("_", key).lower()
    words = [w for w in _NOT_ALNUM.split(snake) if w]
    if any(w in _SECRET_WORDS for w in words):
        return True
    joined = "".join(words)
    return "apikey" in joined or "sessionid" in joined or "setcookie" in joined


def _parts(key: str, value: str) -> Iterator[str]:
    """The secret itself, plus the credential inside an Authorization or Cookie header value."""
    yield value
    lowered = key.lower()
    if "authorization" in lowered and " " in value.strip():
        yield value.strip().split(None, 1)[1]
    if "cookie" in lowered:
        for pair in value.split(";"):
            name, sep, val = pair.partition("=")
            if sep and name.strip().lower() not in _COOKIE_ATTRIBUTES and val.strip():
                yield val.strip()


def spec_secrets(spec: "TargetSpec | None") -> list[str]:
    """Secrets a target spec gives away: the postgres password, secret-named env values of the app and
    of its other services, and passwords inside URLs (``postgresql://user:password@db/...``)."""
    if spec is None:
        return []
    found = [spec.dependencies.postgres.password] if spec.dependencies.postgres is not None else []
    envs = [spec.app.env, *(service.environment for service in spec.dependencies.services.values())]
    for env in envs:
        # A placeholder such as {postgres.password} is filled in at deploy time: not a secret itself.
        found += [v for v in secrets_in_env(env) if not _PLACEHOLDER.fullmatch(v)]
        found += [m.group(1) for v in env.values() for m in _URL_PASSWORD.finditer(v)
                  if not _PLACEHOLDER.fullmatch(m.group(1))]
    return list(dict.fromkeys(found))


_URL_PASSWORD = re.compile(r"://[^:/@\s]+:([^@/\s]+)@")


def secrets_in_env(env: Mapping[str, str]) -> list[str]:
    """Values of environment variables whose names contain PASSWORD, SECRET, TOKEN or KEY."""
    return [v for k, v in env.items() if v and any(word in k.upper() for word in _ENV_WORDS)]


def _trie_pattern(words: Iterable[str]) -> str:
    """One regex for many literal strings, as a trie: linear in the text, not in the word count.

    A plain alternation of a few thousand tokens tries every token at every position;
    the trie tries each character once. Longer matches win (the optional tails are greedy).
    """
    trie: dict[str, Any] = {}
    for word in words:
        node = trie
        for ch in word:
            node = node.setdefault(ch, {})
        node[""] = True

    def build(node: dict[str, Any]) -> str:
        chain = ""
        while len(node) == 1 and "" not in node:  # no branch here: no group, no recursion
            (ch, node), = node.items()
            chain += re.escape(ch)
        branches = [re.escape(ch) + build(child) for ch, child in sorted(node.items()) if ch != ""]
        if not branches:
            return chain
        alternation = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        return chain + (f"(?:{alternation})?" if "" in node else alternation)

    return build(trie)


class Redactor:
    """Collects secrets, then replaces them in strings, nested data and histories."""

    def __init__(self, secrets: Iterable[str] = (), min_length: int = MIN_LENGTH) -> None:
        self.min_length = min_length
        self._long: set[str] = set()
        self._short: set[str] = set()
        self._pattern: re.Pattern[str] | None = None
        self.add(*secrets)

    @property
    def too_short(self) -> int:
        """How many known secrets are too short to be searched for inside other text."""
        return len(self._short - self._long)

    def __len__(self) -> int:
        return len(self._long | self._short)

    def add(self, *secrets: str) -> "Redactor":
        """Know more secrets; already-redacted values (pseudonyms) and empty strings are ignored."""
        for secret in secrets:
            if not isinstance(secret, str) or not secret or PSEUDONYM.fullmatch(secret):
                continue
            (self._long if len(secret) >= self.min_length else self._short).add(secret)
            self._pattern = None
        return self

    def collect(self, value: Any, key: str | None = None) -> "Redactor":
        """Learn every string under a secret-named key, at any depth of dicts and lists."""
        if isinstance(value, dict):
            for k, v in value.items():
                self.collect(v, str(k))
        elif isinstance(value, (list, tuple)):
            for item in value:
                self.collect(item, key)
        elif isinstance(value, str) and key is not None and is_secret_key(key):
            self.add(*_parts(key, value))
        return self

    def collect_history(self, history: History) -> "Redactor":
        """Learn the secrets in every operation's args and value (tokens a login returned, say)."""
        for op in history.operations():
            self.collect(op.args)
            self.collect(op.value)
        return self

    def _compiled(self) -> re.Pattern[str]:
        if self._pattern is None:
            # An existing pseudonym is matched first and kept: redacting twice changes nothing.
            alternatives = [PSEUDONYM.pattern]
            if self._long:
                alternatives.append(_trie_pattern(self._long))
            self._pattern = re.compile("|".join(f"(?:{a})" for a in alternatives))
        return self._pattern

    def text(self, text: str) -> str:
        """Replace every known secret inside a string (secrets of ``min_length`` or more)."""
        if not self._long:
            return text
        return self._compiled().sub(lambda m: m[0] if m[0].startswith("‹secret:") else pseudonym(m[0]), text)

    def value(self, value: Any, key: str | None = None) -> Any:
        """A redacted copy of nested data: keys and strings; whole values under secret-named keys."""
        if isinstance(value, str):
            if key is not None and is_secret_key(key) and value and not PSEUDONYM.fullmatch(value):
                return pseudonym(value)
            return self.text(value)
        if isinstance(value, dict):
            return {(self.text(k) if isinstance(k, str) else k): self.value(v, str(k)) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return type(value)(self.value(item, key) for item in value)
        return value

    def event(self, event: Event) -> Event:
        """An event with its data redacted: args, value and error of an operation, a fault's detail.

        The harness's own vocabulary (kind, name, replica, outcome, phase, fault, target)
        is left alone: it holds no secret, and checkers and reports rely on it.
        """
        if isinstance(event, Operation):
            return replace(event, args=self.value(event.args), value=self.value(event.value),
                           error=None if event.error is None else self.text(event.error))
        return replace(event, detail=self.text(event.detail))

    def history(self, history: History) -> History:
        """A redacted copy of a history; it can be judged again by the checkers."""
        return History([self.event(e) for e in history], clock=history.clock)


def redactor_for(histories: Iterable[History], extra_secrets: Iterable[str] = ()) -> Redactor:
    """A redactor that knows the extra secrets and every secret found in the histories."""
    redactor = Redactor(extra_secrets)
    for history in histories:
        redactor.collect_history(history)
    return redactor
