"""Golden conversations: scripted calls with what must happen in them, checked against what did.

A business keeps a set of them (``appliance eval FILE``) and runs it after changing its assistant: each is placed
as a simulated call through the real ``CallSession``, and its report is checked here. Expectations are what the
code knows exactly (outcomes, intents, tools and their arguments) and words that must or must never be said.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import msgspec

from core.calls.simulate import SimulationReport
from core.errors import InputError


class GoldenTool(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    name: str
    # Each given argument must have been passed with this value (text compared without case); others may differ.
    arguments: dict[str, Any] = msgspec.field(default_factory=dict)


class GoldenAudio(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    audio: str  # a WAV file, relative to the golden file


class Golden(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    name: str
    tenant: str
    turns: list[str | GoldenAudio]  # typed words, or {audio = "file.wav"}
    caller: str | None = None  # the caller ID the call comes from (a booking by caller ID needs one)
    outcomes: list[str] | None = None  # exactly these, the call's own first
    intents: list[str] | None = None  # one per caller turn; "" for a turn whose intent does not matter
    tools: list[GoldenTool] = msgspec.field(default_factory=list)  # each called at least once, as given
    says: list[str] = msgspec.field(default_factory=list)  # each in some reply (without case)
    never_says: list[str] = msgspec.field(default_factory=list)  # in no reply


class GoldenSet(msgspec.Struct, forbid_unknown_fields=True):
    conversation: list[Golden]


def load_goldens(path: Path) -> list[Golden]:
    """The golden conversations of a TOML file, each checked for shape (an InputError names what is wrong)."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"{path} is not valid TOML: {exc}") from None
    try:
        goldens = msgspec.convert(data, GoldenSet).conversation
    except msgspec.ValidationError as exc:
        raise InputError(f"{path}: {exc}") from None
    names = [g.name for g in goldens]
    if not goldens or len(set(names)) != len(names):
        raise InputError(f"{path}: give one or more [[conversation]] tables, each with a name of its own")
    for golden in goldens:
        if not golden.turns:
            raise InputError(f"{path}: conversation '{golden.name}' has no turns")
        if golden.intents is not None and len(golden.intents) != len(golden.turns):
            raise InputError(f"{path}: conversation '{golden.name}' needs one intent per turn ('' for any)")
    return goldens


def _same(want: object, got: object) -> bool:
    if isinstance(want, str) and isinstance(got, str):
        return want.strip().lower() == got.strip().lower()
    return want == got


def failures(golden: Golden, report: SimulationReport) -> list[str]:
    """What of ``golden`` the call did not do; empty when it did all of it."""
    found = []
    caller_turns = [t for t in report.turns if t.caller is not None]
    if golden.outcomes is not None and report.outcomes != golden.outcomes:
        found.append(f"outcomes {report.outcomes}, wanted {golden.outcomes}")
    if golden.intents is not None:
        got = [t.intent for t in caller_turns]
        for n, (want, intent) in enumerate(zip(golden.intents, got, strict=False), 1):
            if want and want != intent:
                found.append(f"turn {n}: intent {intent}, wanted {want}")
        if len(got) < len(golden.intents):
            found.append(f"only {len(got)} of {len(golden.intents)} turns were answered")
    called = [tool for turn in report.turns for tool in turn.tool_calls if tool.ok]
    for tool in golden.tools:
        if not any(
            c.name == tool.name and all(_same(v, c.arguments.get(k)) for k, v in tool.arguments.items()) for c in called
        ):
            seen = [c.arguments for c in called if c.name == tool.name]
            found.append(f"no {tool.name} with {tool.arguments}" + (f" (called with {seen})" if seen else ""))
    replies = " ".join(t.reply for t in report.turns).lower()
    found += [f"never said {words!r}" for words in golden.says if words.lower() not in replies]
    found += [f"said {words!r}" for words in golden.never_says if words.lower() in replies]
    return found
