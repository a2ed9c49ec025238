"""Facts computed at most once, lazily, safely from many threads."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any


class Memo:
    """`memo(key, compute)`: the first caller computes, concurrent callers of the same key wait for it,
    later callers get the stored value. Different keys never wait on each other."""

    def __init__(self) -> None:
        self._memo: dict[str, Any] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def memo(self, key: str, compute: Callable[[], Any]) -> Any:
        with self._guard:
            if key in self._memo:
                return self._memo[key]
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            if key not in self._memo:
                self._memo[key] = compute()
            return self._memo[key]
