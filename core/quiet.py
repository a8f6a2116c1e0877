"""One log line per key a minute, however often the thing it reports happens: a flood of refusals must not
flood the log an operator reads. Each line says how many went unlogged since the one before."""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable

_KEYS_KEPT = 4096  # past this, keys whose minute is over are forgotten: a scanner walking addresses cannot grow it


class Quiet:
    def __init__(self, every_s: float = 60.0, clock: Callable[[], float] = time.monotonic) -> None:
        self._every_s = every_s
        self._clock = clock
        self._seen: dict[Hashable, tuple[float, int]] = {}  # key -> (last logged, unlogged since)

    def due(self, key: Hashable) -> int | None:
        """How many went unlogged since the last line, when a line is due now; None when it is not."""
        now = self._clock()
        logged, since = self._seen.get(key, (now - self._every_s, 0))
        if now - logged < self._every_s:
            self._seen[key] = (logged, since + 1)
            return None
        if len(self._seen) >= _KEYS_KEPT:
            self._seen = {k: v for k, v in self._seen.items() if now - v[0] < self._every_s}
        self._seen[key] = (now, 0)
        return since
