"""What every task shares: the flow's state, the details it collects, the turn it answers with, and the shape of
a task."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal, Protocol

from core.dialogue import lines
from core.dialogue.when import When
from core.events import HangupRequested, TransferRequested
from core.knowledge import Passage
from core.tenants.document import Service, TenantDocument
from core.tools.base import RunTool
from core.tools.changes import FoundBooking
from core.tools.contact import Urgency

# Where the flow is: asking what the caller wants, collecting what a task needs, or reading it back for a yes.
Stage = Literal["open", "collect", "confirm"]
# What the flow may be asking for: a detail below, a check of the caller's own number, or a parameter of a
# tenant's own tool.
Asking = str

YES = re.compile(
    r"^\W*(yes|yeah|yep|yup|sure|correct|right|that's right|that is right|ok|okay|go ahead|please do|"
    r"sounds good|perfect|absolutely|definitely|please|lovely|great|that's fine|that works|do it)\b",
    re.I,
)
NO = re.compile(r"^\W*(no|nope|nah|not really|don't|do not|wait|hold on|cancel that|never mind|actually no)\b", re.I)


@dataclass
class FlowTurn:
    intent: str
    lines: list[str] = field(default_factory=list)
    use_llm_reply: bool = False
    answer_from: list[Passage] | None = None  # a tool's answer to say in words (core.dialogue.tasks.custom)
    # A question to answer with a fact: the business's own (core.dialogue.facts), or a sentence of these
    # retrieved passages.
    quote: list[Passage] | None = None
    after: TransferRequested | HangupRequested | None = None
    expect: str | None = None  # what the caller is asked for next (a phone number takes longer to say)


@dataclass
class Details:
    """What the caller has given so far, each checked: a name that looks like one, a number of 8-15 digits."""

    service: Service | None = None
    start: datetime | None = None
    name: str | None = None
    phone: str | None = None
    # A booking to cancel or move is looked for under the call's caller ID first, then by its reference and the
    # name on it (never by a number the caller says).
    lookup: Literal["caller_id", "reference"] = "reference"
    booking_ref: str | None = None
    ref_tries: int = 0  # references and names that matched nothing
    booking: FoundBooking | None = None  # that booking, once found
    address: str | None = None
    reason: str | None = None
    message: str | None = None
    urgency: Urgency | None = None
    own: dict[str, Any] = field(default_factory=dict)  # a tenant tool's own parameters, as the caller gave them


@dataclass
class FlowState:
    stage: Stage = "open"
    task: str | None = None  # a built-in task's name, or a tenant tool's
    details: Details = field(default_factory=Details)
    asking: Asking | None = None
    offered: list[datetime] = field(default_factory=list)
    asked: dict[str, int] = field(default_factory=dict)  # how many times each detail was asked for
    # Offered, in the turn before, to take a message (after a question we could not answer): a yes starts one.
    offer: Literal["message"] | None = None


def first_missing(*given: tuple[str, object]) -> str | None:
    """The first detail, in the order a task asks for them, that the caller has not given."""
    return next((key for key, value in given if value in (None, "")), None)


class Desk(Protocol):
    """What a task may use of the flow: the call's facts, its state, and the steps tasks share."""

    tenant: TenantDocument
    state: FlowState

    @property
    def caller_number(self) -> str | None: ...

    def now(self) -> datetime: ...

    def today(self) -> date: ...

    def drop(self) -> None:
        """Leave the task: back to asking what the caller wants."""
        ...

    def offer(self, slots: list[datetime], template: str | None = None) -> str: ...

    def pick_offered(self, text: str) -> datetime | None: ...

    async def availability(self, when: When, run: RunTool) -> FlowTurn | None:
        """Check a time: keep it if free (None), else a turn that offers the nearest free ones."""
        ...

    async def transfer(self, run: RunTool) -> FlowTurn: ...

    async def services_like(self, text: str) -> list[tuple[Service, float]]:
        """The business's services, the closest in meaning to ``text`` first, each with how close (cosine)."""
        ...


class Task:
    """One thing a caller can get done. The flow collects what ``missing`` names, then calls ``ready``; at a
    read-back, only an explicit yes runs ``act``."""

    name: str
    skill: str | None = None  # the tenant skill it needs; without it the flow offers a message instead
    dropped = "done anything"  # "No problem, I haven't {dropped}."
    takes_changes = True  # at the read-back, "no, make it 4 pm" changes a detail and reads back again
    dropped_by_no = True  # a "no" while collecting drops the task

    def begin(self, details: Details, caller_number: str | None, slots: dict[str, Any], text: str) -> dict[str, Any]:
        """Set up a fresh task from the words that started it; returns the slots to take."""
        return slots

    async def take(self, desk: Desk, slots: dict[str, Any], text: str, run: RunTool) -> str | FlowTurn | None:
        """Take what only this task reads (the details every task shares are taken by the flow); returns the
        detail that was given but unusable, a turn to speak, or None."""
        return None

    def missing(self, details: Details) -> str | None:
        return None

    def question(self, missing: str, again: bool) -> str | None:
        """Its own way of asking for a detail, or None for the flow's usual words."""
        return None

    async def ready(self, desk: Desk, intent: str, run: RunTool) -> FlowTurn:
        """Everything it needs is given: the next turn."""
        raise NotImplementedError

    def again(self, desk: Desk) -> str:
        """Said when the answer to the read-back was neither yes nor no; a task without a read-back of its own
        words (an offer of a person, a booking found to cancel or move) offers a person."""
        return lines.OFFER_PERSON

    def declined(self, desk: Desk) -> FlowTurn | None:
        """A no to the read-back that ends the task at once; None to ask what to change."""
        return None

    async def act(self, desk: Desk, run: RunTool) -> FlowTurn:
        """The yes to the read-back: do it. Tasks that never read back (an emergency's details, a tenant's own
        tool) act in ``ready`` instead."""
        raise NotImplementedError


class ReadBack(Task):
    """A task whose details are read back for a yes before it acts."""

    async def ready(self, desk: Desk, intent: str, run: RunTool) -> FlowTurn:
        desk.state.stage = "confirm"
        return FlowTurn(intent, [self.readback(desk)])

    def readback(self, desk: Desk) -> str:
        raise NotImplementedError

    def again(self, desk: Desk) -> str:
        return self.readback(desk)
