"""Calls in progress: the list, a websocket feed of what is said as it is said, and the staff actions."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

import msgspec
from litestar import Controller, WebSocket, get, post, websocket
from litestar.exceptions import WebSocketDisconnect

from core.calls.live import LiveCall, Message
from core.errors import InputError
from core.store.tenants import REFUSED_TRANSFER
from core.tenants.transfers import TransferRefused
from web.api.paths import TENANT
from web.auth.identity import still_valid
from web.auth.policy import Permission
from web.scope import TenantScope

log = logging.getLogger("appliance.web.live")
RECHECK_S = 2.0  # how often an open feed checks that its viewer still may watch


class LiveCallInfo(msgspec.Struct, kw_only=True):
    id: str
    channel: str
    caller: str | None
    callee: str | None
    started_at: str
    turns: int
    leaving: bool


class TakeOver(msgspec.Struct, kw_only=True):
    target: str | None = None  # a number or SIP URI; default: your own phone, else the business's transfer number


class Done(msgspec.Struct):
    ok: bool
    detail: str


class LiveController(Controller):
    path = f"{TENANT}/live"
    tags = ["live"]

    @get("/", permission=Permission.CALLS_READ, sync_to_thread=False)
    def list_live(self, view: TenantScope) -> list[LiveCallInfo]:
        return [msgspec.convert(c.summary(), LiveCallInfo) for c in view.web.runtime.live.of_tenant(view.tenant_id)]

    @post("/{call_id:str}/take-over", permission=Permission.CALLS_CONTROL, sync_to_thread=True, status_code=200)
    def take_over(self, view: TenantScope, call_id: str, data: TakeOver) -> Done:
        """Transfer the call to a staff phone now: one of the business's transfer numbers, take-over numbers or
        its staff's own phones (anything else is refused with 400, logged and audited)."""
        target = (data.target or "").strip()
        if not target:
            own = view.web.accounts.get(view.principal.id).phone if view.principal.kind == "user" else None
            target = own or view.tenant.transfer.number
        if not target:
            raise InputError("no phone to transfer to: add your phone number in Users, or a transfer number")
        tenants = view.web.runtime.tenants
        try:
            view.web.runtime.live.take_over(
                view.tenant_id, call_id, target, view.principal.actor, tenants.transfer_targets(view.tenant_id)
            )
        except TransferRefused:
            view.audit(REFUSED_TRANSFER, call_id, {"target": target, "by": "take-over"})
            raise
        view.audit("call.take_over", call_id, {"target": target})
        return Done(True, f"transferring to {target}")

    @post("/{call_id:str}/end", permission=Permission.CALLS_CONTROL, sync_to_thread=True, status_code=200)
    def end(self, view: TenantScope, call_id: str) -> Done:
        """End the call (after the sentence being spoken)."""
        view.web.runtime.live.end(view.tenant_id, call_id, view.principal.actor)
        view.audit("call.end", call_id)
        return Done(True, "ending the call")


@websocket(f"{TENANT}/live/feed", permission=Permission.CALLS_READ)
async def live_feed(socket: WebSocket[Any, Any, Any], view: TenantScope) -> None:
    """Every call of the business in progress, as JSON messages tagged with ``call_id``: ``started``,
    ``caller`` (the caller's words), ``assistant`` (each clause as it is spoken), ``turn`` (the turn's record
    with its latency), ``transfer``/``hangup``, ``ended``. Calls that start later join the feed."""
    await socket.accept()
    live = view.web.runtime.live
    watching: dict[str, asyncio.Task[None]] = {}
    out: asyncio.Queue[Message] = asyncio.Queue()

    async def follow(call: LiveCall) -> None:
        queue = call.watch()
        try:
            while (message := await queue.get()) is not None:
                await out.put({**message, "call_id": call.call_id})
        finally:
            call.unwatch(queue)

    async def discover() -> None:
        checked = time.monotonic()
        while True:
            for call in live.of_tenant(view.tenant_id):
                if call.call_id not in watching:
                    watching[call.call_id] = asyncio.create_task(follow(call))
            await asyncio.sleep(0.25)
            if time.monotonic() - checked >= RECHECK_S:  # signed out, removed or demoted since: the feed ends
                checked = time.monotonic()
                now = await asyncio.to_thread(still_valid, view.web, view.principal)
                if now is None or not now.may(Permission.CALLS_READ, view.tenant_id):
                    log.info("live feed of %s closed: %s no longer has access", view.tenant_id, view.principal.actor)
                    return

    async def send() -> None:
        while True:
            await socket.send_json(await out.get())

    async def receive() -> None:
        with contextlib.suppress(WebSocketDisconnect):
            while True:
                await socket.receive_data(mode="text")

    tasks = [asyncio.create_task(t) for t in (discover(), send(), receive())]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in [*tasks, *watching.values()]:
            task.cancel()
        await asyncio.gather(*tasks, *watching.values(), return_exceptions=True)
        with contextlib.suppress(Exception):
            await socket.close()
