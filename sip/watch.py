"""Answered calls that hold a line for nothing, or whose audio someone else has taken, found on the SIP thread.

- **No ACK**: a 200 OK to an INVITE that is never confirmed holds a call slot until PJSIP gives up on it (32 s);
  a few such INVITEs a minute would keep every line busy. Hung up after ``sip.ack_timeout_s``.
- **No media**: a call from which no RTP arrives (the caller's side is gone, or never was) and that is not on
  hold. Hung up after ``sip.media_timeout_s``.
- **RTP from elsewhere**: PJSIP follows RTP to a new source address after a handful of packets in a row, and
  pjsua2 has no switch to turn that off. Whoever sends them would then hear the call (the assistant reads back
  names, numbers and addresses) and speak into it. The transport reports the last packet's source; seen from an
  address that is neither the SDP's nor a trunk's at several checks in a row (a stray packet is seen at most once,
  the caller's own packets follow it within 20 ms), the call is hung up.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pjsua2 as pj

from sip.events import Released
from sip.sources import source_ip

CHECK_EVERY_S = 0.25
_FOREIGN_CHECKS = 3  # checks in a row that saw RTP from elsewhere: about 0.75 s of someone else's audio


@dataclass(slots=True)
class _Watched:
    answered_at: float
    packets: int = -1
    heard_at: float | None = None  # the last time RTP arrived, or the call was confirmed, or went on hold
    foreign: int = 0


class Watchdog:
    def __init__(self, *, ack_timeout_s: float, media_timeout_s: float, trusted: Callable[[str], bool]) -> None:
        """``trusted``: whether an address (address:port) may send a call's RTP beside its SDP's (a trunk's)."""
        self._ack_timeout_s = ack_timeout_s
        self._media_timeout_s = media_timeout_s
        self._trusted = trusted
        self._calls: dict[int, _Watched] = {}

    def answered(self, handle: int, now: float) -> None:
        self._calls[handle] = _Watched(now)

    def forget(self, handle: int) -> None:
        self._calls.pop(handle, None)

    def handles(self) -> list[int]:
        return list(self._calls)

    def check(self, handle: int, call: Any, now: float) -> Released | None:
        """What is wrong with the call now, if anything (``call`` is its pjsua2 Call; run on the SIP thread)."""
        watched = self._calls.get(handle)
        if watched is None:
            return None
        info = call.getInfo()
        if info.state == pj.PJSIP_INV_STATE_DISCONNECTED:
            return None
        if info.state < pj.PJSIP_INV_STATE_CONFIRMED:
            waited = now - watched.answered_at
            return Released(handle, "no_ack", round(waited, 2)) if waited > self._ack_timeout_s else None
        if watched.heard_at is None:
            watched.heard_at = now
        media = info.media  # kept in a variable: iterating getInfo().media directly reads freed memory
        for item in media:
            if item.type != pj.PJMEDIA_TYPE_AUDIO:
                continue
            if item.status in (pj.PJSUA_CALL_MEDIA_REMOTE_HOLD, pj.PJSUA_CALL_MEDIA_LOCAL_HOLD):
                watched.heard_at, watched.foreign = now, 0  # a caller on hold may send nothing
                continue
            if item.status == pj.PJSUA_CALL_MEDIA_ACTIVE:
                return self._media(handle, call, item.index, watched, now)
        return None

    def _media(self, handle: int, call: Any, index: int, watched: _Watched, now: float) -> Released | None:
        packets = int(call.getStreamStat(index).rtcp.rxStat.pkt)
        if packets != watched.packets:
            watched.packets, watched.heard_at = packets, now
        silent = now - (watched.heard_at or now)
        if self._media_timeout_s and silent > self._media_timeout_s:
            return Released(handle, "no_media", round(silent, 2))
        source = str(call.getMedTransportInfo(index).srcRtpName)
        negotiated = source_ip(str(call.getStreamInfo(index).remoteRtpAddress))
        sender = source_ip(source)
        if sender is None or sender.is_unspecified or sender == negotiated or self._trusted(source):
            watched.foreign = 0
            return None
        watched.foreign += 1
        if watched.foreign < _FOREIGN_CHECKS:
            return None
        return Released(handle, "rtp_source", round(watched.foreign * CHECK_EVERY_S, 2), source)
