"""baresip as a caller (or as the "human" a call is transferred to), driven over its ctrl_tcp JSON interface.

Audio it sends comes from a WAV file (``aufile``), switchable mid-call; when the file ends baresip hangs up, so
files are padded with silence for as long as the call should last. Audio it receives is written to
``dump-*-dec.wav`` in its folder by the ``sndfile`` module.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import soundfile

from core.audio import resample
from models.interfaces import Pcm16
from testkit.ports import free_port, free_port_pair

_CONFIG = """poll_method epoll
sip_listen 127.0.0.1:{sip_port}
call_local_timeout 120
audio_player alsa,null
audio_alert alsa,null
audio_source aufile,{source}
ausrc_format s16
auplay_format s16
rtp_ports {rtp_low}-{rtp_high}
jitter_buffer_delay 1-10
net_interface 127.0.0.1
module_path /usr/lib/baresip/modules
module g711.so
module g722.so
module aufile.so
module alsa.so
module sndfile.so
module_tmp account.so
module_app menu.so
module_app ctrl_tcp.so
ctrl_tcp_listen 127.0.0.1:{ctrl_port}
snd_path {folder}
"""


class Baresip:
    def __init__(
        self,
        folder: Path,
        *,
        user: str,
        domain: str,
        source: Path,
        auto_answer: bool = False,
        sip_port: int | None = None,
        codecs: str = "",
    ) -> None:
        """``codecs``: what to offer, in baresip's terms (e.g. "G722/16000/1"); default PCMU and PCMA."""
        self.folder = folder
        self.user = user
        self.domain = domain
        self.source = source
        self.auto_answer = auto_answer
        self.codecs = codecs
        self.sip_port = sip_port or free_port_pair()
        self.ctrl_port = free_port(socket.SOCK_STREAM)
        self.events: list[dict[str, Any]] = []
        self._cond = threading.Condition()
        self._proc: subprocess.Popen[bytes] | None = None
        self._sock: socket.socket | None = None
        self._reader: threading.Thread | None = None

    @property
    def uri(self) -> str:
        return f"sip:{self.user}@127.0.0.1:{self.sip_port}"

    def start(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        rtp = free_port()
        (self.folder / "config").write_text(
            _CONFIG.format(
                sip_port=self.sip_port,
                source=self.source,
                rtp_low=rtp,
                rtp_high=rtp + 20,
                ctrl_port=self.ctrl_port,
                folder=self.folder,
            )
        )
        mode = "auto" if self.auto_answer else "manual"
        codecs = f";audio_codecs={self.codecs}" if self.codecs else ""
        (self.folder / "accounts").write_text(f"<sip:{self.user}@{self.domain}>;regint=0;answermode={mode}{codecs}\n")
        log = (self.folder / "baresip.log").open("ab")
        self._proc = subprocess.Popen(
            ["baresip", "-f", str(self.folder)], stdin=subprocess.DEVNULL, stdout=log, stderr=log, cwd=self.folder
        )
        deadline = time.monotonic() + 10
        while self._sock is None:
            try:
                self._sock = socket.create_connection(("127.0.0.1", self.ctrl_port), timeout=1)
            except OSError:
                if self._proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"baresip did not start; see {self.folder / 'baresip.log'}") from None
                time.sleep(0.1)
        self._sock.settimeout(None)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def command(self, name: str, params: str = "") -> None:
        assert self._sock is not None
        body = json.dumps({"command": name, "params": params, "token": name}).encode()
        self._sock.sendall(str(len(body)).encode() + b":" + body + b",")

    def dial(self, uri: str) -> None:
        self.command("dial", uri)

    def hangup(self) -> None:
        self.command("hangup")

    def press(self, digit: str) -> None:
        self.command("sndcode", digit)

    def play(self, wav: Path) -> None:
        """Switch what the call hears from this peer to ``wav``."""
        self.command("ausrc", f"aufile,{wav}")

    def wait(self, event: str, timeout: float = 30.0, after: int = 0) -> dict[str, Any]:
        """The first event of type ``event`` from index ``after`` on; fails after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for found in self.events[after:]:
                    if found.get("type") == event:
                        return found
                left = deadline - time.monotonic()
                if left <= 0:
                    seen = [e.get("type") for e in self.events]
                    raise AssertionError(f"baresip {self.user}: no {event} in {timeout} s (saw {seen})")
                self._cond.wait(left)

    async def event(self, event: str, within_s: float = 30.0, after: int = 0) -> dict[str, Any]:
        """``wait`` for async tests: the event loop (and the appliance in it) keeps running meanwhile."""
        return await asyncio.to_thread(self.wait, event, within_s, after)

    def has(self, event: str) -> bool:
        with self._cond:
            return any(e.get("type") == event for e in self.events)

    def received(self) -> tuple[Pcm16, int]:
        """What this peer heard on its last call."""
        dumps = sorted(self.folder.glob("dump-*-dec.wav"))
        if not dumps:
            return np.zeros(0, dtype=np.int16), 8000
        pcm, rate = soundfile.read(str(dumps[-1]), dtype="int16")
        return np.asarray(pcm, dtype=np.int16), int(rate)

    def stop(self) -> None:
        if self._proc is None:
            return
        with contextlib.suppress(OSError):
            self.command("quit")
        try:
            self._proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self._proc.pid, signal.SIGKILL)
            self._proc.wait()
        if self._sock is not None:
            self._sock.close()
        self._proc = None

    def _read(self) -> None:
        assert self._sock is not None
        buffer = b""
        while True:
            try:
                data = self._sock.recv(65536)
            except OSError:
                return
            if not data:
                return
            buffer += data
            while b":" in buffer:
                length, _, rest = buffer.partition(b":")
                if not length.isdigit() or len(rest) < int(length) + 1:
                    break
                size = int(length)
                message, buffer = rest[:size], rest[size + 1 :]
                with contextlib.suppress(json.JSONDecodeError):
                    event = json.loads(message)
                    if event.get("event"):
                        with self._cond:
                            self.events.append(event)
                            self._cond.notify_all()


def wav_for_line(
    pcm: Pcm16, rate: int, path: Path, *, before_s: float = 0.0, after_s: float = 0.0, line_rate: int = 8000
) -> Path:
    """A mono WAV of ``pcm`` (at ``rate``) at the line's rate, with silence around it, for baresip's aufile
    source (which must match the codec's rate: 8 kHz for G.711, 16 kHz for G.722)."""
    audio = resample(pcm, rate, line_rate)
    pad = [np.zeros(int(before_s * line_rate), np.int16), audio, np.zeros(int(after_s * line_rate), np.int16)]
    path.parent.mkdir(parents=True, exist_ok=True)
    soundfile.write(str(path), np.concatenate(pad), line_rate, subtype="PCM_16")
    return path
