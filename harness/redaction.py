"""Secrets never reach a report or a log: every secret is replaced by a stable pseudonym.

This module sits just above ``harness.history``, below the errors and everything built
on them (the import layers are in pyproject.toml): errors scrub their messages with it,
specs and deployments ``remember`` their secrets in it, checkers write ``pseudonym``-s
in their evidence, and reports redact whole histories with its ``Redactor``. It knows
nothing of specs: a spec hands its environment to ``env_secrets``
(``harness.spec.spec_secrets``).

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

Secrets are also found by their shape, in any text, whatever key they stand under
(``mask_shapes``): a password inside a URL (``scheme://user:password@host``, the DSN
of a database or of Sentry), the value of a secret-named assignment
(``DB_PASSWORD=…``, ``"api_key": "…"``, ``Authorization: Bearer …``), well-known token
formats (``sk_live_…``, JWTs ``eyJ…``, AWS ``AKIA…``, GitHub ``ghp_…``, Slack ``xox…``,
PEM private keys) and long high-entropy strings (mixed letters and digits that change
class as often as random text does). Plain words (``random``, ``durable``), paths, hex
digests and the harness's own names are left alone.

Text that leaves the process without a ``Redactor`` at hand (an error message, a
replica's last log lines) goes through ``scrub``: the shapes above plus every secret
``remember``-ed in this process (``load_spec`` remembers each spec's secrets).

What redaction does not do: the pseudonym is an unsalted hash, so whoever can guess a
low-entropy password can confirm the guess. Random tokens are safe; weak passwords
should not be in a spec that reaches a report anyway.
"""

from __future__ import annotations

import hashlib
import math
import re
from dataclasses import replace
from functools import lru_cache
from typing import Any, Collection, Iterable, Iterator, Mapping

from harness.history import Event, History, Operation

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


def _words(key: str) -> list[str]:
    return [w for w in _NOT_ALNUM.split(_CAMEL.sub("_", key).lower()) if w]


@lru_cache(maxsize=4096)  # a history repeats the same few keys thousands of times
def is_secret_key(key: str) -> bool:
    """Whether a key names a secret: ``token``, ``accessToken``, ``X-Api-Key``, ``session_id``...

    A key whose last word describes a secret rather than holding one (``SECRET_KEY_MODE``,
    ``token_type``, ``SESSION_COOKIE_NAME``, ``session_ttl``) is not a secret.
    """
    words = _words(key)
    if words and words[-1] in _DESCRIPTORS:
        return False
    if any(w in _SECRET_WORDS for w in words):
        return True
    joined = "".join(words)
    return "apikey" in joined or "sessionid" in joined or "setcookie" in joined


@lru_cache(maxsize=4096)
def is_secret_name(name: str) -> bool:
    """Whether an environment variable or a ``name=value`` in text names a secret.

    Wider than ``is_secret_key``: ``API_KEY``, ``DB_PASS``, ``SENTRY_DSN``,
    ``STRIPE_WEBHOOK_SIGNING`` too (in data, a bare ``key`` is a rate-limit key).
    """
    words = _words(name)
    if not words or words[-1] in _DESCRIPTORS or name in ("PWD", "OLDPWD"):  # the shell's working directory
        return False
    return is_secret_key(name) or any(w in _NAME_WORDS for w in words)


# The last word of a key that says what kind of setting it is, not the secret itself.
_DESCRIPTORS = frozenset({
    "mode", "type", "kind", "name", "names", "ttl", "length", "len", "size", "algorithm", "alg", "backend",
    "store", "storage", "engine", "enabled", "disabled", "path", "file", "dir", "prefix", "suffix", "header",
    "field", "format", "expiry", "expires", "age", "timeout", "rotation", "version", "column", "count",
    "limit", "policy", "strategy", "model", "samesite", "secure", "httponly", "domain", "scheme", "env",
    "url", "uri", "endpoint", "host", "port",  # where a token is fetched from: its passwords are masked by shape
})
# Words that make an environment variable's name secret, on top of _SECRET_WORDS.
_NAME_WORDS = frozenset({"key", "pass", "dsn", "signing", "private", "pat", "passphrase", "auth", "jwt"})

_PLAIN = re.compile(r"‹[^›]*›|\{[\w.]+\}")  # a pseudonym, a mask or a placeholder: never masked again

