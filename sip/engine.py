"""pjsua2, run on a thread of its own.

pjsua2 aborts the whole process when it is called from a thread it does not know, so one thread — the pump —
creates the library, polls it (``libHandleEvents``), runs every command the event loop sends it, and destroys it.
The event loop never touches a pjsua2 object: it sends commands (``run``) and receives events (``SipEvent``),
and names calls by a handle. Only the media clock thread (pjsua2's own) calls into the audio ports.

A command wakes the pump at once by sending an empty keep-alive datagram (CRLF CRLF, which SIP stacks ignore) to
the SIP port, so the pump can poll slowly when idle and still answer an INVITE within a millisecond or two.
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import contextlib
import dataclasses
import itertools
import logging
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import pjsua2 as pj

from core.errors import ApplianceError
from sip.events import Decision, Forbidden, Offered, Refused, Registration, SipEvent
from sip.media import MediaQueues
from sip.pjobjects import PjCall, TrunkAccount
from sip.settings import CALL_SLOTS, TrunkSettings
from sip.watch import CHECK_EVERY_S, Watchdog

log = logging.getLogger(__name__)

T = TypeVar("T")
_IDLE_POLL_MS = 50
_CODEC_IDS = {"PCMU": "PCMU/8000/1", "PCMA": "PCMA/8000/1", "G722": "G722/16000/1"}
_KEEPALIVE = b"\r\n\r\n"


class SipError(ApplianceError):
    """pjsua2 refused a command, or the SIP stack could not start."""


@dataclass(frozen=True, slots=True)
class EngineConfig:
    bind: str
    port: int
    public_address: str
    rtp_port: int
    rtp_port_count: int
    clock_rate: int
    codecs: list[str]
    user_agent: str = "appliance"
    log_level: int = 2


class PjEngine:
    def __init__(
        self,
        config: EngineConfig,
        on_event: Callable[[SipEvent], None],
        decide: Callable[[Offered], Decision],
        screen: Callable[[str], int],
        watchdog: Watchdog,
    ) -> None:
        """``decide`` runs on the pump for each new call: answering must not wait for a busy event loop.
        ``screen`` runs there before it, on the INVITE's source address: a code other than 0 refuses the call
        with it. ``watchdog`` looks at every answered call on the pump, a few times a second."""
        self._config = config
        self._on_event = on_event
        self._decide = decide
        self._screen = screen
        self._watchdog = watchdog
        self._next_watch = 0.0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._jobs: collections.deque[tuple[Callable[[], Any], concurrent.futures.Future[Any]]] = collections.deque()
        self._stopping = False
        self._ep: Any = None
        self._log_writer: Any = None
        self._calls: dict[int, PjCall] = {}
        self._answered: set[int] = set()  # calls answered for a conversation (not busy messages), until they end
        self._accounts: dict[str, TrunkAccount] = {}
        self._trunks: dict[str, TrunkSettings] = {}
        self._retired: list[Any] = []  # pjsua2 objects to delete on the pump, after the callback that retired them
        self._handles = itertools.count(1)
        self._waker = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._wake_to: tuple[str, int] | None = None
        self.address = ""

    # ----- the event loop's side

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        started: concurrent.futures.Future[None] = concurrent.futures.Future()
        self._thread = threading.Thread(target=self._pump, args=(started,), name="sip-pump", daemon=True)
        self._thread.start()
        await asyncio.wrap_future(started)

    async def run(self, job: Callable[[], T]) -> T:
        """Run ``job`` on the pump (where pjsua2 may be called) and return its result."""
        if self._thread is None or not self._thread.is_alive():
            raise SipError("the SIP stack is not running")
        future: concurrent.futures.Future[T] = concurrent.futures.Future()
        self._jobs.append((job, future))
        self._wake()
        return await asyncio.wrap_future(future)

    async def stop(self) -> None:
        if self._thread is None:
            return
        self._stopping = True
        self._wake()
        await asyncio.to_thread(self._thread.join, 10)
        self._waker.close()

    # ----- commands (each runs on the pump)

    async def add_trunk(self, trunk: TrunkSettings) -> None:
        await self.run(lambda: self._add_trunk(trunk))

    async def register(self, trunk: str, on: bool) -> None:
        await self.run(lambda: self._accounts[trunk].setRegistration(on))

    async def answer(self, handle: int, queues: MediaQueues) -> None:
        def job() -> None:
            call = self._call(handle)
            call.attach(queues, self._config.clock_rate)
            call.answer(_op(200))
            self._watchdog.answered(handle, time.monotonic())

        await self.run(job)

    async def reject(self, handle: int, code: int, reason: str = "") -> None:
        await self.run(lambda: self._call(handle).answer(_op(code, reason)))

    async def hangup(self, handle: int) -> None:
        await self.run(lambda: self._call(handle).hangup(_op(200)))

    async def transfer(self, handle: int, uri: str) -> None:
        await self.run(lambda: self._call(handle).xfer(uri, _op(0)))

    # ----- the pump

    def emit(self, event: SipEvent) -> None:
        assert self._loop is not None
        self._loop.call_soon_threadsafe(self._on_event, event)

    @property
    def conversations(self) -> int:
        """Calls answered for a conversation and not yet ended (read on the pump)."""
        return len(self._answered)

    def admit(self, call: PjCall, offer: Offered) -> None:
        try:
            decision = self._decide(offer)
        except Exception as exc:  # the call is refused; the pump, and every other call, goes on
            log.exception("could not decide what to do with a call")
            decision = Decision(500, f"internal error: {exc}")
        try:
            if decision.code == 200 and decision.queues is not None:
                call.attach(decision.queues, self._config.clock_rate)
                call.answer(_op(200))
                self._answered.add(call.handle)
                self._watchdog.answered(call.handle, time.monotonic())
            elif decision.code >= 300:
                call.answer(_op(decision.code))
        except pj.Error as exc:
            decision = dataclasses.replace(decision, code=500, reason=f"could not answer: {_describe(exc)}")
        self.emit(dataclasses.replace(offer, decision=decision))

    def screen(self, source: str) -> int:
        try:
            return self._screen(source)
        except Exception:  # refused, as from an unknown source; the pump goes on
            log.exception("could not check a call's source address")
            return 403

    def forbid(self, account: TrunkAccount, call_id: int, refused: Forbidden) -> None:
        # A plain pjsua2 Call, only to answer it: no handle, no media port, no event but this one. Kept until the
        # callback has returned (a pjsua2 object is not deleted inside its own callback).
        call = pj.Call(account, call_id)
        try:
            call.answer(_op(refused.code))
        except pj.Error as exc:
            log.warning("could not refuse a call from %s: %s", refused.source, _describe(exc))
            with contextlib.suppress(pj.Error):  # its object is kept while the call is up (_release_retired)
                call.hangup(_op(0))
        self._retired.append(call)
        self.emit(refused)

    def adopt(self, call: PjCall) -> int:
        handle = next(self._handles)
        self._calls[handle] = call
        return handle

    def forget(self, handle: int) -> None:
        self._answered.discard(handle)
        self._watchdog.forget(handle)
        call = self._calls.pop(handle, None)
        if call is not None:
            self._retired.append(call)

    def learn_realm(self, trunk: str, realm: str) -> None:
        # Run after the registration callback that learned it: an account is not modified inside its own callback.
        log.info("trunk %s: the registrar's realm is '%s'; only its challenges are answered", trunk, realm)
        self._jobs.append((lambda: self._answer_realm(trunk, realm), concurrent.futures.Future()))

    def _answer_realm(self, trunk: str, realm: str) -> None:
        account = self._accounts.get(trunk)
        if account is None:
            return
        try:
            account.modify(self._account_config(self._trunks[trunk], realm))
            account.setRegistration(True)
        except pj.Error as exc:  # reported as a failed registration: retried with backoff, shown to the operator
            self.emit(Registration(trunk, 500, f"could not register in realm '{realm}': {_describe(exc)}", 0))

    def _call(self, handle: int) -> PjCall:
        call = self._calls.get(handle)
        if call is None:
            raise SipError(f"call {handle} has ended")
        return call

    def _pump(self, started: concurrent.futures.Future[None]) -> None:
        try:
            self._create()
        except Exception as exc:  # handed to start(), which reports it
            if self._ep is not None:
                self._destroy()
            started.set_exception(exc if isinstance(exc, SipError) else SipError(_describe(exc)))
            return
        started.set_result(None)
        try:
            while not self._stopping:
                self._ep.libHandleEvents(_IDLE_POLL_MS)
                self._run_jobs()
                self._watch()
                self._release_retired()
        finally:
            self._destroy()

    def _release_retired(self) -> None:
        """Delete the pjsua2 objects of ended calls whose call slot is free. One poll reads every datagram waiting,
        so within it PJSIP may give an ended call's slot to a new INVITE (a burst of INVITEs refused at once goes
        round the slots); pjsua2's Call destructor hangs up, and unhooks from its object, whatever call holds the
        slot it names, so deleting the old object then would end the new call unseen and hold its line for good.
        Such an object waits until its slot is free."""
        if self._retired:
            self._retired = [call for call in self._retired if call.isActive()]

    def _run_jobs(self) -> None:
        while self._jobs:
            job, future = self._jobs.popleft()
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(job())
            except pj.Error as exc:
                future.set_exception(SipError(_describe(exc)))
            except Exception as exc:  # handed to the awaiting coroutine
                future.set_exception(exc)

    def _watch(self) -> None:
        """Hang up the answered calls the watchdog finds holding a line for nothing, or taken over."""
        now = time.monotonic()
        if now < self._next_watch:
            return
        self._next_watch = now + CHECK_EVERY_S
        for handle in self._watchdog.handles():
            call = self._calls.get(handle)
            if call is None:
                self._watchdog.forget(handle)
                continue
            try:
                released = self._watchdog.check(handle, call, now)
                if released is None:
                    continue
                self._watchdog.forget(handle)
                self.emit(released)  # before the hangup, whose end of the call may be reported at once
                call.hangup(_op(200))
            except pj.Error as exc:  # the call is ending as we look at it: its own events say so
                log.debug("could not check or end call %s: %s", handle, _describe(exc))

    def _create(self) -> None:
        c = self._config
        ep = _Endpoint(self)
        ep.libCreate()
        self._ep = ep
        cfg = pj.EpConfig()
        cfg.uaConfig.threadCnt = 0  # no worker threads of its own: the pump polls
        cfg.uaConfig.mainThreadOnly = False
        cfg.uaConfig.maxCalls = CALL_SLOTS  # all of them: calls over sip.max_calls are refused by us, audibly
        cfg.uaConfig.userAgent = c.user_agent
        cfg.logConfig.level = c.log_level
        cfg.logConfig.consoleLevel = c.log_level
        cfg.logConfig.decor = 0  # time and thread come from our log format
        self._log_writer = _PjLog()  # kept alive as long as the library
        cfg.logConfig.writer = self._log_writer
        cfg.medConfig.clockRate = c.clock_rate
        cfg.medConfig.sndClockRate = c.clock_rate
        cfg.medConfig.noVad = True
        cfg.medConfig.ecTailLen = 0
        try:
            ep.libInit(cfg)
            transport = pj.TransportConfig()
            transport.port = c.port
            if c.bind not in ("", "0.0.0.0"):
                transport.boundAddress = c.bind
            if c.public_address:
                transport.publicAddress = c.public_address
            udp = ep.transportCreate(pj.PJSIP_TRANSPORT_UDP, transport)
            ep.transportCreate(pj.PJSIP_TRANSPORT_TCP, transport)
            ep.libStart()
        except pj.Error as exc:
            raise SipError(f"cannot listen for SIP on {c.bind}:{c.port}: {_describe(exc)}") from None
        ep.audDevManager().setNullDev()  # no sound card: the null device's clock drives the media
        for codec in ep.codecEnum2():
            ep.codecSetPriority(codec.codecId, 0)
        for rank, name in enumerate(c.codecs):
            ep.codecSetPriority(_CODEC_IDS[name], 254 - rank)
        info = ep.transportGetInfo(udp)
        port = int(str(info.localName).rsplit(":", 1)[1])
        self._wake_to = (c.bind if c.bind not in ("", "0.0.0.0") else "127.0.0.1", port)
        self.address = f"{c.bind or '0.0.0.0'}:{port}"

    def _add_trunk(self, trunk: TrunkSettings) -> None:
        realm = trunk.known_realm
        account = TrunkAccount(trunk.name, self, learning=not realm)
        try:
            account.create(self._account_config(trunk, realm))
        except pj.Error as exc:
            raise SipError(f"trunk '{trunk.name}': {_describe(exc)}") from None
        self._accounts[trunk.name] = account
        self._trunks[trunk.name] = trunk

    def _account_config(self, trunk: TrunkSettings, realm: str) -> Any:
        """The trunk's account; its credentials answer ``realm`` only (none yet when it is empty)."""
        c = self._config
        cfg = pj.AccountConfig()
        cfg.idUri = trunk.account_uri
        if trunk.register:
            cfg.regConfig.registrarUri = trunk.registrar_uri
            cfg.regConfig.timeoutSec = trunk.expires_s
            cfg.regConfig.delayBeforeRefreshSec = max(1, min(30, trunk.expires_s // 4))
        cfg.regConfig.retryIntervalSec = 0  # re-registration after a failure is ours, with backoff
        cfg.regConfig.registerOnAdd = False
        cfg.regConfig.dropCallsOnFail = False
        if realm:
            cred = pj.AuthCredInfo("digest", realm, trunk.auth_username or trunk.username, 0, trunk.password)
            cfg.sipConfig.authCreds.append(cred)
        if trunk.outbound_proxy:
            proxy = trunk.outbound_proxy if trunk.outbound_proxy.startswith("sip") else f"sip:{trunk.outbound_proxy}"
            cfg.sipConfig.proxies.append(f"{proxy};lr")
        cfg.mediaConfig.transportConfig.port = c.rtp_port
        cfg.mediaConfig.transportConfig.portRange = c.rtp_port_count
        if c.bind not in ("", "0.0.0.0"):
            cfg.mediaConfig.transportConfig.boundAddress = c.bind
        if c.public_address:
            cfg.mediaConfig.transportConfig.publicAddress = c.public_address
        return cfg

    def _destroy(self) -> None:
        try:
            self._ep.hangupAllCalls()
            for _ in range(20):
                self._ep.libHandleEvents(10)
            self._calls.clear()
            self._retired.clear()
            for account in self._accounts.values():
                account.shutdown()
            self._accounts.clear()
            self._ep.libDestroy()
        except pj.Error as exc:
            log.warning("the SIP stack did not close cleanly: %s", _describe(exc))
        # Released here, on the pump: a pjsua2 object's destructor must not run on a thread pjsua2 does not know.
        self._ep = None
        self._log_writer = None

    def _wake(self) -> None:
        if self._wake_to is not None:
            # On failure the pump still runs the job within its poll interval.
            with contextlib.suppress(OSError):
                self._waker.sendto(_KEEPALIVE, self._wake_to)


class _Endpoint(pj.Endpoint):  # type: ignore[misc]
    def __init__(self, host: PjEngine) -> None:
        super().__init__()
        self._host = host

    def onRejectedIncomingCall(self, prm: Any) -> None:
        """A call PJSIP refused before it reached an account: every call slot taken, or an offer it could not
        accept. Reported, so the business still learns of the caller."""
        self._host.emit(Refused(prm.remoteInfo, prm.localInfo, prm.statusCode, prm.reason, str(prm.rdata.srcAddress)))


class _PjLog(pj.LogWriter):  # type: ignore[misc]
    """pjsua2's own log lines, into the appliance's log (they can come from any of its threads). One level
    down: what pjsua2 calls an error (a failed registration, a refused call) is reported by the service, with
    what to do about it, at the level it deserves."""

    def write(self, entry: Any) -> None:
        text = str(entry.msg).strip()
        if text:
            _pj_log.log(_PJ_LEVELS.get(entry.level, logging.DEBUG), "%s", text)


_pj_log = logging.getLogger("sip.pjsua2")
_PJ_LEVELS = {0: logging.WARNING, 1: logging.WARNING, 2: logging.INFO, 3: logging.DEBUG}


def _op(code: int, reason: str = "") -> Any:
    op = pj.CallOpParam(True)
    op.statusCode = code
    if reason:
        op.reason = reason
    return op


def _describe(exc: BaseException) -> str:
    if isinstance(exc, pj.Error):
        return f"{exc.title}: {exc.reason}" if getattr(exc, "title", "") else str(exc.reason)
    return str(exc)
