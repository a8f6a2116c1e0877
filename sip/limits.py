"""How much one address or one caller may take from the box: INVITEs a second from a source, calls an hour from
a caller's number.

A flood must not take the lines real callers need, nor fill the log an operator reads. Each limit is a token
bucket per key, checked on the SIP stack's thread before a call is set up; the keys kept are bounded, so a
scanner walking through addresses cannot grow them without end.
"""

from __future__ import annotations

from dataclasses import dataclass

_KEYS_KEPT = 4096


@dataclass(slots=True)
class _Bucket:
    tokens: float
    at: float


class Rate:
    """At most ``burst`` at once per key, refilled at ``per_s``. A rate of 0 allows everything."""

    def __init__(self, per_s: float, burst: float) -> None:
        self._per_s = per_s
        self._burst = max(burst, 1.0)
        self._buckets: dict[str, _Bucket] = {}

    def take(self, key: str, now: float) -> bool:
        if self._per_s <= 0:
            return True
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= _KEYS_KEPT:
                self._forget_full(now)
            bucket = self._buckets[key] = _Bucket(self._burst, now)
        bucket.tokens = min(self._burst, bucket.tokens + (now - bucket.at) * self._per_s)
        bucket.at = now
        if bucket.tokens < 1.0:
            return False
        bucket.tokens -= 1.0
        return True

    def _forget_full(self, now: float) -> None:
        """Drop the keys whose bucket has refilled: forgetting them changes nothing."""
        refill_s = self._burst / self._per_s
        self._buckets = {k: b for k, b in self._buckets.items() if now - b.at < refill_s}
        if len(self._buckets) >= _KEYS_KEPT:  # every key is busy: the oldest go
            kept = sorted(self._buckets.items(), key=lambda kv: kv[1].at)[_KEYS_KEPT // 2 :]
            self._buckets = dict(kept)
