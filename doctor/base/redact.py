"""Redaction: every byte the doctor prints or writes passes through here.

Two layers, so that redaction fails closed:

1. Known secrets. Whatever the doctor reads that is a secret (api keys, OAuth
   tokens, management keys) is registered with the process-wide `REGISTRY` as
   soon as it is parsed; every registered value is replaced by its fingerprint.
2. Shapes. Anything that looks like a JWT, an `sk-` key, a bearer value, an
   OpenAI refresh token or a long high-entropy string is masked even if no rule
   named it.

A fingerprint is `sha256:` plus 8 hex digits of the value's SHA-256: stable
(the same secret always gets the same fingerprint, so two files can be compared
by eye) and useless for recovering the value.
"""

from __future__ import annotations

import math
import re
import threading
from typing import Any

# THE policy for which names hold secrets: config keys, environment variables, JSON fields, HTTP headers.
# A value stored under such a name is registered and shown as a fingerprint wherever it appears.
# `tokens` (a count: MAX_OUTPUT_TOKENS, max_input_tokens) is not a secret; `token`, `refresh_token` are.
_SECRET_NAME = re.compile(
    r"""(?ix)
    token(?!s) | secret | passw(?:or)?d | api[_-]?keys?(?!helper) | access[_-]?key | private[_-]?key
    | management[_-]?key | master[_-]?key | authorization | cookie | credential | custom[_-]?headers
    | (?:^|[-_.])keys?$ | (?:^|[-_])auth$
    """
)


def is_secret_name(name: str) -> bool:
    """Does a value stored under this name (a key, a variable, a field, a header) hold a secret?"""
    return bool(_SECRET_NAME.search(str(name)))


# Values that look like keys but are public example values; showing them is the point.
PUBLIC_VALUES = frozenset({"your-api-key-1", "your-api-key-2", "your-api-key-3"})
MIN_SECRET_LEN = 8


def fingerprint(value: str | bytes) -> str:
    if isinstance(value, str):
        value = value.encode("utf-8", "surrogateescape")
    import hashlib  # here, not at the top: loading OpenSSL costs 2 ms, and most outputs hold nothing to mask

    return "sha256:" + hashlib.sha256(value).hexdigest()[:8]