# scheme://user:password@host, and scheme://long-public-key@host (a Sentry DSN)
_URL_USERINFO = re.compile(r"(?<=://)(?:([^:/@\s'\"<>‹›]*):([^@/\s'\"<>‹›]+)|([A-Za-z0-9_-]{16,}))(?=@)")
# Token formats that are secrets whatever they stand under.
_KNOWN_SHAPES = re.compile("|".join([
    r"-----BEGIN[A-Z ]* PRIVATE KEY-----[\s\S]*?-----END[A-Z ]* PRIVATE KEY-----",
    r"\b(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]{8,}",
    r"\bwhsec_[A-Za-z0-9+/=]{16,}",
    r"\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*",
    r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b",
    r"\b(?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{20,}",
    r"\bgithub_pat_[A-Za-z0-9_]{20,}",
    r"\bxox[abposr]-[A-Za-z0-9-]{10,}",
    r"\bAIza[0-9A-Za-z_-]{35}",
    r"\bglpat-[A-Za-z0-9_-]{20,}",
]))
# NAME=value, NAME: value, "name": "value", Authorization: Bearer value
_ASSIGNMENT = re.compile(
    r"(?<![\w‹.-])(?P<name>[A-Za-z_][A-Za-z0-9_.-]*)(?P<sep>[\"']?[ \t]*[=:][ \t]*)"
    r"(?P<scheme>(?:Bearer|Basic|Token|Digest)[ \t]+)?"
    r"(?:\"(?P<dq>[^\"\n]*)\"|'(?P<sq>[^'\n]*)'|(?P<bare>[^\s\"',;&<>{}()\[\]]+))")
_CANDIDATE = re.compile(r"(?<![\w+/‹-])[A-Za-z0-9+/_-]{20,}={0,2}(?![\w+/=-])")
_HEX = re.compile(r"[0-9a-fA-F-]+")


_SEGMENT = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|[0-9]+|[^A-Za-z0-9]+")


def _wordy(word: str) -> bool:
    """Whether half the string or more is made of word-like runs of 4+ letters (``ThisIsALongName2``):
    random text of mixed case breaks into runs of one or two letters."""
    return sum(len(s) for s in _SEGMENT.findall(word) if len(s) >= 4 and s.isalpha()) * 2 >= len(word)


def looks_random(word: str) -> bool:
    """A high-entropy token: 20+ characters mixing lower and upper case letters and digits, not made
    of words (an identifier like ``ReadinessTimeout2Seconds``), with the character entropy of random
    text. Hex strings (digests, container ids) are not masked by shape."""
    if len(word) < 20 or word.startswith("/") or _HEX.fullmatch(word):
        return False
    if not (any(c.islower() for c in word) and any(c.isupper() for c in word) and any(c.isdigit() for c in word)):
        return False
    if _wordy(word):
        return False
    counts: dict[str, int] = {}
    for ch in word:
        counts[ch] = counts.get(ch, 0) + 1
    entropy = -sum(n / len(word) * math.log2(n / len(word)) for n in counts.values())
    return entropy >= 3.5


def _keep(value: str) -> bool:
    return not value or bool(_PLAIN.fullmatch(value))


def _userinfo(m: re.Match[str]) -> str:
    user, password, public = m.group(1), m.group(2), m.group(3)
    if public is not None:
        return public if _keep(public) else pseudonym(public)
    return f"{user}:{password}" if _keep(password) else f"{user}:{pseudonym(password)}"


_WORD = re.compile(r"[A-Za-z]+")


def _secret_value(name: str, value: str, known: Collection[str]) -> bool:
    """Whether ``name=value`` in text gives a secret away: a secret-named key (its last dotted part,
    ``spring.datasource.password``) with a value that is a known secret, or anything but a plain
    word (``…token': give exactly one…`` in a message is prose, not a token)."""
    if _keep(value) or not is_secret_name(name.rsplit(".", 1)[-1]):
        return False
    return value in known or not _WORD.fullmatch(value)


def _assignment(m: re.Match[str], known: Collection[str] = ()) -> str:
    value = next(v for v in (m["dq"], m["sq"], m["bare"]) if v is not None)
    if not _secret_value(m["name"], value, known):
        return m[0]
    quote = '"' if m["dq"] is not None else "'" if m["sq"] is not None else ""
    return f"{m['name']}{m['sep']}{m['scheme'] or ''}{quote}{pseudonym(value)}{quote}"


def mask_shapes(text: str, known: Collection[str] = ()) -> str:
    """Replace every secret found by its shape (see the module docstring) with its pseudonym.

    ``known`` secrets, however short, are masked where they are the value of a secret-named
    assignment (``DB_PASSWORD=app``), though not elsewhere in text.
    """
    if len(text) < 8:
        return text
    if "://" in text:
        text = _URL_USERINFO.sub(_userinfo, text)
    text = _KNOWN_SHAPES.sub(lambda m: pseudonym(m[0]), text)
    if "=" in text or ":" in text:
        text = _ASSIGNMENT.sub(lambda m: _assignment(m, known), text)
    if len(text) >= 20:
        text = _CANDIDATE.sub(lambda m: pseudonym(m[0]) if looks_random(m[0]) else m[0], text)
    return text


