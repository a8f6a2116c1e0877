"""Handing the caller to a person, and answering from the business's own documents."""

from __future__ import annotations

import msgspec
from msgspec import UNSET, UnsetType

from core.knowledge import Passage
from core.tools.base import Builtin, ToolContext, ToolFailed


class TransferReason(msgspec.Struct, kw_only=True):
    reason: str | UnsetType = UNSET


class Transfer(msgspec.Struct, kw_only=True):
    available: bool
    target: str | UnsetType = UNSET  # where to put the caller through, when someone is there


class Question(msgspec.Struct, kw_only=True):
    question: str


class Passages(msgspec.Struct, kw_only=True):
    passages: list[Passage]  # best first


class TransferToHuman(Builtin[TransferReason, Transfer]):
    name = "transfer_to_human"
    description = "Put the caller through to a person, when the business has someone to take calls."
    mutating = False  # the caller asked for it in so many words; offers (escalation words) are confirmed first
    arguments = TransferReason
    result = Transfer

    async def handle(self, ctx: ToolContext, args: TransferReason) -> Transfer:
        number = ctx.tenant.transfer.number
        if not number or not ctx.tenant.has("transfer"):
            return Transfer(available=False)
        return Transfer(available=True, target=number)


class AnswerQuestion(Builtin[Question, Passages]):
    name = "answer_question"
    description = "Search the business's own documents and website for passages that answer a question."
    mutating = False
    arguments = Question
    result = Passages

    async def handle(self, ctx: ToolContext, args: Question) -> Passages:
        if ctx.knowledge is None:
            raise ToolFailed("this box has no knowledge base")
        found = await ctx.knowledge.search(ctx.tenant.id, args.question, limit=5)
        return Passages(passages=[Passage(p.text, p.source, p.heading, round(p.score, 4)) for p in found])