class Secret:
    """A secret value whose str() and repr() are only its fingerprint."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value
        REGISTRY.add(value)

    def reveal(self) -> str:
        return self._value

    @property
    def fingerprint(self) -> str:
        return fingerprint(self._value)

    def __str__(self) -> str:
        return self.fingerprint

    __repr__ = __str__

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Secret):
            return self._value == other._value
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._value)


# A registered value longer than this is no real token: it is left to the shape rules (it is long and
# random), so redaction never builds or scans for a multi-megabyte literal.
MAX_SECRET_LEN = 64 * 1024


class SecretRegistry:
    """Literal secret values seen during this process; thread-safe. Replacing them costs one linear
    search of the text per secret (str.replace), never a pattern compiled from their contents."""

    def __init__(self) -> None:
        self._values: set[str] = set()
        self._lock = threading.Lock()
        self._ordered: tuple[str, ...] | None = ()

    def add(self, value: Any) -> None:
        if not isinstance(value, str):
            return
        value = value.strip()
        if len(value) < MIN_SECRET_LEN or len(value) > MAX_SECRET_LEN or value in PUBLIC_VALUES:
            return
        with self._lock:
            if value not in self._values:
                self._values.add(value)
                self._ordered = None

    def ordered(self) -> tuple[str, ...]:
        """The values, longest first, so a secret containing another is replaced whole."""
        with self._lock:
            if self._ordered is None:
                self._ordered = tuple(sorted(self._values, key=len, reverse=True))
            return self._ordered

    def __contains__(self, value: object) -> bool:
        with self._lock:
            return isinstance(value, str) and value.strip() in self._values

    def clear(self) -> None:
        with self._lock:
            self._values.clear()
            self._ordered = ()


REGISTRY = SecretRegistry()

# Shapes that are secrets whatever their origin.
_JWT = re.compile(r"\beyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*")
_SK = re.compile(r"\b(?:sk|rk|pk)-(?:[A-Za-z0-9]+-)*[A-Za-z0-9_]{12,}")
_BEARER = re.compile(r"(?i)\b(bearer|basic)\s+([A-Za-z0-9._~+/=-]{8,})")
_REFRESH = re.compile(r"\b(?:rt|ort|oat)_[A-Za-z0-9._-]{12,}")
_KV = re.compile(
    r"""(?ix)
    (["']?\b(?:access_token|refresh_token|id_token|api[_-]?key|secret[_-]?key|secret|password|
        client_secret|token|authorization|x-api-key|management[_-]?key|ANTHROPIC_AUTH_TOKEN|
        ANTHROPIC_API_KEY|OPENAI_API_KEY|primaryApiKey)["']?\s*[:=]\s*["']?)
    ([^\s"',}]{8,})
    """
)
_LONG = re.compile(r"[A-Za-z0-9_+/.~-]{32,}={0,2}")  # `=` only as base64 padding, never across KEY=value
_URL_PASSWORD = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^\s/@:]*:)([^\s/@]+)(@)")  # scheme://user:PASSWORD@host
_ALREADY = re.compile(r"sha256:[0-9a-f]{8}")


def _entropy(text: str) -> float:
    counts: dict[str, int] = {}
    for ch in text:
        counts[ch] = counts.get(ch, 0) + 1
    n = len(text)
    return -sum(c / n * math.log2(c / n) for c in counts.values())


def _looks_random(token: str) -> bool:
    if "/" in token and not re.search(r"[+=]", token):
        return False  # a path or URL, not a key
    if re.fullmatch(r"[0-9a-f]{40}", token):
        return False  # a git commit id
    classes = sum(bool(re.search(p, token)) for p in (r"[a-z]", r"[A-Z]", r"[0-9]"))
    return classes >= 2 and _entropy(token) >= 3.5


def _mask(match_text: str) -> str:
    return f"[redacted {fingerprint(match_text)}]"


# Header values that are secrets whatever their name says (Cookie, Authorization, x-...-key/-auth/-token):
# the whole value to the end of the line (a cookie header is a list of secrets).
_HEADER = re.compile(
    r"""(?i)\b((?:set-)?cookie|proxy-authorization|authorization|x-[a-z0-9-]*?(?:key|auth|token|secret|session)"""
    r"""[a-z0-9-]*)("?\s*:\s*"?)([^\r\n"]{4,})""")


def redact_text(text: str) -> str:
    """Mask every secret in `text`. Idempotent; linear in the text for each registered secret."""
    if not text:
        return text
    for secret in REGISTRY.ordered():
        if secret in text:
            text = text.replace(secret, fingerprint(secret))
    text = _HEADER.sub(lambda m: m.group(1) + m.group(2) + _already_or_mask(m.group(3).strip()), text)
    text = _JWT.sub(lambda m: _mask(m.group(0)), text)
    text = _SK.sub(lambda m: _mask(m.group(0)), text)
    text = _REFRESH.sub(lambda m: _mask(m.group(0)), text)
    text = _URL_PASSWORD.sub(lambda m: m.group(1) + _mask(m.group(2)) + m.group(3), text)
    text = _BEARER.sub(lambda m: f"{m.group(1)} {_already_or_mask(m.group(2))}", text)
    text = _KV.sub(lambda m: m.group(1) + _already_or_mask(m.group(2)), text)
    text = _LONG.sub(lambda m: _mask(m.group(0)) if _looks_random(m.group(0)) else m.group(0), text)
    return text


def _already_or_mask(value: str) -> str:
    if _ALREADY.fullmatch(value) or value.startswith("[redacted") or "[redacted " in value or value in PUBLIC_VALUES:
        return value
    if value.startswith("sha256:"):
        return value
    return _mask(value)


def redact(value: Any) -> Any:
    """Redact strings anywhere inside a JSON-like structure (keys included)."""
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, Secret):
        return value.fingerprint
    if isinstance(value, dict):
        return {redact_text(str(k)): _secret_value(str(k), v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [redact(v) for v in value]
    return value


def _secret_value(key: str, value: Any) -> Any:
    """A value under a secret-bearing name is masked even when no rule knows its shape (a cookie, a short
    custom token), unless it is already a fingerprint or words rather than a value."""
    if isinstance(value, str) and is_secret_name(key):
        plain = value.strip()
        if "cookie" in key.lower() and plain:
            return _already_or_mask(plain)
        if len(plain) >= MIN_SECRET_LEN and not any(ch.isspace() for ch in plain):
            return _already_or_mask(plain)
    return redact(value)


_TOKEN_WORD = re.compile(r"[A-Za-z0-9._~+=-]{20,}")


def register_words(text: str) -> None:
    """Register every token-shaped word of `text` (20 or more characters of a token's alphabet: not URLs,
    paths or key names), for text that holds secrets but is not parsed: a broken credential file, a
    Keychain item."""
    for word in _TOKEN_WORD.findall(text):
        REGISTRY.add(word)


def register_from(data: Any, secret_key: bool = False) -> None:
    """Register every value stored under a secret-looking key (recursively)."""
    if isinstance(data, dict):
        for key, value in data.items():
            register_from(value, secret_key or is_secret_name(key))
    elif isinstance(data, (list, tuple)):
        for value in data:
            register_from(value, secret_key)
    elif secret_key and isinstance(data, str):
        REGISTRY.add(data)
