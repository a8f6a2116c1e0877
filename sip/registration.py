"""One trunk's registration as an operator sees it, and when to try again after a failure (exponential backoff)."""

from __future__ import annotations

import random
import re
from datetime import datetime

from core.store.database import utcnow
from sip.settings import TrunkSettings
from sip.status import TrunkState, TrunkStatus

_CHALLENGE = re.compile(r'^(?:WWW|Proxy)-Authenticate:\s*Digest\s[^\r\n]*?\brealm="([^"]*)"', re.I | re.M)


def challenge_realm(message: str) -> str | None:
    """The realm a 401/407 challenges with (its first challenge's), or None when it has none."""
    found = _CHALLENGE.search(message)
    return found.group(1) if found else None


class Backoff:
    """``minimum`` doubling after each failure up to ``maximum``, with ±10 % jitter so that many boxes behind
    one carrier do not retry in step."""

    def __init__(self, minimum: float, maximum: float, rng: random.Random | None = None) -> None:
        self._min, self._max = minimum, maximum
        self._rng = rng or random.Random()
        self.failures = 0

    def next(self) -> float:
        delay = min(self._max, self._min * 2**self.failures)
        self.failures += 1
        return round(float(delay) * self._rng.uniform(0.9, 1.1), 2)

    def reset(self) -> None:
        self.failures = 0


def hint(code: int) -> str | None:
    if code in (401, 403, 407):
        return "the registrar refused the credentials: check the trunk's username, password and realm"
    if code == 404:
        return "the registrar does not know this account: check the trunk's username and domain"
    if code == 408:
        return "no answer from the registrar: check its address, the network and any firewall"
    if code >= 500:
        return "the registrar or the route to it is failing; retrying with backoff"
    if code >= 300:
        return "the registrar refused the registration"
    return None


class TrunkRegistration:
    def __init__(self, trunk: TrunkSettings, backoff: Backoff) -> None:
        self.trunk = trunk
        self._backoff = backoff
        self.state: TrunkState = "registering" if trunk.register else "not registering"
        self.code: int | None = None
        self.reason: str | None = None
        self.last_success: datetime | None = None
        self.expires: int | None = None
        self.retry_at: float | None = None  # loop time of the next attempt

    def result(self, code: int, reason: str, expires: int, now: float) -> float | None:
        """Take the registrar's answer; returns the delay before the next attempt when it failed."""
        self.code, self.reason = code, reason
        self.retry_at = None
        if 200 <= code < 300 and expires > 0:
            self.state, self.expires = "registered", expires
            self.last_success = utcnow()
            self._backoff.reset()
            return None
        if 200 <= code < 300:
            self.state, self.expires = "unregistered", None
            return None
        self.state, self.expires = "failing", None
        delay = self._backoff.next()
        self.retry_at = now + delay
        return delay

    def status(self, now: float) -> TrunkStatus:
        failing = self.state == "failing"
        return TrunkStatus(
            name=self.trunk.name,
            registrar=self.trunk.registrar,
            username=self.trunk.username,
            state=self.state,
            code=self.code,
            reason=self.reason,
            hint=hint(self.code) if failing and self.code else None,
            last_success=self.last_success.isoformat(timespec="seconds") + "Z" if self.last_success else None,
            failures=self._backoff.failures,
            next_retry_s=round(max(0.0, self.retry_at - now), 1) if self.retry_at is not None else None,
            expires_s=self.expires,
        )
