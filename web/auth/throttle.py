"""Login throttling: after too many failed attempts for an account from one address, from one address in all, or
for one account from every address together, further attempts are refused until the window has passed. The
per-account count matters behind a proxy, where every client may share the proxy's address. In memory: a
restart forgives, which is fine for a box on a local network and keeps a failed login from writing to the
database."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable


class LoginThrottle:
    def __init__(self, attempts: int, window_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._attempts = attempts
        self._window = window_s
        self._clock = clock
        self._failures: dict[tuple[str, str], deque[float]] = {}
        self._lock = threading.Lock()

    def _keys(self, address: str, account: str) -> list[tuple[str, str]]:
        # Per account and address; per address across accounts (with more room: people mistype emails); and per
        # account across addresses (more room too: a guesser spread over many addresses still meets a limit).
        account = account.strip().lower()
        return [(address, account), (address, "*"), ("*", account)]

    def _limit(self, key: tuple[str, str]) -> int:
        return self._attempts if "*" not in key else self._attempts * (4 if key[1] == "*" else 2)

    def retry_after(self, address: str, account: str) -> float:
        """Seconds until another attempt is allowed; 0 when it is allowed now."""
        now = self._clock()
        wait = 0.0
        with self._lock:
            for key in self._keys(address, account):
                failures = self._recent(key, now)
                if len(failures) >= self._limit(key):
                    wait = max(wait, failures[0] + self._window - now)
        return wait

    def failed(self, address: str, account: str) -> None:
        now = self._clock()
        with self._lock:
            for key in self._keys(address, account):
                self._recent(key, now).append(now)

    def succeeded(self, address: str, account: str) -> None:
        with self._lock:
            self._failures.pop(self._keys(address, account)[0], None)

    def _recent(self, key: tuple[str, str], now: float) -> deque[float]:
        if len(self._failures) > 50_000:  # a flood of made-up accounts must not grow memory without bound
            self._failures = {k: v for k, v in self._failures.items() if v and v[-1] > now - self._window}
        failures = self._failures.setdefault(key, deque())
        while failures and failures[0] <= now - self._window:
            failures.popleft()
        return failures
