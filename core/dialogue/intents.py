"""Intents scored by meaning: the caller's words against a few examples of each, and the business's own words.

A small model's label is a guess among thirteen, and it guesses "question" for much that is not one: "Is this
Mario's pizzeria? I wanted to order a pizza", "I have a complaint about my last visit", "roughly how much
would a bathroom re-pipe cost? we're planning a reno next year". The embedder says how close the words are to
examples of each intent; where an example of a task is much closer than any example of what the model said,
the task wins (``Flow.refine``). The examples are generic, never a business's facts; the business adds its own
words: its escalation words ask for a person.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.dialogue.facts import FactVectors
from core.tenants.document import TenantDocument

EXAMPLES: dict[str, tuple[str, ...]] = {
    "question": (
        "what time do you close on Fridays",
        "how much do you charge for that",
        "do you take credit cards",
        "where are you located",
        "is there parking nearby",
        "do you work on weekends",
        "how long does it take",
    ),
    "booking": (
        "can I book an appointment for next week",
        "could someone come out on Tuesday morning to fix it",
        "I'd like to make a booking for tomorrow afternoon",
        "have you got anything free on Friday",
    ),
    "lead": (
        "roughly how much would a whole new kitchen cost, we're planning it for next year",
        "can you give me a quote for a big job",
        "I'm getting prices for a renovation, can someone get back to me with an estimate",
    ),
    "message": (
        "can you ask them to call me back",
        "I'd like to leave a note for her",
        "just tell them I rang",
    ),
    "person": (
        "can I speak to a real person",
        "put me through to the manager please",
        "I'm not happy with the work you did and I want to make a complaint",
        "I'd like to complain about the service I got",
        "I have a complaint to make",
        "is there a human I could talk to",
    ),
    "wrong_number": (
        "is this the pizza place? I want to order a large pepperoni",
        "sorry, I think I dialled the wrong number",
        "I was trying to call my doctor's office",
        "is that the taxi company",
    ),
    "cancel": ("I can't make it on Friday any more, please take me off", "please cancel the booking I made"),
    "reschedule": ("can we push my visit back a week", "I need to change the time of my booking"),
}
# Labels a task may overrule, and the tasks that may overrule them.
_CHAT = frozenset({"question", "other", "yes", "no"})
_TASKS = frozenset({"booking", "lead", "message", "person", "wrong_number", "cancel", "reschedule"})


@dataclass(frozen=True, slots=True)
class Scores:
    """How close the caller's words came to each intent's nearest example (cosine)."""

    best: dict[str, float]

    def overrule(self, intent: str, *, close: float, ahead: float) -> str | None:
        """A task that should replace the model's chat label ``intent``: its example at least ``close``, and
        ``ahead`` closer than the nearest example of the label the model chose."""
        if intent not in _CHAT or not self.best:
            return None
        task, score = max(((k, v) for k, v in self.best.items() if k in _TASKS), key=lambda kv: kv[1])
        own = self.best.get(intent, 0.0)
        return task if score >= close and score - own >= ahead else None


class IntentExamples:
    """The examples, with the business's own words, embedded once per business (the vectors are shared)."""

    def __init__(self, tenant: TenantDocument, vectors: FactVectors) -> None:
        # Not its services' names as bookings: "how much is teeth whitening?" came closer to "I need teeth
        # whitening, when can you come" than to any question.
        own = {"person": [f"I want to talk to someone about a {word}" for word in tenant.assistant.escalation_words]}
        self._labels: list[str] = []
        self._texts: list[str] = []
        for intent, examples in EXAMPLES.items():
            for text in (*examples, *own.get(intent, ())):
                self._labels.append(intent)
                self._texts.append(text)
        self._vectors = vectors

    async def warm(self) -> None:
        await self._vectors.of(self._texts)

    async def score(self, text: str) -> Scores:
        examples = await self._vectors.of(self._texts)
        said = await self._vectors.of([text]) if text.strip() else None
        if examples is None or said is None:
            return Scores({})
        closeness = examples @ said[0]
        best: dict[str, float] = {}
        for label, value in zip(self._labels, closeness, strict=True):
            best[label] = max(best.get(label, -1.0), float(value))
        return Scores(best)
