"""The receptionist's flow: a deterministic state machine that the LLM's turn plans feed.

Stages: ``open`` (what does the caller want?) → ``collect`` (the details a task needs, each checked) →
``confirm`` (read back; only an explicit yes goes on) → act (the tool) → back to ``open``. A goodbye closes the
call. The LLM classifies the caller's words and pulls out details; it never decides to book, cancel or send
anything, and it does not say the lines where exact words matter.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import structlog

from core.dialogue import lines
from core.dialogue.plan import Needs
from core.dialogue.slots import grounded, match_service, person_name, phone_number
from core.dialogue.when import When, parse_when
from core.events import HangupRequested, TransferRequested
from core.records import ToolCallRecord
from core.tenants.document import Service, TenantDocument

RunTool = Callable[[str, dict[str, Any]], Awaitable[ToolCallRecord]]

_YES = re.compile(
    r"^\W*(yes|yeah|yep|yup|sure|correct|right|that's right|that is right|ok|okay|go ahead|please do|"
    r"sounds good|perfect|absolutely|definitely|please|lovely|great|that's fine|that works|do it)\b",
    re.I,
)
_NO = re.compile(r"^\W*(no|nope|nah|not really|don't|do not|wait|hold on|cancel that|never mind|actually no)\b", re.I)
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
_FIRST = re.compile(r"\b(first|earlier|earliest|former)\b", re.I)
_SECOND = re.compile(r"\b(second|later|latter|other one)\b", re.I)
_TASKS = {"booking", "reschedule", "cancel", "lead", "message"}
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


@dataclass
class FlowTurn:
    intent: str
    lines: list[str] = field(default_factory=list)
    use_llm_reply: bool = False
    answer_from: list[dict[str, Any]] | None = None  # passages to answer the question from
    after: TransferRequested | HangupRequested | None = None
    expect: str | None = None  # what the caller is asked for next (a phone number takes longer to say)


@dataclass
class _State:
    stage: str = "open"
    task: str | None = None
    values: dict[str, Any] = field(default_factory=dict)
    asking: str | None = None
    offered: list[datetime] = field(default_factory=list)


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
    ) -> None:
        self.tenant = tenant
        self._now = now
        self._caller_number = phone_number(caller_number or "")
        self._has_tool = has_tool
        self._retrieval = retrieval
        self._log = log
        self.state = _State()
        self._emergency = [p.lower() for p in tenant.emergency.phrases if p.strip()]
        self._escalation = [w.lower() for w in tenant.assistant.escalation_words if w.strip()]

    # -- deciding before (or instead of) the LLM ------------------------------------------------------------

    def fast_path(self, text: str) -> tuple[str, dict[str, Any]] | None:
        """Intent and slots decided from the words alone, when that is certain: no LLM needed this turn."""
        lowered = f" {text.lower()} "
        if self._has_tool("escalate_emergency") and any(f" {p} " in lowered or p in lowered for p in self._emergency):
            return "emergency", {}
        if self.state.stage == "confirm":
            if _NO.match(text) and len(text.split()) <= 3:
                return "no", {}
            if _YES.match(text) and not _NO.search(text) and len(text.split()) <= 6:
                return "yes", {}
        if self._escalation and self.state.task != "transfer" and any(w in lowered for w in self._escalation):
            return "escalate", {}
        state = self.state
        if state.stage in ("collect", "confirm") and state.task is not None and self._gives_up(text):
            return "no", {}
        if state.stage == "collect" and state.task is not None:
            # Answers to the flow's own question that need no interpretation: keep the task going.
            if state.asking in ("phone", "phone_check", "booking_phone") and phone_number(text):
                return state.task, {}
            if state.asking == "phone_check" and _YES.match(text) and len(text.split()) <= 6:
                return state.task, {}
        return None

    def refine(self, intent: str, text: str) -> str:
        """A chat intent ("question", "other", "yes", "no") overruled by an unmistakable phrase for a task, and a
        few task intents by the phrases in ``_OVERRULES`` (cancelling or moving is not booking; asking someone
        to call back is a message, not a transfer)."""
        if self.state.stage == "confirm" or (intent not in _CHAT and intent not in _OVERRULES):
            return intent
        for cued, pattern in _CUES:
            if pattern.search(text) and (intent in _CHAT or cued in _OVERRULES.get(intent, ())):
                return cued
        return intent

    def needs(self, intent: str) -> Needs:
        """What of the LLM's plan this turn needs besides its intent: the reply (spoken as it is generated; the
        slots follow it), the slots alone (the flow has its own words), or nothing more."""
        stage = self.state.stage
        if intent in _WITHOUT_DETAILS or (intent in _WITHOUT_DETAILS_OPEN and stage != "collect"):
            return "nothing"
        if stage == "confirm" or (intent == "question" and self._retrieval):
            return "slots"
        if stage == "collect":
            return "reply" if intent in ("question", "other") else "slots"
        return "reply" if intent in _CHAT else "slots"

    # -- one caller turn -------------------------------------------------------------------------------------

    async def turn(self, intent: str, slots: dict[str, Any], text: str, run_tool: RunTool) -> FlowTurn:
        state = self.state
        if intent == "emergency" and self._has_tool("escalate_emergency"):
            return await self._emergency_alert(text, run_tool)
        if intent == "escalate":
            return self._offer_person()
        if state.stage == "collect" and intent not in ("emergency", "goodbye") and self._gives_pending(slots, text):
            # The caller is answering what we asked ("Dev Patel" is a name, not a request for a person).
            return await self._collect(slots, text, run_tool)
        if intent == "person":
            return await self._transfer(run_tool)
        if intent == "wrong_number":
            self._drop()
            return FlowTurn(intent, [lines.WRONG_NUMBER.format(business=self.tenant.name)])
        if intent == "goodbye":
            self._drop()
            goodbye = lines.GOODBYE.format(business=self.tenant.name)
            return FlowTurn(intent, [goodbye], after=HangupRequested("the caller said goodbye"))
        if state.stage == "confirm":
            return await self._confirm(intent, slots, text, run_tool)
        if intent in _TASKS and (state.task != intent or state.stage == "open"):
            return await self._start(intent, slots, text, run_tool)
        if state.stage == "collect":
            if intent == "no" and state.task != "emergency":
                return self._abandon()
            if intent in ("question", "other") and not self._gives_pending(slots, text):
                return await self._aside(intent, text, run_tool)
            return await self._collect(slots, text, run_tool)
        if intent in self._custom_tools():
            return await self._start(intent, slots, text, run_tool)
        if intent == "question":
            return await self._question(text, run_tool)
        return FlowTurn(intent, use_llm_reply=True)

    # -- tasks -----------------------------------------------------------------------------------------------

    async def _start(self, task: str, slots: dict[str, Any], text: str, run_tool: RunTool) -> FlowTurn:
        skill = {
            "booking": "booking",
            "reschedule": "booking",
            "cancel": "booking",
            "lead": "leads",
            "message": "messages",
        }
        if task in skill and not self.tenant.has(skill[task]):
            if task != "message" and self.tenant.has("messages"):
                self.state = _State(stage="collect", task="message")
                return await self._collect(slots, text, run_tool, intent=task)
            return FlowTurn(task, [lines.CANT_DO])
        self.state = _State(stage="collect", task=task)
        if task in ("cancel", "reschedule") and self._caller_number:
            self.state.values["booking_phone"] = self._caller_number
        if task in ("lead", "message") and not slots.get("reason"):
            slots = {**slots, "reason": text} if len(text.split()) > 4 else slots
        return await self._collect(slots, text, run_tool, intent=task)

    async def _collect(
        self, slots: dict[str, Any], text: str, run_tool: RunTool, intent: str | None = None
    ) -> FlowTurn:
        state = self.state
        intent = intent or state.task or "other"
        problem = await self._take(slots, text, run_tool)
        if isinstance(problem, FlowTurn):
            return problem
        missing = self._missing()
        if problem is not None and problem == missing:
            return self._ask(intent, missing, again=True)
        if missing is not None:
            return self._ask(intent, missing)
        if state.task == "emergency":
            return await self._emergency_details(run_tool)
        if state.task in self._custom_tools():
            return await self._run_custom(run_tool)
        if state.task == "cancel" or state.task == "reschedule":
            return await self._find_booking(run_tool)
        state.stage = "confirm"
        return FlowTurn(intent, [self._readback()])

    def _missing(self) -> str | None:
        values, task = self.state.values, self.state.task
        needed: tuple[str, ...]
        if task == "booking":
            needed = ("service", "start", "name", "phone")
        elif task in ("cancel", "reschedule"):
            needed = ("booking_phone",) if "booking" not in values else (("start",) if task == "reschedule" else ())
        elif task == "lead":
            needed = ("reason", "name", "phone")
        elif task == "message":
            needed = ("name", "phone", "message")
        elif task == "emergency":
            needed = ("address",)
        elif task in self._custom_tools():
            needed = tuple(self._custom_spec(task).get("required", []))
        else:
            needed = ()
        for key in needed:
            if values.get(key) in (None, ""):
                return key
        return None

    async def _take(self, slots: dict[str, Any], text: str, run_tool: RunTool) -> str | FlowTurn | None:
        """Check and keep what the caller gave; returns the slot that was given but unusable, a turn to speak
        (availability offers), or None."""
        state, values = self.state, self.state.values
        slots = {k: v for k, v in slots.items() if k == "urgency" or (isinstance(v, str) and grounded(v, text))}
        asking = state.asking
        bad: str | None = None
        if state.task == "booking" and "service" not in values:
            if len(self.tenant.services) == 1:
                values["service"] = self.tenant.services[0]
            elif found := match_service(slots.get("service") or text, self.tenant.services):
                values["service"] = found
            elif asking == "service":
                bad = "service"
        if state.task == "booking" and asking == "start" and state.offered and "start" not in values:
            picked = self._pick_offered(text)
            if picked is not None:
                values["start"] = picked
        if state.task in ("booking", "reschedule") and "start" not in values:
            said = slots.get("when") or (text if asking == "start" else "")
            when = parse_when(said, self._now(), self.tenant.open_at) if said else None
            if when is not None and ((state.task == "booking" and "service" in values) or state.task == "reschedule"):
                offered = await self._availability(when, run_tool)
                if offered is not None:
                    return offered
            elif said and asking == "start":
                bad = "start"
        if "name" in slots or asking == "name":
            name = person_name(slots.get("name") or (text if asking == "name" else ""))
            if name:
                values["name"] = name
            elif asking == "name":
                bad = "name"
        for key in ("phone", "booking_phone"):
            if key == "phone" and asking == "phone_check" and "phone" not in values:
                if _YES.match(text) and self._caller_number:
                    values["phone"] = self._caller_number
                    continue
                asking = state.asking = "phone"
                if not phone_number(slots.get("phone") or text):
                    continue
            if asking == key or (key == "phone" and slots.get("phone")):
                number = phone_number(slots.get("phone") or text)
                if number:
                    values[key] = number
                elif asking == key:
                    bad = key
        for key in ("address", "reason", "message"):
            given = slots.get(key) or (slots.get("reason") if key == "message" else None)
            if asking == key and not given and len(text.split()) >= 2:
                given = text
            if given:
                values[key] = given.strip()
        if slots.get("urgency"):
            values["urgency"] = slots["urgency"]
        for key in self._custom_spec(state.task or "").get("properties", {}):
            if slots.get(key) not in (None, ""):
                values[key] = slots[key]
        return bad

    def _ask(self, intent: str, missing: str, again: bool = False) -> FlowTurn:
        state = self.state
        services = lines.choices([s.name.lower() for s in self.tenant.services[:4]])
        key = missing
        if missing == "start":
            key = "when"
        if missing == "phone" and self._caller_number and not again and state.asking != "phone":
            state.asking = "phone_check"
            return FlowTurn(
                intent,
                [lines.ASK["phone_check"].format(number=lines.spoken_number(self._caller_number))],
                expect="yes_no",
            )
        if missing in self._custom_spec(state.task or "").get("properties", {}):
            spec = self._custom_spec(state.task or "")["properties"][missing]
            state.asking = missing
            what = spec.get("description") or missing.replace("_", " ")
            return FlowTurn(intent, [f"{'Sorry, I missed that. ' if again else ''}What's the {what}?"])
        template = (lines.AGAIN if again and key in lines.AGAIN else lines.ASK)[key]
        state.asking = missing
        expect = "digits" if missing in ("phone", "booking_phone") else ("address" if missing == "address" else None)
        return FlowTurn(intent, [template.format(services=services)], expect=expect)

    async def _availability(self, when: When, run_tool: RunTool) -> FlowTurn | None:
        """Check the time the caller asked for: keep it if free, else offer the nearest free ones."""
        state = self.state
        service: Service | None = state.values.get("service")
        if service is None and state.task == "reschedule":
            booking = state.values.get("booking") or {}
            service = next((s for s in self.tenant.services if s.name == booking.get("service")), None)
        args: dict[str, Any] = {"service": service.name if service else "", "day": when.day.isoformat()}
        if when.start is not None and when.end is not None:
            args["from"], args["to"] = when.start.strftime("%H:%M"), when.end.strftime("%H:%M")
        record = await run_tool("check_availability", args)
        if not record.ok:
            return FlowTurn(state.task or "booking", [lines.UNAVAILABLE])
        result: dict[str, Any] = record.result
        slots = [datetime.fromisoformat(s) for s in result.get("slots", [])]
        if result.get("free") and when.exact and slots:
            state.values["start"] = slots[0]
            state.offered = []
            return None
        if not slots:
            state.offered = []
            return FlowTurn(state.task or "booking", [lines.NO_SLOTS])
        state.offered = sorted(slots[:2])  # the two nearest, said in the order of the day
        state.asking = "start"
        return FlowTurn(state.task or "booking", [self._offer(state.offered)])

    def _offer(self, slots: list[datetime], template: str | None = None) -> str:
        today = self._now().date()
        spoken = [lines.spoken_when(s, today) for s in slots]
        if template is not None:
            return template.format(options=lines.choices(spoken))
        if len(spoken) == 1:
            return lines.OFFER_ONE.format(option=spoken[0])
        return lines.OFFER.format(options=lines.choices(spoken))

    def _pick_offered(self, text: str) -> datetime | None:
        offered = self.state.offered
        if _SECOND.search(text) and len(offered) > 1:
            return offered[1]
        if _FIRST.search(text) or (_YES.match(text) and len(offered) == 1):
            return offered[0]
        when = parse_when(text, self._now(), self.tenant.open_at)
        if when is not None and when.start is not None:
            for slot in offered:
                same_day = when.day == slot.date() or not re.search(r"\d|day|tomorrow", text, re.I)
                if slot.time() == when.start and same_day:
                    return slot
        return None

    def _readback(self) -> str:
        values, today = self.state.values, self._now().date()
        phone = lines.spoken_number(values.get("phone", ""))
        if self.state.task == "booking":
            return lines.CONFIRM_BOOKING.format(
                service=values["service"].name.lower(),
                when=("on " if values["start"].date() != today else "") + lines.spoken_when(values["start"], today),
                name=values["name"],
                phone=phone,
            )
        if self.state.task == "lead":
            return lines.CONFIRM_LEAD.format(name=values["name"], phone=phone, reason=values["reason"])
        return lines.CONFIRM_MESSAGE.format(name=values["name"], phone=phone, message=values["message"])

    async def _confirm(self, intent: str, slots: dict[str, Any], text: str, run_tool: RunTool) -> FlowTurn:
        state = self.state
        if intent == "yes":
            return await self._act(run_tool)
        if slots and state.task not in ("transfer",):
            # "No, make it 4 pm": take the change and read back again.
            for key in ("when", "name", "phone", "service"):
                if slots.get(key):
                    state.values.pop({"when": "start"}.get(key, key), None)
            state.stage = "collect"
            return await self._collect(slots, text, run_tool)
        if intent == "no" or _NO.match(text):
            if state.task == "transfer":
                self._drop()
                return FlowTurn("no", ["No problem.", lines.ANYTHING_ELSE])
            state.stage, state.asking = "collect", None
            if len(text.split()) <= 3:
                return FlowTurn("no", [lines.WHAT_CHANGE])
            return self._abandon()
        # Neither yes nor no: say it again, as a question they can answer.
        return FlowTurn(
            intent, [self._readback() if state.task in ("booking", "lead", "message") else lines.OFFER_PERSON]
        )

    async def _act(self, run_tool: RunTool) -> FlowTurn:
        state, values = self.state, self.state.values
        task, today = state.task, self._now().date()
        if task == "transfer":
            return await self._transfer(run_tool)
        if task == "booking":
            record = await run_tool(
                "create_booking",
                {
                    "service": values["service"].name,
                    "start": values["start"].isoformat(),
                    "name": values["name"],
                    "phone": values["phone"],
                },
            )
            if not record.ok:
                self._drop()
                return FlowTurn("booking", [lines.CANT_DO])
            result: dict[str, Any] = record.result
            if not result.get("booked"):
                values.pop("start", None)
                offered = sorted(datetime.fromisoformat(s) for s in result.get("alternatives", [])[:2])
                state.stage, state.asking, state.offered = "collect", "start", offered
                if not offered:
                    return FlowTurn("booking", [lines.NO_SLOTS])
                return FlowTurn("booking", [self._offer(offered, lines.TAKEN)])
            self._drop()
            when = datetime.fromisoformat(result["start"])
            return FlowTurn("booking", [lines.BOOKED.format(when=lines.spoken_when(when, today)), lines.ANYTHING_ELSE])
        if task == "lead":
            urgency = values.get("urgency") or "warm"
            record = await run_tool(
                "capture_lead",
                {"name": values["name"], "phone": values["phone"], "reason": values["reason"], "urgency": urgency},
            )
            self._drop()
            if not record.ok:
                return FlowTurn("lead", [lines.CANT_DO])
            soon = {"hot": "today", "warm": "soon", "cold": "in the next few days"}[urgency]
            return FlowTurn("lead", [lines.LEAD_DONE.format(when=soon), lines.ANYTHING_ELSE])
        if task == "message":
            record = await run_tool(
                "take_message", {"name": values["name"], "phone": values["phone"], "message": values["message"]}
            )
            self._drop()
            return FlowTurn("message", [lines.MESSAGE_DONE if record.ok else lines.CANT_DO, lines.ANYTHING_ELSE])
        if task in ("cancel", "reschedule"):
            booking = values["booking"]
            args: dict[str, Any] = {
                "phone": values["booking_phone"],
                "action": task,
                "booking_id": booking["booking_id"],
            }
            if task == "reschedule":
                args["new_start"] = values["start"].isoformat()
            record = await run_tool("cancel_or_reschedule", args)
            self._drop()
            if not record.ok or not record.result.get("done"):
                return FlowTurn(task, [lines.CANT_DO])
            old = lines.spoken_when(datetime.fromisoformat(booking["start"]), today)
            if task == "cancel":
                return FlowTurn(task, [lines.CANCELLED.format(when=old), lines.ANYTHING_ELSE])
            new = lines.spoken_when(datetime.fromisoformat(record.result["start"]), today)
            return FlowTurn(
                task, [lines.MOVED.format(service=booking["service"].lower(), when=new), lines.ANYTHING_ELSE]
            )
        self._drop()
        return FlowTurn("other", use_llm_reply=True)

    async def _find_booking(self, run_tool: RunTool) -> FlowTurn:
        state, values = self.state, self.state.values
        task = state.task or "cancel"
        if "booking" not in values:
            record = await run_tool("cancel_or_reschedule", {"phone": values["booking_phone"], "action": "find"})
            found = record.result.get("bookings", []) if record.ok else None
            if found is None:
                self._drop()
                return FlowTurn(task, [lines.UNAVAILABLE])
            if not found:
                self._drop()
                return FlowTurn(task, [lines.NO_BOOKING])
            values["booking"] = found[0]
            if task == "reschedule":
                state.asking = "start"
                when = lines.spoken_when(datetime.fromisoformat(found[0]["start"]), self._now().date())
                return FlowTurn(task, [lines.FOUND_FOR_MOVE.format(service=found[0]["service"].lower(), when=when)])
        booking, today = values["booking"], self._now().date()
        state.stage = "confirm"
        if task == "reschedule":
            return FlowTurn(
                task,
                [
                    lines.CONFIRM_MOVE.format(
                        service=booking["service"].lower(), when=lines.spoken_when(values["start"], today)
                    )
                ],
            )
        when = lines.spoken_when(datetime.fromisoformat(booking["start"]), today)
        return FlowTurn(task, [lines.FOUND_BOOKING.format(service=booking["service"].lower(), when=when)])

    # -- emergencies, people, questions ----------------------------------------------------------------------

    async def _emergency_alert(self, text: str, run_tool: RunTool) -> FlowTurn:
        record = await run_tool(
            "escalate_emergency",
            {"description": text, **({"phone": self._caller_number} if self._caller_number else {})},
        )
        said = [self.tenant.emergency.safety_line] if self.tenant.emergency.safety_line else []
        said.append(lines.EMERGENCY if record.ok else lines.CANT_DO)
        if self.tenant.transfer.number and self._has_tool("transfer_to_human"):
            handover = await self._transfer(run_tool)
            return FlowTurn("emergency", said + handover.lines, after=handover.after)
        self.state = _State(stage="collect", task="emergency", asking="address")
        said.append(lines.EMERGENCY_DETAILS)
        return FlowTurn("emergency", said, expect="address")

    async def _emergency_details(self, run_tool: RunTool) -> FlowTurn:
        values = self.state.values
        details = f"EMERGENCY at {values['address']}"
        await run_tool(
            "capture_lead",
            {
                "reason": details,
                "urgency": "hot",
                **(
                    {"phone": values.get("phone") or self._caller_number}
                    if values.get("phone") or self._caller_number
                    else {}
                ),
            },
        )
        self._drop()
        return FlowTurn("emergency", [lines.EMERGENCY_SENT])

    def _offer_person(self) -> FlowTurn:
        self.state = _State(stage="confirm", task="transfer")
        return FlowTurn("person", [lines.OFFER_PERSON], expect="yes_no")

    async def _transfer(self, run_tool: RunTool) -> FlowTurn:
        record = (
            await run_tool("transfer_to_human", {"reason": "the caller asked for a person"})
            if self._has_tool("transfer_to_human")
            else None
        )
        if record is not None and record.ok and record.result.get("available"):
            self._drop()
            target = record.result["target"]
            return FlowTurn(
                "person", [lines.HANDOVER], after=TransferRequested(target, "the caller asked for a person")
            )
        if self.tenant.has("messages"):
            self.state = _State(stage="collect", task="message")
            return FlowTurn("person", [lines.NOBODY])
        self._drop()
        return FlowTurn("person", [lines.CANT_DO])

    async def _question(self, text: str, run_tool: RunTool) -> FlowTurn:
        if not self._retrieval:
            return FlowTurn("question", use_llm_reply=True)
        record = await run_tool("answer_question", {"question": text})
        passages = record.result.get("passages", []) if record.ok else []
        if not passages:
            return FlowTurn("question", [lines.DONT_KNOW])
        return FlowTurn("question", answer_from=passages)

    async def _aside(self, intent: str, text: str, run_tool: RunTool) -> FlowTurn:
        """A question in the middle of a task: answer it, then ask again for what we were collecting."""
        answer = await self._question(text, run_tool) if intent == "question" else FlowTurn(intent, use_llm_reply=True)
        missing = self._missing()
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
        if asking in ("phone", "booking_phone"):
            return phone_number(text) is not None
        if asking == "start":
            return (
                bool(slots.get("when"))
                or parse_when(text, self._now()) is not None
                or self._pick_offered(text) is not None
            )
        if asking == "name":
            return bool(slots.get("name")) or person_name(text) is not None
        if asking in ("address", "message", "reason"):
            return True
        return bool(slots)

    # -- custom tools -----------------------------------------------------------------------------------------

    def _custom_tools(self) -> set[str]:
        return {tool.name for tool in self.tenant.tools}

    def _custom_spec(self, name: str) -> dict[str, Any]:
        for tool in self.tenant.tools:
            if tool.name == name:
                return tool.parameters
        return {}

    async def _run_custom(self, run_tool: RunTool) -> FlowTurn:
        name = self.state.task or ""
        args = {k: v for k, v in self.state.values.items() if k in self._custom_spec(name).get("properties", {})}
        record = await run_tool(name, args)
        self._drop()
        if not record.ok:
            return FlowTurn(name, [lines.UNAVAILABLE])
        return FlowTurn(
            name, answer_from=[{"text": _as_text(record.result), "source": name, "heading": "", "score": 1.0}]
        )

    # -- leaving a task ---------------------------------------------------------------------------------------

    def _abandon(self) -> FlowTurn:
        what = {
            "booking": "booked anything",
            "lead": "passed anything on",
            "message": "sent a message",
            "cancel": "cancelled anything",
            "reschedule": "changed your booking",
        }.get(self.state.task or "", "done anything")
        self._drop()
        return FlowTurn("no", [lines.DROPPED.format(what=what), lines.ANYTHING_ELSE])

    def _drop(self) -> None:
        self.state = _State()


def _as_text(result: dict[str, Any]) -> str:
    return "; ".join(f"{k.replace('_', ' ')}: {v}" for k, v in result.items())
