"""Golden conversations: scripted calls with what must happen in them, checked against what did.

A business keeps a set of them (``appliance eval FILE``) and runs it after changing its assistant: each is placed
as a simulated call through the real ``CallSession``, and its report is checked here. Expectations are what the
code knows exactly (outcomes, intents, tools and their arguments) and words that must or must never be said.
"""

from __future__ import annotations

import base64
import re
import tomllib
from pathlib import Path
from typing import Any

import msgspec

from core.calls.simulate import SimulationReport, SimulationRequest, SimulationTurnInput
from core.errors import InputError
from core.records import CallRecord, TurnRecord


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


class GoldenResult(msgspec.Struct, kw_only=True):
    name: str
    passed: bool
    failures: list[str]
    outcomes: list[str]
    replies: list[str]


class Comparison(msgspec.Struct, kw_only=True):
    """A run against the one before it: what passed there and fails now, and whose replies differ."""

    regressed: list[str]
    replies_changed: list[str]


def compare(results: list[GoldenResult], before: dict[str, GoldenResult]) -> Comparison:
    return Comparison(
        regressed=[r.name for r in results if r.name in before and before[r.name].passed and not r.passed],
        replies_changed=[r.name for r in results if r.name in before and before[r.name].replies != r.replies],
    )


def result_of(golden: Golden, report: SimulationReport) -> GoldenResult:
    found = failures(golden, report)
    return GoldenResult(
        name=golden.name,
        passed=not found,
        failures=found,
        outcomes=report.outcomes,
        replies=[t.reply for t in report.turns],
    )


def request_for(golden: Golden, folder: Path | None) -> SimulationRequest:
    """The simulated call for ``golden``; audio turns are files in ``folder`` (none where no folder is given)."""
    turns = []
    for turn in golden.turns:
        if isinstance(turn, GoldenAudio):
            path = (folder / turn.audio) if folder is not None else None
            if path is None or not path.is_file():
                raise InputError(f"conversation '{golden.name}': audio file {path or turn.audio} does not exist")
            turns.append(SimulationTurnInput(wav_base64=base64.b64encode(path.read_bytes()).decode()))
        else:
            turns.append(SimulationTurnInput(text=turn))
    return SimulationRequest(tenant=golden.tenant, turns=turns, caller=golden.caller)


_PHONE = re.compile(r"^\+?[0-9]{3,15}$")


def golden_from_call(call: CallRecord, turns: list[TurnRecord]) -> Golden:
    """A stored call as a golden conversation: its caller's words (as typed turns), its caller ID and outcomes,
    and the tools that did something; staff then add what must and must never be said."""
    said = [t.caller for t in turns if t.caller]
    if not said:
        raise InputError("the call has nothing the caller said to replay")
    done = [GoldenTool(name=tool.name) for t in turns for tool in t.tool_calls if tool.ok and tool.name not in (
        "check_availability", "answer_question")]  # fmt: skip
    return Golden(
        name=f"{call.caller or 'a caller'} at {call.started_at:%Y-%m-%d %H:%M} ({call.id[-6:]})",
        tenant=call.tenant_id,
        turns=list(said),
        caller=call.caller if call.caller and _PHONE.match(call.caller) else None,
        outcomes=call.outcomes or None,
        tools=list({t.name: t for t in done}.values()),
    )
