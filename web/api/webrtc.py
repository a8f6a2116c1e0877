"""Browser test calls: the page sends its WebRTC offer, the appliance answers and the call begins."""

from __future__ import annotations

import asyncio
import logging

import msgspec
from litestar import Controller, post

from core.errors import InputError, NotFoundError
from sip.webrtc import RATE
from web.api.paths import TENANT
from web.auth.policy import Permission
from web.scope import TenantScope

log = logging.getLogger("appliance.web.webrtc")


def _log_failure(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("could not evaluate the prompt for a browser call: %s", task.exception())


class Offer(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    sdp: str
    type: str = "offer"


class Answer(msgspec.Struct, kw_only=True):
    call_id: str
    sdp: str
    type: str


class Ended(msgspec.Struct):
    call_id: str


class WebRtcController(Controller):
    path = f"{TENANT}/webrtc"
    tags = ["calls"]

    @post("/offer", permission=Permission.CALLS_TEST, status_code=200)
    async def offer(self, view: TenantScope, data: Offer) -> Answer:
        """Call the business's assistant from this browser: the answer to an SDP offer that already holds its
        ICE candidates. Follow the call on the live feed (``/live/feed``) by its ``call_id``."""
        if data.type != "offer" or "m=audio" not in data.sdp:
            raise InputError("send an SDP offer with an audio section")
        runtime = view.web.runtime
        # Taken before the first await, so two offers at once cannot both pass; held until the call ends.
        slot = view.web.trial_calls.take("browser test call", view.tenant_id, view.principal.actor)
        try:
            await runtime.models.load(("vad", "turn", "stt", "llm", "tts"))
            # The greeting needs no language model: answer now, and evaluate the prompt while the greeting plays.
            warming = asyncio.create_task(runtime.warm_tenant(view.tenant_id))
            warming.add_done_callback(_log_failure)
            session = runtime.new_call(
                view.tenant_id, channel="webrtc", caller=view.principal.actor, callee="browser test call", rate=RATE
            )
            call_id, answer = await view.web.browser_calls.answer(session, data.sdp, data.type, on_closed=slot.release)
        except BaseException:
            slot.release()
            raise
        view.audit("call.test", call_id)
        return Answer(call_id=call_id, sdp=answer.sdp, type=answer.type)

    @post("/{call_id:str}/hangup", permission=Permission.CALLS_TEST, status_code=200)
    async def hangup(self, view: TenantScope, call_id: str) -> Ended:
        call = view.web.browser_calls.get(call_id)
        if call is None or call.session.call.tenant_id != view.tenant_id:
            raise NotFoundError(f"no browser call '{call_id}' in progress")
        await call.finish("the caller hung up")
        return Ended(call_id)
