"""Latency-critical work that the LLM should not compete with for the CPU.

On a 2-core box the first clause of a reply is synthesized while the LLM goes on generating the rest; both want
every core, and the caller waits for the first audio. While any foreground work is held, the LLM pauses between
tokens (never for longer than a short bound, so a stuck holder cannot stall a call).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator


class Foreground:
    def __init__(self) -> None:
        self._holders = 0
        self._lock = threading.Lock()
        self._free = threading.Event()
        self._free.set()

    @contextlib.contextmanager
    def hold(self) -> Iterator[None]:
        with self._lock:
            self._holders += 1
            self._free.clear()
        try:
            yield
        finally:
            with self._lock:
                self._holders -= 1
                if self._holders == 0:
                    self._free.set()

    def yield_to(self, limit_s: float = 0.5) -> None:
        """Called by background work between steps: wait while foreground work is in progress."""
        self._free.wait(limit_s)
