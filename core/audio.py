"""Audio at the boundaries: WAV files, sample formats and rate conversion (soxr, not hand-written filters)."""

from __future__ import annotations

import functools
import io
from pathlib import Path

import numpy as np
import soundfile
import soxr

from core.errors import InputError
from models.interfaces import Float32, Pcm16

FRAME_MS = 20


def frame_samples(rate: int) -> int:
    return rate * FRAME_MS // 1000


def to_float(pcm: Pcm16) -> Float32:
    return (pcm.astype(np.float32) / 32768.0).astype(np.float32)


def resample(pcm: Pcm16, rate_in: int, rate_out: int) -> Pcm16:
    if rate_in == rate_out or pcm.size == 0:
        return pcm
    return np.asarray(soxr.resample(pcm, rate_in, rate_out, quality="HQ"), dtype=np.int16)


class StreamResampler:
    """Resamples a stream chunk by chunk, keeping filter state between chunks so frame edges do not click.

    Medium quality: its filter holds back ~26 ms (high quality: ~66 ms), which every caller turn would wait for;
    phone audio has nothing above 4 kHz for a sharper filter to keep."""

    def __init__(self, rate_in: int, rate_out: int) -> None:
        self._stream = (
            None if rate_in == rate_out else soxr.ResampleStream(rate_in, rate_out, 1, dtype="int16", quality="MQ")
        )
        self.lag_s = 0.0 if self._stream is None else _measure_lag(rate_in, rate_out)

    def __call__(self, pcm: Pcm16, last: bool = False) -> Pcm16:
        if self._stream is None:
            return pcm
        return np.asarray(self._stream.resample_chunk(pcm, last=last), dtype=np.int16)


@functools.cache
def _measure_lag(rate_in: int, rate_out: int) -> float:
    """How much audio a fresh stream holds back once it is running, in seconds."""
    stream = soxr.ResampleStream(rate_in, rate_out, 1, dtype="int16", quality="MQ")
    chunk = np.zeros(rate_in // 50, dtype=np.int16)
    produced = sum(len(stream.resample_chunk(chunk)) for _ in range(50))
    return (rate_out - produced) / rate_out


def read_wav(path: Path, rate: int) -> Pcm16:
    """Read a sound file as mono 16-bit PCM at ``rate``; mixes channels down and converts the rate."""
    if not path.is_file():
        raise InputError(f"audio file {path} does not exist")
    return decode_wav(path.read_bytes(), rate, name=str(path))


def decode_wav(data: bytes, rate: int, name: str = "audio") -> Pcm16:
    try:
        pcm, file_rate = soundfile.read(io.BytesIO(data), dtype="int16", always_2d=True)
    except (soundfile.LibsndfileError, RuntimeError, TypeError) as exc:
        raise InputError(f"{name} is not a WAV (or other sound) file that can be read: {exc}") from None
    if pcm.shape[0] == 0:
        raise InputError(f"{name} holds no audio")
    mono = pcm.mean(axis=1).astype(np.int16) if pcm.shape[1] > 1 else pcm[:, 0]
    return resample(np.ascontiguousarray(mono), int(file_rate), rate)


def encode_wav(pcm: Pcm16, rate: int) -> bytes:
    out = io.BytesIO()
    soundfile.write(out, pcm, rate, subtype="PCM_16", format="WAV")
    return out.getvalue()


def write_wav(path: Path, pcm: Pcm16, rate: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    soundfile.write(str(path), pcm, rate, subtype="PCM_16")
