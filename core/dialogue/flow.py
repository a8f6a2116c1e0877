"""The receptionist's flow: a deterministic state machine that the LLM's turn plans feed.

Stages: ``open`` (what does the caller want?) → ``collect`` (the details a task needs, each checked) →
``confirm`` (read back; only an explicit yes goes on) → act (the tool) → back to ``open``. A goodbye closes the
call. The LLM classifies the caller's words and pulls out details; it never decides to book, cancel or send
anything, and it does not say the lines where exact words matter. What each task needs, reads back and does is
its own class (``core.dialogue.tasks``); this module moves between them.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

import structlog
from msgspec import UNSET

from core.dialogue import lines
from core.dialogue.facts import FactVectors, known_words, mentions, words_of
from core.dialogue.intents import IntentExamples, Scores
from core.dialogue.plan import Needs
from core.dialogue.slots import booking_reference, grounded, person_name, phone_number
from core.dialogue.tasks.base import NO, YES, FlowState, FlowTurn, Task
from core.dialogue.tasks.booking import Booking
from core.dialogue.tasks.change import Cancel, Reschedule
from core.dialogue.tasks.contact import Lead, Message
from core.dialogue.tasks.custom import OwnTool
from core.dialogue.tasks.emergency import Emergency
from core.dialogue.tasks.transfer import Transfer
from core.dialogue.when import When, parse_when
from core.events import HangupRequested, TransferRequested
from core.security.cards import scrub
from core.tenants.document import Service, TenantDocument
from core.tenants.transfers import HOW_TO_ALLOW, TransferTargets
from core.tools.base import RunTool, call
from core.tools.booking import AvailabilityQuery, CheckAvailability
from core.tools.contact import EmergencyDetails, EscalateEmergency
from core.tools.handover import AnswerQuestion, Question, TransferReason, TransferToHuman

__all__ = ["Flow", "FlowTurn", "RunTool"]

# A caller dropping the task in progress; no small model's guess ("booking", since that is the topic) overrules it.
_GIVING_UP = re.compile(
    r"\b(forget (it|about it|that)|never ?mind|don'?t bother|i'?ll think about it|leave it (for now|there))\b", re.I
)
# Plain phrases that say what the caller wants better than a small model's guess between chat intents.
_CUES = (
    (
        "message",
        re.compile(
            r"\b(call me back|call back|ring me back|get back to me|leave (a|him|her|them) (message|note)"
            r"|take a message|pass (on )?(a )?message)\b",
            re.I,
        ),
    ),
    (
        "person",
        re.compile(
            r"\b(speak|talk) (to|with) (a |an |the )?(real |actual )?"
            r"(person|human|someone|somebody|owner|manager|staff)\b|\bhuman being\b",
            re.I,
        ),
    ),
    ("lead", re.compile(r"\b(getting|get|want|need|like|after) (a |some )?(rough )?(quote|quotes|estimate)\b", re.I)),
    ("cancel", re.compile(r"\bcancel (my|the|our) (appointment|booking|visit|job)\b", re.I)),
    ("reschedule", re.compile(r"\b(reschedule|move|change) (my|the|our) (appointment|booking|visit)\b", re.I)),
    ("wrong_number", re.compile(r"\b(wrong number|dialled the wrong|dialed the wrong)\b", re.I)),
)
# A question, however the model labelled it: a question mark, or the words questions start with.
_ASKS = re.compile(
    r"\?|^\W*(do|does|did|can|could|are|is|was|what|what's|when|where|how|which|who|will|would|have|has)\b", re.I
)
# "Is this Mario's pizzeria?", "is that the taxi company": the place the caller thinks they reached.
# A name (capitalised, as Whisper and typists write them) or "the <kind of place>"; "is that right?" is not one.
_IS_THIS = re.compile(
    r"\b(?:[Ii]s|[Ww]as) (?:this|that) (?P<name>(?:the [a-z][\w'&.-]*|[A-Z][\w'&.-]*)(?: [\w'&.-]+){0,3})"
)
_NOT_A_PLACE = frozenset({"right", "correct", "number", "place", "same", "true", "real", "actual", "best", "way"})
# How close the words must be to a task's example, and how much closer than to the model's label's, for the task
# to overrule it: set on the tune material (bench/dialogue.py's cases; README, "Intents by meaning").
_MEANT, _MEANT_AHEAD = 0.55, 0.2
_FIRST = re.compile(r"\b(first|earlier|earliest|former)\b", re.I)
_SECOND = re.compile(r"\b(second|later|latter|other one)\b", re.I)
# Cues that also overrule a task intent: a small model calls most requests about an appointment "booking", and
# "ask Sam to call me back" "person", though a call-back is a message, not a transfer now.
_OVERRULES = {"booking": {"cancel", "reschedule", "person", "wrong_number"}, "person": {"message"}}
# The LLM's own reply is spoken for these; for everything else the flow has its own words.
_CHAT = {"question", "other", "yes", "no"}
# Turns the flow handles from the intent and the caller's words alone: no slots to wait for. While details are
# being collected, "person" and "wrong_number" may be a small model's reading of a name or a number, which the
# slots then correct.
_WITHOUT_DETAILS = {"goodbye", "emergency"}
_WITHOUT_DETAILS_OPEN = {"person", "wrong_number"}


def _only_a_detail(intent: str, text: str) -> bool:
    """Words that are a name or a number and nothing else: no question, no phrase that asks for ``intent``."""
    if (
        _ASKS.search(text)
        or len(re.findall(r"[^\W\d_]+", text)) > 6
        or any(p.search(text) for cue, p in _CUES if cue == intent)
    ):
        return False
    return person_name(text) is not None or phone_number(text) is not None


# Tasks a caller starts by asking for them, and those the flow starts itself (after an emergency alert, at an
# offer of a person).
_ASKED_FOR: tuple[Task, ...] = (Booking(), Reschedule(), Cancel(), Lead(), Message())
_STARTED: tuple[Task, ...] = (Emergency(), Transfer())
_TASKS = {task.name for task in _ASKED_FOR}


# The details a caller says in their own words (the others are chosen from what the business offers).
_SAID_DETAILS = ("phone", "name", "booking_ref", "address", "reason", "message")


class Flow:
    def __init__(
        self,
        tenant: TenantDocument,
        *,
        now: Callable[[], datetime],
        caller_number: str | None,
        has_tool: Callable[[str], bool],
        retrieval: bool,
        log: structlog.stdlib.BoundLogger,
        refused_transfer: Callable[[str], None] | None = None,
        vectors: FactVectors | None = None,
        knowledge: str | None = None,
    ) -> None:
        """``refused_transfer``: told of a transfer target the flow refused (for the audit log); ``vectors``:
        embeddings, to match the caller's words to a service by meaning; ``knowledge``: the business's documents
        when they are small enough to be read whole (their wording tells a service from an emergency)."""
        self.tenant = tenant
        self._now = now
        self._caller_number = phone_number(caller_number or "")
        self._has_tool = has_tool
        self._retrieval = retrieval
        self._log = log
        self._targets = TransferTargets.of(tenant)
        self._refused_transfer = refused_transfer
        self.state = FlowState()
        self._vectors = vectors or FactVectors(None)
        self._examples = IntentExamples(tenant, self._vectors)
        self._known = known_words(tenant)
        self._scores = Scores({})  # the caller's words of this turn against the intents' examples
        self._emergency = [p.lower() for p in tenant.emergency.phrases if p.strip()]
        own = [tenant.description, tenant.faq, knowledge or ""]
        self._own_wording = " ".join([*own, *(f"{s.name} {s.description}" for s in tenant.services)]).lower()
        self._escalation = [w.lower() for w in tenant.assistant.escalation_words if w.strip()]
        # The business's own tools are tasks too; a built-in task keeps its name.
        self._own = {spec.name: OwnTool(spec) for spec in tenant.tools}
        self._tasks: dict[str, Task] = {**self._own, **{t.name: t for t in (*_ASKED_FOR, *_STARTED)}}

    # -- what tasks may use (core.dialogue.tasks.base.Desk) ---------------------------------------------------

    @property
    def caller_number(self) -> str | None:
        return self._caller_number

    def now(self) -> datetime:
        return self._now()

    def today(self) -> date:
        return self._now().date()

    def drop(self) -> None:
        self.state = FlowState()

    async def services_like(self, text: str) -> list[tuple[Service, float]]:
        services = self.tenant.services
        named = await self._vectors.of([f"{s.name}: {s.description}" if s.description else s.name for s in services])
        said = await self._vectors.of([text]) if text.strip() else None
        if named is None or said is None:
            return []
        closeness = named @ said[0]
        return sorted(zip(services, (float(c) for c in closeness), strict=True), key=lambda pair: -pair[1])

    # -- deciding before (or instead of) the LLM ------------------------------------------------------------

    def fast_path(self, text: str) -> tuple[str, dict[str, Any]] | None:
        """Intent and slots decided from the words alone, when that is certain: no LLM needed this turn."""
        lowered = f" {text.lower()} "
        if self.state.offer is not None and YES.match(text) and not NO.search(text) and len(text.split()) <= 6:
            return self.state.offer, {}
        if self._has_tool("escalate_emergency") and self._emergency_in(lowered):
            return "emergency", {}
        if self.state.stage == "confirm":
            if NO.match(text) and len(text.split()) <= 3:
                return "no", {}
            if YES.match(text) and not NO.search(text) and len(text.split()) <= 6:
                return "yes", {}
        if self._escalation and self.state.task != "transfer" and any(w in lowered for w in self._escalation):
            return "escalate", {}
        state = self.state
        if state.stage in ("collect", "confirm") and state.task is not None and self._gives_up(text):
            return "no", {}
        if state.stage == "collect" and state.task is not None:
            # Answers to the flow's own question that need no interpretation: keep the task going.
            if state.asking in ("phone", "phone_check") and phone_number(text):
                return state.task, {}
            if state.asking == "booking_ref" and booking_reference(text):
                return state.task, {}
            if state.asking == "phone_check" and YES.match(text) and len(text.split()) <= 6:
                return state.task, {}
        return None

    def _emergency_in(self, lowered: str) -> bool:
        """Whether the caller says one of the emergency phrases as their own words: not inside what the business
        itself calls something it sells ("smoke" in "a hardwired smoke alarm" when its site offers "hardwired
        smoke alarms"). One use of the phrase on its own is enough ("smoke coming out of the smoke alarm")."""
        for phrase in self._emergency:
            at = lowered.find(phrase)
            while at >= 0:
                after = re.match(r"\W+(\w+)", lowered[at + len(phrase) :])
                before = re.search(r"(\w+)\W+$", lowered[:at])
                named = (after is not None and f"{phrase} {after.group(1).rstrip('s')}" in self._own_wording) or (
                    before is not None and f"{before.group(1)} {phrase}" in self._own_wording
                )
                if not named:
                    return True
                at = lowered.find(phrase, at + 1)
        return False

    async def warm(self) -> None:
        """Embed the intents' examples ahead of the first turn (once per business: the vectors are kept)."""
        await self._examples.warm()

    async def read(self, text: str) -> None:
        """Score the turn's words against the intents' examples, for ``refine`` (milliseconds: one embedding)."""
        self._scores = await self._examples.score(text)

    def refine(self, intent: str, text: str) -> str:
        """A chat intent ("question", "other", "yes", "no") overruled by an unmistakable phrase for a task, and a
        few task intents by the phrases in ``_OVERRULES`` (cancelling or moving is not booking; asking someone
        to call back is a message, not a transfer)."""
        if self.state.stage == "confirm" or (intent not in _CHAT and intent not in _OVERRULES):
            return intent
        for cued, pattern in _CUES:
            if pattern.search(text) and (intent in _CHAT or cued in _OVERRULES.get(intent, ())):
                return cued
        if self.state.stage == "open":
            if intent in _CHAT and self._names_another_business(text):
                return "wrong_number"
            # A task the words mean, much closer than anything like the model's chat label: "is this the pizza
            # place?" is a wrong number, not a question.
            task = self._scores.overrule(intent, close=_MEANT, ahead=_MEANT_AHEAD)
            if task is not None:
                return task
            # A question the model took for chat would be answered in its own words: questions are answered
            # from the business's facts.
            if intent in _CHAT and _ASKS.search(text):
                return "question"
        return intent

    def _names_another_business(self, text: str) -> bool:
        """ "Is this Mario's pizzeria?": the caller asks whether they reached a place, and none of its words is
        one the business uses (its name, what it does, its services, its FAQ)."""
        asked = _IS_THIS.search(text)
        named = words_of(asked.group("name")) - _NOT_A_PLACE if asked else set()
        return bool(named) and mentions(named, self._known) == 0

    def needs(self, intent: str) -> Needs:
        """What of the LLM's plan this turn needs besides its intent: the reply (spoken as it is generated; the
        slots follow it), the slots alone (the flow has its own words), or nothing more."""
        stage = self.state.stage
        if intent in _WITHOUT_DETAILS or (intent in _WITHOUT_DETAILS_OPEN and stage != "collect"):
            return "nothing"
        if stage == "confirm":
            return "slots"
        if intent == "question":
            # Answered from a fact, never in the model's words; mid-task, the slots may hold what was asked for.
            return "slots" if stage == "collect" else "nothing"
        if stage == "collect":
            return "reply" if intent == "other" else "slots"
        return "reply" if intent in _CHAT else "slots"

    # -- one caller turn -------------------------------------------------------------------------------------

    async def turn(self, intent: str, slots: dict[str, Any], text: str, run_tool: RunTool) -> FlowTurn:
        state = self.state
        state.offer = None  # an offer is for the turn right after it
        if intent == "emergency" and self._has_tool("escalate_emergency"):
            return await self._emergency_alert(text, run_tool)
        if intent == "escalate":
            return self._offer_person()
        if state.stage == "collect" and intent not in ("emergency", "goodbye") and self._gives_pending(slots, text):
            # The caller is answering what we asked ("Dev Patel" is a name, not a request for a person).
            return await self._collect(slots, text, run_tool)
        if state.stage == "collect" and intent in _WITHOUT_DETAILS_OPEN and _only_a_detail(intent, text):
            # A name or a number given while something else was asked (offered other times, the caller says who
            # they are): a detail of the task, not a request for a person or a wrong number.
            return await self._collect(slots, text, run_tool)
        if intent == "person":
            return await self.transfer(run_tool)
        if intent == "wrong_number":
            self.drop()
            return FlowTurn(intent, [lines.WRONG_NUMBER.format(business=self.tenant.name)])
        if intent == "goodbye":
            self.drop()
            goodbye = lines.GOODBYE.format(business=self.tenant.name)
            return FlowTurn(intent, [goodbye], after=HangupRequested("the caller said goodbye"))
        if state.stage == "confirm":
            return await self._confirm(intent, slots, text, run_tool)
        if intent in _TASKS and (state.task != intent or state.stage == "open"):
            return await self._start(intent, slots, text, run_tool)
        if state.stage == "collect":
            if intent == "no" and self._task().dropped_by_no:
                return self._abandon()
            if intent in ("question", "other") and not self._gives_pending(slots, text):
                return await self._aside(intent, text, run_tool)
            return await self._collect(slots, text, run_tool)
        if intent in self._own:
            return await self._start(intent, slots, text, run_tool)
        if intent == "question":
            return await self._question(text, run_tool)
        return FlowTurn(intent, use_llm_reply=True)

    # -- tasks -----------------------------------------------------------------------------------------------

    def _task(self) -> Task:
        """The task in progress (the flow is collecting or confirming)."""
        assert self.state.task is not None
        return self._tasks[self.state.task]

    async def _start(self, name: str, slots: dict[str, Any], text: str, run_tool: RunTool) -> FlowTurn:
        task = self._tasks[name]
        if task.skill is not None and not self.tenant.has(task.skill):
            if name != "message" and self.tenant.has("messages"):
                self.state = FlowState(stage="collect", task="message")
                return await self._collect(slots, text, run_tool, intent=name)
            return FlowTurn(name, [lines.CANT_DO])
        self.state = FlowState(stage="collect", task=name)
        slots = task.begin(self.state.details, self._caller_number, slots, text)
        return await self._collect(slots, text, run_tool, intent=name)

    async def _collect(
        self, slots: dict[str, Any], text: str, run_tool: RunTool, intent: str | None = None
    ) -> FlowTurn:
        task = self._task()
        intent = intent or task.name
        problem = await self._take(slots, text, run_tool)
        if isinstance(problem, FlowTurn):
            return problem
        missing = task.missing(self.state.details)
        if problem is not None and problem == missing:
            return self._ask(intent, missing, again=True)
        if missing is not None:
            return self._ask(intent, missing)
        return await task.ready(self, intent, run_tool)

    async def _take(self, slots: dict[str, Any], text: str, run_tool: RunTool) -> str | FlowTurn | None:
        """Check and keep what the caller gave: first what the task alone reads (a service, a time), then the
        details every task reads the same way. Returns the detail that was asked for but unusable, a turn to
        speak (availability offers), or None."""
        slots = {k: v for k, v in slots.items() if k == "urgency" or (isinstance(v, str) and grounded(v, text))}
        own = await self._task().take(self, slots, text, run_tool)
        if isinstance(own, FlowTurn):
            return own
        return self._take_details(slots, text) or own

    def _take_details(self, slots: dict[str, Any], text: str) -> str | None:
        state, details = self.state, self.state.details
        asking = state.asking
        bad: str | None = None
        if "name" in slots or asking == "name":
            name = person_name(slots.get("name") or (text if asking == "name" else ""))
            if name:
                details.name = name
            elif asking == "name":
                bad = "name"
        if asking == "phone_check" and details.phone is None:
            if YES.match(text) and self._caller_number:
                details.phone, take_phone = self._caller_number, False
            else:  # not their number after all: ask for it, without calling a plain "no" unusable
                asking = state.asking = "phone"
                take_phone = phone_number(slots.get("phone") or text) is not None
        else:
            take_phone = asking == "phone" or bool(slots.get("phone"))
        if take_phone:
            number = phone_number(slots.get("phone") or text)
            if number:
                details.phone = number
            elif asking == "phone":
                bad = "phone"
        given = {key: slots.get(key) for key in ("address", "reason", "message")}
        given["message"] = given["message"] or slots.get("reason")
        if asking in given and not given[asking] and len(text.split()) >= 2:
            given[asking] = text
        details.address = given["address"].strip() if given["address"] else details.address
        details.reason = given["reason"].strip() if given["reason"] else details.reason
        details.message = given["message"].strip() if given["message"] else details.message
        if slots.get("urgency") in ("hot", "warm", "cold"):
            details.urgency = slots["urgency"]
        return bad

    def forget(self, removed: tuple[str, ...]) -> None:
        """Digits shown after the fact to be part of a card number (its first half said in an earlier turn): no
        detail keeps them (the half may have been taken for a phone number), and a task that was about to read
        them back asks for that detail again."""
        details, cleared = self.state.details, []
        for name in _SAID_DETAILS:
            value = getattr(details, name)
            if isinstance(value, str) and scrub(value, removed) != value:
                setattr(details, name, None)
                cleared.append(name)
        details.own = {key: value for key, value in details.own.items() if scrub(value, removed) == value}
        if cleared and self.state.task is not None:
            self._log.info("details that held part of a card number were dropped", details=cleared)
            self.state.stage, self.state.asking = "collect", cleared[0]

    def ask_again(self) -> FlowTurn | None:
        """The detail the flow is waiting for, asked again after a turn that gave nothing towards it; None when
        it waits for nothing."""
        state = self.state
        if state.stage != "collect" or state.task is None or state.asking is None:
            return None
        return self._ask(state.task, "phone" if state.asking == "phone_check" else state.asking, again=True)

    def _ask(self, intent: str, missing: str, again: bool = False) -> FlowTurn:
        state = self.state
        if missing == "phone" and self._caller_number and not again and state.asking != "phone":
            state.asking = "phone_check"
            return FlowTurn(
                intent,
                [lines.ASK["phone_check"].format(number=lines.spoken_number(self._caller_number))],
                expect="yes_no",
            )
        state.asking = missing
        state.asked[missing] = state.asked.get(missing, 0) + 1
        own = self._task().question(missing, again)
        if own is not None:
            return FlowTurn(intent, [own])
        key = "when" if missing == "start" else missing
        template = (lines.AGAIN if again and key in lines.AGAIN else lines.ASK)[key]
        services = lines.choices([s.name.lower() for s in self.tenant.services[:4]])
        expect = "digits" if missing in ("phone", "booking_ref") else ("address" if missing == "address" else None)
        return FlowTurn(intent, [template.format(services=services)], expect=expect)

    async def availability(self, when: When, run_tool: RunTool) -> FlowTurn | None:
        """Check the time the caller asked for: keep it if free, else offer the nearest free ones."""
        state, details = self.state, self.state.details
        service: Service | None = details.service
        if service is None and state.task == "reschedule":
            booked = details.booking.service if details.booking is not None else None
            service = next((s for s in self.tenant.services if s.name == booked), None)
        query = AvailabilityQuery(service=service.name if service else "", day=when.day.isoformat())
        if when.start is not None and when.end is not None:
            query.from_, query.to = when.start.strftime("%H:%M"), when.end.strftime("%H:%M")
        result = await call(run_tool, CheckAvailability(), query)
        if result is None:
            return FlowTurn(state.task or "booking", [lines.UNAVAILABLE])
        slots = [datetime.fromisoformat(s) for s in result.slots]
        if result.free and when.exact and slots:
            details.start = slots[0]
            state.offered = []
            return None
        if not slots:
            state.offered = []
            return FlowTurn(state.task or "booking", [lines.NO_SLOTS])
        state.offered = sorted(slots[:2])  # the two nearest, said in the order of the day
        state.asking = "start"
        return FlowTurn(state.task or "booking", [self.offer(state.offered)])

    def offer(self, slots: list[datetime], template: str | None = None) -> str:
        today = self.today()
        spoken = [lines.spoken_when(s, today) for s in slots]
        if template is not None:
            return template.format(options=lines.choices(spoken))
        if len(spoken) == 1:
            return lines.OFFER_ONE.format(option=spoken[0])
        return lines.OFFER.format(options=lines.choices(spoken))

    def pick_offered(self, text: str) -> datetime | None:
        offered = self.state.offered
        if _SECOND.search(text) and len(offered) > 1:
            return offered[1]
        if _FIRST.search(text) or (YES.match(text) and len(offered) == 1):
            return offered[0]
        when = parse_when(text, self._now(), self.tenant.open_at)
        if when is not None and when.start is not None:
            for slot in offered:
                same_day = when.day == slot.date() or not re.search(r"\d|day|tomorrow", text, re.I)
                if slot.time() == when.start and same_day:
                    return slot
        return None

    async def _confirm(self, intent: str, slots: dict[str, Any], text: str, run_tool: RunTool) -> FlowTurn:
        state, task = self.state, self._task()
        if intent == "yes":
            return await task.act(self, run_tool)
        if slots and task.takes_changes:
            # "No, make it 4 pm": take the change and read back again.
            details = state.details
            details.start = None if slots.get("when") else details.start
            details.name = None if slots.get("name") else details.name
            details.phone = None if slots.get("phone") else details.phone
            details.service = None if slots.get("service") else details.service
            state.stage = "collect"
            return await self._collect(slots, text, run_tool)
        if intent == "no" or NO.match(text):
            declined = task.declined(self)
            if declined is not None:
                return declined
            state.stage, state.asking = "collect", None
            if len(text.split()) <= 3:
                return FlowTurn("no", [lines.WHAT_CHANGE])
            return self._abandon()
        # Neither yes nor no: say it again, as a question they can answer.
        return FlowTurn(intent, [task.again(self)])

    # -- emergencies, people, questions ----------------------------------------------------------------------

    async def _emergency_alert(self, text: str, run_tool: RunTool) -> FlowTurn:
        alert = EmergencyDetails(description=text, phone=self._caller_number or UNSET)
        alerted = await call(run_tool, EscalateEmergency(), alert)
        said = [self.tenant.emergency.safety_line] if self.tenant.emergency.safety_line else []
        said.append(lines.EMERGENCY if alerted is not None else lines.CANT_DO)
        if self.tenant.transfer.number and self._has_tool("transfer_to_human"):
            handover = await self.transfer(run_tool)
            return FlowTurn("emergency", said + handover.lines, after=handover.after)
        self.state = FlowState(stage="collect", task="emergency", asking="address")
        said.append(lines.EMERGENCY_DETAILS)
        return FlowTurn("emergency", said, expect="address")

    def _offer_person(self) -> FlowTurn:
        self.state = FlowState(stage="confirm", task="transfer")
        return FlowTurn("person", [lines.OFFER_PERSON], expect="yes_no")

    async def transfer(self, run_tool: RunTool) -> FlowTurn:
        reason = "the caller asked for a person"
        found = (
            await call(run_tool, TransferToHuman(), TransferReason(reason=reason))
            if self._has_tool("transfer_to_human")
            else None
        )
        if found is not None and found.available and found.target and self._may_transfer(found.target):
            self.drop()
            return FlowTurn("person", [lines.HANDOVER], after=TransferRequested(found.target, reason))
        if self.tenant.has("messages"):
            self.state = FlowState(stage="collect", task="message")
            return FlowTurn("person", [lines.NOBODY])
        self.drop()
        return FlowTurn("person", [lines.CANT_DO])

    def _may_transfer(self, target: str) -> bool:
        """Whether a target the transfer tool named is one of the business's own (a business's HTTP tool may
        answer in the built-in tool's place, with any number)."""
        if self._targets.allows(target):
            return True
        self._log.warning(
            "transfer refused: the transfer tool named a target that is not one of the business's transfer "
            "numbers; nothing was dialled, the caller can leave a message",
            target=target,
            fix=HOW_TO_ALLOW,
        )
        if self._refused_transfer is not None:
            self._refused_transfer(target)
        return False

    async def _question(self, text: str, run_tool: RunTool) -> FlowTurn:
        """Answered with one of the business's facts or of the retrieved passages' sentences (the dialogue asks
        the model which)."""
        found = await call(run_tool, AnswerQuestion(), Question(question=text)) if self._retrieval else None
        return FlowTurn("question", quote=found.passages if found is not None else [])

    def unanswered(self) -> None:
        """The question just asked had no answer, and the caller was offered a message: a yes takes one."""
        if self.state.stage == "open" and self.tenant.has("messages"):
            self.state.offer = "message"

    async def _aside(self, intent: str, text: str, run_tool: RunTool) -> FlowTurn:
        """A question in the middle of a task: answer it, then ask again for what we were collecting."""
        answer = await self._question(text, run_tool) if intent == "question" else FlowTurn(intent, use_llm_reply=True)
        missing = self._task().missing(self.state.details)
        if missing is not None:
            answer.lines.append(self._ask(intent, missing).lines[0])
        return answer

    def _gives_up(self, text: str) -> bool:
        """ "Forget it, I'll think about it", but not "forget Tuesday, make it Thursday at 10"."""
        return bool(_GIVING_UP.search(text)) and parse_when(text, self._now()) is None and not re.search(r"\d", text)

    def _gives_pending(self, slots: dict[str, Any], text: str) -> bool:
        asking = self.state.asking
        if asking == "phone_check":
            return True
        if asking == "phone":
            return phone_number(text) is not None
        if asking == "booking_ref":
            return booking_reference(text) is not None
        if asking == "start":
            return (
                bool(slots.get("when"))
                or parse_when(text, self._now()) is not None
                or self.pick_offered(text) is not None
            )
        if asking == "name":
            return bool(slots.get("name")) or person_name(text) is not None
        if asking in ("address", "message", "reason"):
            return True
        return bool(slots)

    # -- leaving a task ---------------------------------------------------------------------------------------

    def _abandon(self) -> FlowTurn:
        what = self._task().dropped
        self.drop()
        return FlowTurn("no", [lines.DROPPED.format(what=what), lines.ANYTHING_ELSE])
