"""Test calls in progress on the box: browser test calls and API simulations, at most ``web.max_test_calls`` at
once, so that staff trying the assistant cannot take every model and line the callers need.

A slot is taken before the request awaits anything (loading models, answering the offer), so two requests at once
cannot both pass, and given back once, however the call ends.
"""

from __future__ import annotations

import logging
import threading
from types import TracebackType

from litestar.exceptions import TooManyRequestsException

log = logging.getLogger("appliance.web.trial_calls")


class TrialSlot:
    def __init__(self, owner: TrialCalls) -> None:
        self._owner = owner
        self._held = True

    def release(self) -> None:
        """Gives the slot back; again is a no-op."""
        if self._held:
            self._held = False
            self._owner._give_back()

    def __enter__(self) -> TrialSlot:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.release()


class TrialCalls:
    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._held = 0
        self._lock = threading.Lock()

    @property
    def in_progress(self) -> int:
        return self._held

    def take(self, what: str, tenant_id: str, actor: str) -> TrialSlot:
        """A slot for one test call, or 429 when ``limit`` are in progress."""
        with self._lock:
            held = self._held
            if held < self.limit:
                self._held += 1
                return TrialSlot(self)
        log.warning(
            "refused a %s for %s by %s: %d test calls (browser calls and simulations) are in progress, "
            "web.max_test_calls = %d; end one, or raise web.max_test_calls if the box has the cores for more",
            what, tenant_id, actor, held, self.limit,
        )  # fmt: skip
        calls = "1 test call is" if held == 1 else f"{held} test calls are"
        raise TooManyRequestsException(f"{calls} already in progress on this box; end one first")

    def _give_back(self) -> None:
        with self._lock:
            self._held -= 1
