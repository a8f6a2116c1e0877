"""The assistant of a business over the API: what it says and does, its hours, its voice and a preview."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import msgspec
import numpy as np
from litestar import Controller, Response, get, post, put

from core.audio import encode_wav
from core.errors import InputError
from core.tenants.document import DAYS, SKILLS, TenantDocument, parse_tenant
from models.catalog import CATALOG
from web.api.paths import TENANT
from web.auth.policy import Permission
from web.scope import TenantScope

log = logging.getLogger("appliance.web.assistant")
_PREVIEW_CHARS = 300


class AssistantSettings(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    greeting: str
    personality: str
    voice: str
    skills: dict[str, bool]
    escalation_words: list[str]
    emergencies: list[str]  # phrases that mean an emergency for this business
    safety_line: str  # said at once when one is recognised
    hours: dict[str, str]
    transfer_number: str
    # Left out (None): unchanged, so clients written before these existed keep working.
    after_hours_greeting: str | None = None  # "" = the usual greeting
    after_hours_transfer: str | None = None  # "" = the transfer number, "off" = nobody (a message is taken)
    recording: bool | None = None  # a stereo WAV of each call
    # Further numbers or SIP URIs staff may hand a call to from the live view (calls go to no other number).
    take_over_numbers: list[str] | None = None
    # Whether the turn model decides when a caller has finished (off: a fixed silence); on follows the box.
    turn_detection: bool | None = None


class Voice(msgspec.Struct):
    name: str
    description: str
    loaded: bool


class Preview(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    text: str = ""  # default: the business's greeting


def settings_of(doc: TenantDocument) -> AssistantSettings:
    a = doc.assistant
    return AssistantSettings(
        greeting=a.greeting or doc.greeting(),
        personality=a.personality,
        voice=a.voice,
        skills={s: s in a.skills for s in SKILLS},
        escalation_words=a.escalation_words,
        emergencies=doc.emergency.phrases,
        safety_line=doc.emergency.safety_line,
        hours={d: doc.hours.get(d, "closed") for d in DAYS},
        transfer_number=doc.transfer.number,
        after_hours_greeting=doc.telephony.after_hours_greeting,
        after_hours_transfer=doc.telephony.after_hours_transfer,
        recording=doc.telephony.recording,
        take_over_numbers=doc.transfer.take_over_numbers,
        turn_detection=doc.assistant.turn_detection is not False,
    )


def apply(doc: TenantDocument, new: AssistantSettings) -> TenantDocument:
    """The tenant with the assistant settings replaced, validated as a whole tenant file would be."""
    unknown = sorted(set(new.skills) - set(SKILLS))
    if unknown:
        raise InputError(f"skills: '{unknown[0]}' is not a skill; use {', '.join(SKILLS)}")
    if new.voice and new.voice not in CATALOG:
        raise InputError(f"voice: '{new.voice}' is not a known voice")
    raw: dict[str, Any] = msgspec.to_builtins(doc)
    raw["assistant"] = {
        **raw.get("assistant", {}),
        "greeting": new.greeting.strip(),
        "personality": new.personality.strip(),
        "voice": new.voice,
        "skills": [s for s in SKILLS if new.skills.get(s, s in doc.assistant.skills)],
        "escalation_words": _clean(new.escalation_words),
    }
    if new.turn_detection is not None:
        raw["assistant"]["turn_detection"] = None if new.turn_detection else False
    raw["emergency"] = {"phrases": _clean(new.emergencies), "safety_line": new.safety_line.strip()}
    raw["hours"] = {d: h.strip() or "closed" for d, h in new.hours.items()}
    raw["transfer"] = {**raw.get("transfer", {}), "number": new.transfer_number.strip()}
    if new.take_over_numbers is not None:
        raw["transfer"]["take_over_numbers"] = _clean(new.take_over_numbers)
    telephony = dict(raw.get("telephony", {}))
    if new.after_hours_greeting is not None:
        telephony["after_hours_greeting"] = new.after_hours_greeting.strip()
    if new.after_hours_transfer is not None:
        telephony["after_hours_transfer"] = new.after_hours_transfer.strip()
    if new.recording is not None:
        telephony["recording"] = new.recording
    raw["telephony"] = telephony
    return parse_tenant(raw, source="assistant")


def _clean(items: list[str]) -> list[str]:
    seen: dict[str, None] = {}
    for item in items:
        if item.strip():
            seen.setdefault(item.strip(), None)
    return list(seen)


class AssistantController(Controller):
    path = f"{TENANT}/assistant"
    tags = ["assistant"]

    @get("/", permission=Permission.ASSISTANT_READ, sync_to_thread=False)
    def get_assistant(self, view: TenantScope) -> AssistantSettings:
        return settings_of(view.tenant)

    @put("/", permission=Permission.ASSISTANT_WRITE)
    async def put_assistant(self, view: TenantScope, data: AssistantSettings) -> AssistantSettings:
        """Replace the assistant's settings; the tenant's prompt is re-evaluated in the background."""
        before = settings_of(view.tenant)
        doc = apply(view.tenant, data)
        runtime = view.web.runtime
        await asyncio.to_thread(runtime.tenants.save, doc, replace=True, actor=view.principal.actor)
        changed = [k for k in before.__struct_fields__ if getattr(before, k) != getattr(settings_of(doc), k)]
        await asyncio.to_thread(view.audit, "assistant.update", view.tenant_id, {"changed": changed})
        if any(s.role == "llm" and s.state == "loaded" for s in runtime.models.status()):
            task = asyncio.create_task(runtime.warm_tenant(view.tenant_id))
            task.add_done_callback(_log_failure)
        return settings_of(doc)

    @get("/voices", permission=Permission.ASSISTANT_READ, sync_to_thread=False)
    def voices(self, view: TenantScope) -> list[Voice]:
        configured = view.web.runtime.settings.models.tts
        return [Voice(s.name, s.description, s.name == configured) for s in CATALOG.values() if s.role == "tts"]

    @post("/voice-preview", permission=Permission.ASSISTANT_READ, media_type="audio/wav", status_code=200)
    async def preview(self, view: TenantScope, data: Preview) -> Response[bytes]:
        """The text (default: the greeting) in the assistant's voice, as WAV."""
        text = (data.text or view.tenant.greeting()).strip()[:_PREVIEW_CHARS]
        if not text:
            raise InputError("nothing to say")
        runtime = view.web.runtime
        await runtime.models.load(("tts",))
        tts = runtime.models.tts()
        pieces = [pcm async for pcm in tts.stream(text)]
        audio = np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.int16)
        return Response(encode_wav(audio, tts.sample_rate), media_type="audio/wav")


def _log_failure(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("could not re-evaluate the prompt after an edit: %s", task.exception())
