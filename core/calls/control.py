"""Moves or ends the call once the words before it have been said: the transfer key gets a handover line then a
transfer; a reply that ends in a transfer or a goodbye hands the request to the transport once it is spoken."""

from __future__ import annotations

from collections.abc import Callable

import structlog

from core.dialogue.lines import HANDOVER
from core.events import (
    Dtmf,
    Event,
    HangupRequested,
    ReplyDone,
    SayLine,
    SpeechDone,
    TransferRequested,
)
from core.tenants.document import TenantDocument


class CallControl:
    def __init__(
        self, tenant: TenantDocument, publish: Callable[[Event], None], log: structlog.stdlib.BoundLogger
    ) -> None:
        self._transfer = tenant.transfer
        self._publish = publish
        self._log = log
        self._after: dict[int, TransferRequested | HangupRequested] = {}
        self._leaving = False

    def handle(self, event: Event) -> None:
        if isinstance(event, Dtmf):
            self._on_key(event.digit)
        elif isinstance(event, ReplyDone) and event.after is not None and not self._leaving:
            self._leaving = True
            self._after[event.turn] = event.after
        elif isinstance(event, SpeechDone) and event.turn in self._after:
            action = self._after.pop(event.turn)
            self._log.info("call control", action=type(action).__name__, reason=action.reason)
            self._publish(action)

    def _on_key(self, digit: str) -> None:
        if digit != self._transfer.dtmf_digit or self._leaving:
            return
        if not self._transfer.number:
            self._log.info("transfer key pressed but the tenant has no transfer number", digit=digit)
            return
        request = TransferRequested(self._transfer.number, f"the caller pressed {digit}")
        self._publish(SayLine(HANDOVER, intent="person", caller=f"[pressed {digit}]", after=request))
