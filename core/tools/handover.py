"""Handing the caller to a person, and answering from the business's own documents."""

from __future__ import annotations

from typing import Any

from core.tools.base import ToolContext, ToolFailed


class TransferToHuman:
    name = "transfer_to_human"
    description = "Put the caller through to a person, when the business has someone to take calls."
    mutating = False  # the caller asked for it in so many words; offers (escalation words) are confirmed first
    parameters: dict[str, Any] = {"type": "object", "properties": {"reason": {"type": "string"}}, "required": []}

    async def run(self, ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
        number = ctx.tenant.transfer.number
        if not number or not ctx.tenant.has("transfer"):
            return {"available": False}
        return {"available": True, "target": number}


class AnswerQuestion:
    name = "answer_question"
    description = "Search the business's own documents and website for passages that answer a question."
    mutating = False
    parameters: dict[str, Any] = {
        "type": "object",
        "properties": {"question": {"type": "string"}},
        "required": ["question"],
    }

    async def run(self, ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
        if ctx.knowledge is None:
            raise ToolFailed("this box has no knowledge base")
        passages = await ctx.knowledge.search(ctx.tenant.id, args["question"], limit=5)
        return {
            "passages": [
                {"text": p.text, "source": p.source, "heading": p.heading, "score": round(p.score, 4)} for p in passages
            ]
        }
