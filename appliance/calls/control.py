"""Acts on what moves or ends a call: the transfer key or a request for a person hands the call over after a
spoken handover line; a goodbye ends it once the goodbye has been said."""

from __future__ import annotations

from collections.abc import Callable

import structlog

from appliance.calls.events import (
    Dtmf,
    Event,
    HangupRequested,
    ReplyDone,
    SayLine,
    SpeechDone,
    TransferRequested,
)
from appliance.tenants.document import TenantDocument

HANDOVER_LINE = "Of course. I'm putting you through to someone from the team now, please hold."


class CallControl:
    def __init__(
        self, tenant: TenantDocument, publish: Callable[[Event], None], log: structlog.stdlib.BoundLogger
    ) -> None:
        self._transfer = tenant.transfer
        self._publish = publish
        self._log = log
        self._after: dict[int, Event] = {}  # what to do once a turn's words are all in the playout buffer
        self._moving = False
        self._key_pressed = False

    def handle(self, event: Event) -> None:
        if isinstance(event, Dtmf):
            self._on_key(event.digit)
        elif isinstance(event, ReplyDone) and not self._moving:
            if event.intent == "person" and self._transfer.number:
                self._moving = True
                self._after[event.turn] = TransferRequested(self._transfer.number, "the caller asked for a person")
            elif event.intent == "goodbye":
                self._moving = True
                self._after[event.turn] = HangupRequested("the caller said goodbye")
        elif isinstance(event, SpeechDone) and event.turn in self._after:
            action = self._after.pop(event.turn)
            self._log.info("call control", action=type(action).__name__, reason=getattr(action, "reason", ""))
            self._publish(action)

    def _on_key(self, digit: str) -> None:
        if digit != self._transfer.dtmf_digit or self._moving or self._key_pressed:
            return
        if not self._transfer.number:
            self._log.info("transfer key pressed but the tenant has no transfer number", digit=digit)
            return
        self._key_pressed = True
        self._publish(SayLine(HANDOVER_LINE, intent="person", caller=f"[pressed {digit}]"))