def shaped_secrets(text: str) -> list[str]:
    """The secrets ``mask_shapes`` would replace in a text, to be known and masked wherever else they show."""
    found: list[str] = []
    for m in _URL_USERINFO.finditer(text):
        secret = m.group(2) if m.group(3) is None else m.group(3)
        if not _keep(secret):
            found.append(secret)
    found += [m[0] for m in _KNOWN_SHAPES.finditer(text)]
    for m in _ASSIGNMENT.finditer(text):
        value = next(v for v in (m["dq"], m["sq"], m["bare"]) if v is not None)
        if _secret_value(m["name"], value, ()):
            found.append(value)
    found += [m[0] for m in _CANDIDATE.finditer(text) if looks_random(m[0])]
    return found


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


def env_secrets(env: Mapping[str, str]) -> list[str]:
    """Secrets an environment gives away: secret-named values (``secrets_in_env``), passwords inside
    URLs (``postgresql://user:password@db/...``) and secrets known by their shape under any name.

    A placeholder such as ``{postgres.password}`` is filled in at deploy time: not a secret itself.
    """
    found = [v for v in secrets_in_env(env) if not _PLACEHOLDER.fullmatch(v)]
    found += [m.group(1) for v in env.values() for m in _URL_PASSWORD.finditer(v)
              if not _PLACEHOLDER.fullmatch(m.group(1))]
    # Secrets known by their shape, under whatever name: masked wherever they reappear, even cut
    # out of the shape that revealed them (a token echoed alone in a response).
    found += [secret for k, v in env.items() for secret in shaped_secrets(f"{k}={v}")]
    return list(dict.fromkeys(found))


_URL_PASSWORD = re.compile(r"://[^:/@\s]+:([^@/\s]+)@")


def secrets_in_env(env: Mapping[str, str]) -> list[str]:
    """Values of environment variables named like a secret (``is_secret_name``): ``DB_PASSWORD``,
    ``API_KEY``, ``SENTRY_DSN``... but not ``SECRET_KEY_MODE``."""
    return [v for k, v in env.items() if v and is_secret_name(k)]


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

    def __init__(self, secrets: Iterable[str] = (), min_length: int = MIN_LENGTH, shapes: bool = True) -> None:
        self.min_length = min_length
        #: also mask secrets found by their shape (``mask_shapes``); off for files such as locust's
        #: HTML page, whose embedded fonts and scripts look random without being secrets
        self.shapes = shapes
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

    def known(self) -> set[str]:
        """Every secret this redactor knows (to hand them to another one)."""
        return self._long | self._short

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
        """Replace every known secret inside a string (secrets of ``min_length`` or more), then every
        secret found by its shape (``mask_shapes``)."""
        if self._long:
            text = self._compiled().sub(lambda m: m[0] if m[0].startswith("‹secret:") else pseudonym(m[0]), text)
        return mask_shapes(text, self._short) if self.shapes else text

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


#: The secrets this process knows of (every loaded spec's), for text that leaves it without a Redactor.
_REMEMBERED = Redactor()


def remember(*secrets: str) -> None:
    """Know these secrets in ``scrub`` from now on, for the life of the process."""
    _REMEMBERED.add(*secrets)


def process_redactor(extra: Iterable[str] = (), shapes: bool = True) -> Redactor:
    """A redactor that knows every secret remembered in this process, and ``extra``."""
    return Redactor(extra, shapes=shapes).add(*_REMEMBERED.known())


def scrub(text: str, extra: Iterable[str] = ()) -> str:
    """``text`` with every remembered secret, every ``extra`` one and every secret shape masked.

    The one function for text that leaves the process outside a run folder: error
    messages, a replica's last log lines, the console.
    """
    if not isinstance(text, str) or not text:
        return text
    extra = [e for e in extra if e]
    redactor = Redactor(extra).add(*_REMEMBERED.known()) if extra else _REMEMBERED
    return redactor.text(text)


def redactor_for(histories: Iterable[History], extra_secrets: Iterable[str] = ()) -> Redactor:
    """A redactor that knows the extra secrets and every secret found in the histories."""
    redactor = Redactor(extra_secrets)
    for history in histories:
        redactor.collect_history(history)
    return redactor
