"""A small time-limited cache for credential lookups that every request makes (sessions, API tokens)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Generic, TypeVar

V = TypeVar("V")
_MOST = 10_000


class TtlCache(Generic[V]):
    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._seconds = seconds
        self._clock = clock
        self._items: dict[str, tuple[float, V]] = {}
        self._lock = threading.Lock()

    def get(self, key: str, load: Callable[[], V]) -> V:
        """The cached value, or ``load()``'s (cached for the next calls)."""
        now = self._clock()
        with self._lock:
            found = self._items.get(key)
        if found is not None and found[0] > now:
            return found[1]
        value = load()
        with self._lock:
            if len(self._items) >= _MOST:  # many different credentials tried: start afresh, bounded
                self._items.clear()
            self._items[key] = (now + self._seconds, value)
        return value

    def drop(self, keep: Callable[[V], bool] | None = None) -> None:
        """Forget everything, or every value ``keep`` says no to."""
        with self._lock:
            if keep is None:
                self._items.clear()
            else:
                self._items = {k: v for k, v in self._items.items() if keep(v[1])}

    def pop(self, key: str) -> None:
        with self._lock:
            self._items.pop(key, None)
