"""Ingested text is data, never instructions. Text that tries to instruct the model ("ignore previous
instructions", fake chat roles, the model's own control tokens) is replaced by a marker before it is stored, and
the quote marks used to delimit passages in prompts cannot appear inside one."""

from __future__ import annotations

import re

MARKER = "[instruction-like text removed]"

_PATTERNS = [
    # Attempts to override, reveal or replace the assistant's instructions.
    r"\b(ignore|disregard|forget|override|bypass)\b[^.\n]{0,40}\b(instructions?|prompts?|rules|directions|guidelines"
    r"|context|messages?)\b[^.\n]*",
    r"\b(reveal|print|repeat|show|output)\b[^.\n]{0,30}\b(system prompt|your instructions|hidden instructions)\b"
    r"[^.\n]*",
    r"\byou are (now|no longer)\b[^.\n]*",
    r"\b(new|updated|real) (instructions?|system prompt)\s*:[^\n]*",
    r"\b(act|behave|respond) as (if you were|an?|the)\b[^.\n]*\b(assistant|ai|model|bot|chatbot|dan)\b[^.\n]*",
    r"\bfrom now on\b[^.\n]*\b(you|assistant)\b[^.\n]*",
    # Chat-template and role markers that could make quoted text look like a turn of the conversation.
    r"<\|[a-z_]+\|>",
    r"</?(system|assistant|user|instructions?)>",
    r"^\s*(system|assistant|user)\s*:",
    r"\[/?(INST|SYS)\]",
]
_INSTRUCTION = re.compile("|".join(f"(?:{p})" for p in _PATTERNS), re.IGNORECASE | re.MULTILINE)
_QUOTES = re.compile(r'"{3,}|`{3,}')


def neutralise(text: str) -> tuple[str, int]:
    """The text with instruction-like passages replaced, and how many were replaced."""
    text, count = _INSTRUCTION.subn(MARKER, text)
    return _QUOTES.sub('"', text), count


def quote(text: str, label: str) -> str:
    """A passage as delimited, quoted reference material for a prompt."""
    cleaned, _ = neutralise(text)
    return f'[{label}]\n"""\n{cleaned.strip()}\n"""'
