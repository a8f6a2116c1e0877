"""The box's telephony: registers with each trunk and keeps the registrations alive, answers calls to the
tenants' numbers, runs the media clock that moves every call's audio, and stops cleanly.

Everything here runs on the event loop; the SIP stack itself runs on its own thread (``sip.engine``).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np
import structlog

from core.audio import resample
from core.calls.bus import Work
from core.quiet import Quiet
from models.interfaces import Pcm16
from sip.admission import CALLER_LIMITED, Admission, caller_number
from sip.busy import BusyLine, missed_call, store_missed_call
from sip.dialplan import dialled_numbers, user_of
from sip.engine import EngineConfig, PjEngine, SipError
from sip.events import (
    Digit,
    Ended,
    Forbidden,
    MediaReady,
    Offered,
    Refusal,
    Refused,
    Registration,
    Released,
    SipEvent,
    TransferProgress,
)
from sip.limits import Rate
from sip.line import SipLine, offer_details
from sip.registration import Backoff, TrunkRegistration
from sip.settings import Network, SipSettings, network
from sip.sockfilter import SAMPLE, SourceFilter
from sip.sources import Sources, resolve, source_ip
from sip.status import SipState, SipStatus
from sip.watch import Watchdog

if TYPE_CHECKING:
    from core.calls.host import CallHost

log: structlog.stdlib.BoundLogger = structlog.get_logger("sip")

_TICK_S = 0.02
_UNREGISTER_WAIT_S = 2.0
_ROUTES_EVERY_S = 2.0
_SWITCH_INTERVAL_S = 0.001
_STOP_CALLS_WAIT_S = 20.0
_RESOLVE_EVERY_S = 300.0  # the trunks' hosts are looked up again this often...
_RESOLVE_RETRY_S = 30.0  # ...or this soon after one did not resolve
_TOO_MANY = 503
_REFUSED = {
    "refer": "a caller asked the box to transfer the call; declined: only the flow's own transfers are placed",
    "replaces": "an INVITE asked to take over a call in progress; declined",
}
_RELEASED = {
    "no_ack": ("an answered call was never confirmed (no ACK); hung up so it does not hold a line", None),
    "no_media": (
        "no audio from the caller; hung up so the call does not hold a line",
        "raise sip.media_timeout_s if callers on long silences are cut off",
    ),
    "rtp_source": (
        "another address took over a call's audio; hung up so it hears no more of the call",
        "a carrier's media servers belong in the trunk's allow",
    ),
}


class _Line(Protocol):
    ref: int  # the SIP stack's handle for the call

    async def run(self) -> None: ...

    def tick(self) -> None: ...

    def on_media(self, event: MediaReady) -> None: ...

    def on_digit(self, event: Digit) -> None: ...

    def on_transfer(self, event: TransferProgress) -> None: ...

    def on_ended(self, event: Ended) -> None: ...

    def on_released(self, event: Released) -> None: ...

    async def shutdown(self) -> None: ...


class SipService:
    def __init__(self, host: CallHost, settings: SipSettings, *, rate: int, recordings: Path) -> None:
        self._host = host
        self._settings = settings
        self._rate = rate
        self.recordings = recordings
        self._admission = Admission(
            host,
            max_calls=settings.max_calls,
            rate=rate,
            sip_calls=lambda: self._engine.conversations,
            per_caller_hour=settings.calls_per_caller_per_hour,
        )
        fixed = [network(c) for c in settings.trusted_sources] + [network(c) for t in settings.trunks for c in t.allow]
        self._sources = Sources(fixed)
        self._resolved: dict[str, tuple[Network, ...]] = {}  # trunk -> its hosts' addresses
        self._invites = Rate(settings.invites_per_second, 2 * settings.invites_per_second)
        self._filter: SourceFilter | None = None  # the kernel's share of the source check, once SIP listens
        self._quiet = Quiet()  # one log line a minute per refused source, caller, or kind of release
        self._engine = PjEngine(
            EngineConfig(
                bind=settings.bind,
                port=settings.port,
                public_address=settings.public_address,
                rtp_port=settings.rtp_port,
                rtp_port_count=settings.rtp_port_count,
                clock_rate=rate,
                codecs=settings.codecs,
            ),
            self._on_event,
            self._admission.decide,
            self._screen,
            Watchdog(
                ack_timeout_s=settings.ack_timeout_s,
                media_timeout_s=settings.media_timeout_s,
                trusted=self._sources.allows,
            ),
        )
        self._trunks = {
            t.name: TrunkRegistration(t, Backoff(settings.retry_min_s, settings.retry_max_s)) for t in settings.trunks
        }
        self._lines: dict[int, _Line] = {}
        self._work = Work(log)
        self._retries: dict[str, asyncio.TimerHandle] = {}
        self._unregistered: dict[str, asyncio.Event] = {}
        self._busy_audio: dict[str, Pcm16] = {}
        self._refusals: collections.Counter[str] = collections.Counter()
        self._clock: asyncio.Task[None] | None = None
        self._routes: asyncio.Task[None] | None = None
        self._resolver: asyncio.Task[None] | None = None
        self._state: SipState = "starting"
        self._detail: str | None = None
        self._stopping = False
        self._switch_interval = sys.getswitchinterval()

    # ----- lifecycle

    async def start(self) -> None:
        # pjsua2's media clock calls into Python for every call every 20 ms, and the SIP thread for every
        # message; each must take the interpreter's lock from whichever thread holds it. Python hands the lock
        # over every 5 ms by default, which several calls' frames cannot wait for in turn.
        self._switch_interval = sys.getswitchinterval()
        sys.setswitchinterval(min(self._switch_interval, _SWITCH_INTERVAL_S))
        try:
            await asyncio.to_thread(self._admission.refresh)
            resolved = await self._resolve_sources()
            await self._engine.start()
            for trunk in self._settings.trunks:
                await self._engine.add_trunk(trunk)
            self._start_filter()
        except SipError as exc:
            self._state, self._detail = "failed", str(exc)
            log.error("SIP could not start; calls cannot be answered until this is fixed", error=str(exc))
            await self._engine.stop()
            sys.setswitchinterval(self._switch_interval)
            return
        self._state = "running"
        self._clock = asyncio.create_task(self._media_clock(), name="sip-media-clock")
        self._routes = asyncio.create_task(self._refresh_routes(), name="sip-routes")
        self._resolver = asyncio.create_task(self._keep_sources(resolved), name="sip-sources")
        log.info("SIP listening", address=self._engine.address, trunks=len(self._trunks))
        for trunk in self._settings.trunks:
            if trunk.register:
                await self._register(trunk.name)

    async def stop(self) -> None:
        """Refuse new calls, say goodbye on every call, unregister, and close the SIP stack."""
        if self._state != "running":
            return
        self._stopping = True
        self._admission.stopping = True
        if self._lines:
            log.info("ending active calls before stopping", calls=len(self._lines))
        await asyncio.gather(*(line.shutdown() for line in list(self._lines.values())), return_exceptions=True)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._work.idle(), _STOP_CALLS_WAIT_S)
        for handle in self._retries.values():
            handle.cancel()
        await self._unregister_all()
        for task in (self._clock, self._routes, self._resolver):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        await self._engine.stop()
        sys.setswitchinterval(self._switch_interval)
        self._state = "stopped"
        log.info("SIP stopped")

    def status(self) -> SipStatus:
        now = asyncio.get_running_loop().time()
        return SipStatus(
            state=self._state,
            detail=self._detail,
            listen=self._engine.address or None,
            active_calls=self._admission.active(),
            max_calls=self._settings.max_calls,
            lines=len(self._lines),
            trunks=[reg.status(now) for reg in self._trunks.values()],
            refusals=dict(self._refusals),
        )

    # ----- events from the SIP stack (on the loop)

    def _on_event(self, event: SipEvent) -> None:
        if isinstance(event, Registration):
            self._on_registration(event)
            return
        if isinstance(event, Offered):
            self._on_offered(event)
            return
        if isinstance(event, Refused):
            self._on_refused(event)
            return
        if isinstance(event, Forbidden):
            self._on_forbidden(event)
            return
        if isinstance(event, Released):
            self._on_released(event)
            return
        if isinstance(event, Refusal):
            self._refusals[event.reason] += 1
            log.warning(
                _REFUSED[event.reason],
                code=event.code,
                sip_call_id=event.call_id,
                source=event.source,
                caller=event.caller,
                target=event.target,
            )
            return
        line = self._lines.get(event.handle)
        if line is None:
            return  # a call we refused
        if isinstance(event, MediaReady):
            line.on_media(event)
        elif isinstance(event, Digit):
            line.on_digit(event)
        elif isinstance(event, TransferProgress):
            line.on_transfer(event)
        else:
            line.on_ended(event)

    def _on_registration(self, event: Registration) -> None:
        reg = self._trunks.get(event.trunk)
        if reg is None:
            return
        was = reg.state
        delay = reg.result(event.code, event.reason, event.expires, asyncio.get_running_loop().time())
        if self._stopping:
            self._unregistered.setdefault(event.trunk, asyncio.Event()).set()
            return
        if delay is not None:
            log.warning(
                "trunk registration failed; retrying with backoff",
                trunk=event.trunk,
                code=event.code,
                reason=event.reason,
                retry_in_s=delay,
                hint=reg.status(0).hint,
            )
            self._retries[event.trunk] = asyncio.get_running_loop().call_later(delay, self._retry, event.trunk)
        elif reg.state == "registered" and was != "registered":
            log.info("trunk registered", trunk=event.trunk, expires_s=event.expires)

    def _retry(self, trunk: str) -> None:
        self._retries.pop(trunk, None)
        if not self._stopping:
            self._work.spawn(self._register(trunk), "sip-register")

    async def _register(self, trunk: str) -> None:
        try:
            await self._engine.register(trunk, True)
        except SipError as exc:
            # Not even sent (e.g. the registrar's name does not resolve): treated as a failed attempt.
            self._on_registration(Registration(trunk, 503, str(exc), 0))

    def _on_offered(self, offer: Offered) -> None:
        decision = offer.decision
        assert decision is not None
        where = {"sip_call_id": offer.call_id, "tenant": decision.tenant_id, "did": decision.did}
        if decision.code == 200 and decision.queues is not None and decision.tenant_id and decision.did:
            log.info("answered", caller=user_of(offer.from_uri), **where)
            self._adopt(
                SipLine(
                    engine=self._engine,
                    host=self._host,
                    offer=offer,
                    did=decision.did,
                    tenant_id=decision.tenant_id,
                    domain=self._domain(offer.trunk),
                    queues=decision.queues,
                    recordings=self.recordings,
                    refusals=self._refusals,
                )
            )
        elif decision.code in (0, 486) and decision.tenant_id and decision.did:
            self._busy(offer, decision.tenant_id, decision.did, answered=decision.code == 0)
        elif decision.code == CALLER_LIMITED:
            self._refusals["caller_rate"] += 1
            caller = caller_number(offer.from_uri)
            since = self._quiet.due(f"caller {caller}")
            if since is not None:
                log.warning(
                    "a caller number over sip.calls_per_caller_per_hour; refused with 603",
                    caller=caller,
                    refused_since_last_line=since,
                    limit=self._settings.calls_per_caller_per_hour,
                    **where,
                )
        elif decision.code == 404:
            log.warning(
                "call to a number no tenant owns; refused with 404",
                request_uri=offer.request_uri,
                to=offer.to_uri,
                caller=offer.from_uri,
                **where,
            )
        else:
            log.warning("call refused", code=decision.code, reason=decision.reason, **where)

    def _screen(self, source: str) -> int:
        """On the SIP thread, for each INVITE: 403 from an address that may not call, 503 from one sending more
        INVITEs a second than sip.invites_per_second, else 0."""
        if not self._sources.allows(source):
            return 403
        ip = source_ip(source)
        return 0 if self._invites.take(str(ip), time.monotonic()) else _TOO_MANY

    def _on_forbidden(self, event: Forbidden) -> None:
        """Counted every time; logged once a minute per source (a scanner sends hundreds a second)."""
        reason = "rate" if event.code == _TOO_MANY else "source"
        self._refusals[reason] += 1
        ip = source_ip(event.source)
        since = self._quiet.due(f"{reason} {ip or event.source}")
        if since is None:
            return
        numbers = dialled_numbers(event.request_uri, event.to_uri)
        where = {
            "source": event.source,
            "dialled": numbers[0] if numbers else event.request_uri,
            "caller": event.from_uri,
            "sip_call_id": event.call_id,
            "refused_since_last_line": since,
        }
        if reason == "rate":
            log.warning(
                "an address sent more INVITEs a second than sip.invites_per_second; refused with 503",
                limit=self._settings.invites_per_second,
                **where,
            )
            return
        log.warning(
            "call from an address that is neither a trunk's nor trusted; refused with 403",
            hint="a carrier's other addresses go in the trunk's allow, a PBX's in sip.trusted_sources",
            **where,
        )

    def _on_released(self, event: Released) -> None:
        self._refusals[event.reason] += 1
        line = self._lines.get(event.handle)
        if line is not None:
            line.on_released(event)
        since = self._quiet.due(event.reason)
        if since is not None:  # the line logs the call; this says what it means, once a minute
            message, hint = _RELEASED[event.reason]
            log.warning(message, after_s=event.after_s, source=event.source or None, hint=hint, since_last_line=since)

    def _on_refused(self, event: Refused) -> None:
        """A call PJSIP turned away itself. From an address that may not call (one the socket filter let through
        while every slot was taken): counted with the other refused sources, nothing more. Otherwise logged once a
        minute per answer, and a missed call for the business when every line was busy."""
        if not self._sources.allows(event.source):
            self._refusals["source"] += 1
            return
        since = self._quiet.due(f"stack {event.code}")
        if since is not None:
            log.warning(
                "call refused by the SIP stack itself",
                code=event.code,
                reason=event.reason,
                caller=event.from_uri,
                to=event.to_uri,
                source=event.source,
                refused_since_last_line=since,
                hint="every call slot was in use" if event.code == 486 else None,
            )
        found = self._admission.owner("", event.to_uri)
        if found is not None and event.code == 486:
            did, tenant_id = found
            details = {"from": event.from_uri, "to": event.to_uri, "did": did}
            record = missed_call(tenant_id, did, event.from_uri, details, "refused with 486: no call slot left")
            self._work.spawn(store_missed_call(self._host.calls, record, log), "sip-missed-call")

    def _busy(self, offer: Offered, tenant_id: str, did: str, *, answered: bool) -> None:
        """Every line is taken: a busy message (answered), or 486 (already sent); either way a missed call."""
        log.warning(
            "every line is busy",
            tenant=tenant_id,
            did=did,
            limit=self._settings.max_calls,
            action="message" if answered else "486 Busy Here",
        )
        details = offer_details(offer, did)
        if not answered:
            record = missed_call(tenant_id, did, offer.from_uri, details, "refused with 486")
            self._work.spawn(store_missed_call(self._host.calls, record, log), "sip-missed-call")
            return
        text = self._host.tenants.get(tenant_id).telephony.busy_message
        self._adopt(
            BusyLine(
                engine=self._engine,
                calls=self._host.calls,
                offer=offer,
                tenant_id=tenant_id,
                did=did,
                details=details,
                message=lambda: self._spoken(text),
                rate=self._rate,
            )
        )

    # ----- internals

    def _adopt(self, line: _Line) -> None:
        self._lines[line.ref] = line
        task = self._work.spawn(line.run(), f"sip-call-{line.ref}")
        task.add_done_callback(lambda _: self._lines.pop(line.ref, None))

    def _domain(self, trunk: str) -> str:
        found = self._trunks.get(trunk)
        return found.trunk.sip_domain if found else "127.0.0.1"

    async def _spoken(self, text: str) -> Pcm16:
        """A fixed line as audio at the line's rate, synthesized once."""
        if text not in self._busy_audio:
            tts = self._host.models.tts()
            pieces = [pcm async for pcm in tts.stream(text)]
            audio = np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.int16)
            self._busy_audio[text] = resample(audio, tts.sample_rate, self._rate)
        return self._busy_audio[text]

    async def _media_clock(self) -> None:
        """Every 20 ms, every line moves its audio. A late tick catches up; a long stall restarts the beat."""
        loop = asyncio.get_running_loop()
        due = loop.time()
        while True:
            for line in list(self._lines.values()):
                try:
                    line.tick()
                except Exception:  # one call's fault must not silence the others
                    log.exception("media tick failed", handle=line.ref)
            due += _TICK_S
            delay = due - loop.time()
            if delay < -0.2:
                due = loop.time()
            await asyncio.sleep(max(0.0, delay))

    async def _refresh_routes(self) -> None:
        """Keep the numbers the SIP thread routes by in step with the tenants (saved through the API or CLI)."""
        while True:
            await asyncio.sleep(_ROUTES_EVERY_S)
            try:
                if await asyncio.to_thread(self._admission.refresh):
                    log.info("numbers reloaded from the tenants")
            except Exception:  # the old numbers stay in use; the next round tries again
                log.exception("could not reload the tenants' numbers")

    async def _resolve_sources(self) -> bool:
        """Look the trunks' registrars and outbound proxies up again (in a worker thread: DNS blocks); a host
        that does not resolve keeps the addresses it had. True when every host resolved."""
        ok = True
        for trunk in self._settings.trunks:
            found = await asyncio.to_thread(resolve, trunk)
            networks = found.networks
            if found.failed:
                ok = False
                networks = tuple(dict.fromkeys([*self._resolved.get(trunk.name, ()), *networks]))
                log.warning(
                    "could not resolve a trunk's host; calls from addresses not yet known for it are refused",
                    trunk=trunk.name,
                    hosts=list(found.failed),
                )
            self._resolved[trunk.name] = networks
        self._sources.update(self._resolved)
        self._apply_filter()
        return ok

    def _start_filter(self) -> None:
        host, port = self._engine.address.rsplit(":", 1)
        wake = host if host not in ("", "0.0.0.0") else "127.0.0.1"  # the engine wakes its pump with a datagram
        self._filter = SourceFilter(int(port), [network(wake)])
        self._apply_filter()

    def _apply_filter(self) -> None:
        """Unlisted sources: one packet in SAMPLE reaches PJSIP (and is refused with 403 there); see sip.sockfilter.
        Without it a flood of INVITEs from anywhere exhausts PJSIP's socket slots, and PJSIP aborts the process."""
        if self._filter is None:
            return
        try:
            self._filter.apply(self._sources.networks)
        except OSError as exc:
            log.error(
                "could not filter the SIP sockets; a flood of INVITEs from unlisted addresses can stop the appliance",
                error=str(exc),
            )
            return
        log.info("SIP sockets filtered by source", sockets=self._filter.sockets, unlisted_sample=f"1 in {SAMPLE}")

    async def _keep_sources(self, ok: bool) -> None:
        """Follow the carriers' addresses as their DNS changes."""
        while True:
            await asyncio.sleep(_RESOLVE_EVERY_S if ok else _RESOLVE_RETRY_S)
            try:
                ok = await self._resolve_sources()
            except Exception:  # the addresses known so far stay in use; the next round tries again
                log.exception("could not resolve the trunks' hosts")
                ok = False

    async def _unregister_all(self) -> None:
        registered = [name for name, reg in self._trunks.items() if reg.state == "registered"]
        for name in registered:
            self._unregistered[name] = asyncio.Event()
            try:
                await self._engine.register(name, False)
            except SipError as exc:
                log.warning("could not unregister", trunk=name, error=str(exc))
                self._unregistered[name].set()
        for name in registered:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._unregistered[name].wait(), _UNREGISTER_WAIT_S)
        if registered:
            log.info("unregistered", trunks=registered)
