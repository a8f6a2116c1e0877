"""Keeps card details a caller reads out out of the call: every caller turn passes here before it is published, so
the dialogue, the LLM, the transcript, the log, tool arguments and notifications only ever see it redacted; a
number completed over two turns corrects the earlier one; the recording is told which stretches to silence."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import structlog

from core.events import CallerCorrected, CallerSaid, CallerSilenced, Event
from core.security.cards import CardReader, Span, digits_in, redact_earlier

# Around the words in the recording: the utterance's edges as the VAD placed them may clip the first or last digit.
_MARGIN_S = 0.3
_KEEP = 4  # earlier turns a number may have begun in


class CardGuard:
    def __init__(self, publish: Callable[[Event], None], log: structlog.stdlib.BoundLogger) -> None:
        self._publish = publish
        self._log = log
        self._reader: CardReader[int] = CardReader()
        self._published: dict[int, CallerSaid] = {}
        self._count = 0

    def said(self, said: CallerSaid) -> CallerSaid:
        """The caller's turn as it may be kept: card details replaced. Earlier turns that held part of the number
        are corrected (``CallerCorrected``) and the audio of each is silenced (``CallerSilenced``)."""
        key, self._count = self._count, self._count + 1
        reading = self._reader.read(said.text, key)
        now = dataclasses.replace(said, text=reading.text) if reading.spans else said
        self._published[key] = now
        self._published.pop(key - _KEEP, None)
        by_turn: dict[int, list[Span]] = {}
        for earlier, span in reading.earlier:
            by_turn.setdefault(earlier, []).append(span)
        for earlier, spans in by_turn.items():
            was = self._published.get(earlier)
            if was is None:
                continue
            fixed = dataclasses.replace(was, text=redact_earlier(was.text, spans))
            self._published[earlier] = fixed
            self._publish(CallerCorrected(was, fixed, digits_in(was.text, spans)))
            self._silence(was)
        if reading.spans:
            self._silence(said)
            # Which kinds, never the digits: enough to answer "why does the transcript say [card number]?".
            self._log.info(
                "card details redacted from what the caller said",
                kinds=sorted({span.mark for span in reading.spans}),
                earlier_turns=len(by_turn),
            )
        return now

    def draft(self, text: str) -> str:
        """Words from a pause in the caller's turn, for the LLM to read ahead: redacted the same way, remembering
        nothing (the turn is not over)."""
        return self._reader.read(text, self._count, remember=False).text

    def _silence(self, said: CallerSaid) -> None:
        if said.speech_start is not None and said.speech_end is not None:
            self._publish(CallerSilenced(max(0.0, said.speech_start - _MARGIN_S), said.speech_end + _MARGIN_S))
