"""What the conversation may know beyond the tenant file: the business's own documents and website.

The knowledge base (``kb/``) implements this; the dialogue only depends on this interface. A tenant's knowledge is
small enough to go inline into the (cached) system prompt, or it is searched per question.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol


@dataclass(frozen=True, slots=True)
class Passage:
    text: str
    source: str  # URL or file name
    heading: str  # the heading path inside the source, "" when none
    score: float


class Knowledge(Protocol):
    def mode(self, tenant_id: str) -> Literal["none", "inline", "retrieval"]:
        """How the tenant's knowledge reaches the conversation: not at all, inline in the system prompt, or
        searched per question (the ``answer_question`` tool)."""
        ...

    def inline(self, tenant_id: str) -> str | None:
        """The tenant's whole knowledge as text for the system prompt, or None when it must be searched instead
        (or when there is none)."""
        ...

    async def search(self, tenant_id: str, question: str, limit: int = 5) -> list[Passage]:
        """The passages that best answer ``question``, best first; only ever the tenant's own."""
        ...
