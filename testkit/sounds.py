"""Speech clips made for tests and benchmarks: espeak-ng (robotic) or Piper (natural), passed through a phone
line's 8 kHz mu-law and back, as a caller would sound."""

from __future__ import annotations

import hashlib
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from core.audio import read_wav, write_wav
from models.interfaces import Pcm16, TtsProvider


def phone_band(source: Path, out: Path, rate: int = 16000) -> Path:
    """Through 8 kHz mu-law (as a phone line carries it), back to 16-bit PCM at ``rate``."""
    ulaw = out.with_suffix(".ulaw.wav")
    subprocess.run(["sox", str(source), "-r", "8000", "-c", "1", "-e", "mu-law", str(ulaw)], check=True)
    subprocess.run(["sox", str(ulaw), "-r", str(rate), "-e", "signed-integer", "-b", "16", str(out)], check=True)
    ulaw.unlink()
    return out


def on_the_line(audio: np.ndarray, rate: int = 16000) -> Pcm16:
    """``audio`` (16-bit scale, clipped to it) through 8 kHz mu-law and back to 16-bit PCM at ``rate``."""
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "in.wav"
        write_wav(source, np.clip(audio, -32768, 32767).astype(np.int16), rate)
        return read_wav(phone_band(source, Path(tmp) / "out.wav", rate), rate)


def espeak_clip(text: str, folder: Path, voice: str = "en-us", speed: int = 150) -> Path:
    name = hashlib.sha1(f"{voice}|{speed}|{text}".encode()).hexdigest()[:12]
    out = folder / f"espeak-{name}.wav"
    if not out.exists():
        raw = folder / f"espeak-{name}.raw.wav"
        subprocess.run(["espeak-ng", "-v", voice, "-s", str(speed), "-w", str(raw), text], check=True)
        phone_band(raw, out)
        raw.unlink()
    return out


async def piper_clip(tts: TtsProvider, text: str, folder: Path) -> Path:
    name = hashlib.sha1(f"piper|{text}".encode()).hexdigest()[:12]
    out = folder / f"piper-{name}.wav"
    if not out.exists():
        pieces = [pcm async for pcm in tts.stream(text)]
        raw = folder / f"piper-{name}.raw.wav"
        write_wav(raw, np.concatenate(pieces), tts.sample_rate)
        phone_band(raw, out)
        raw.unlink()
    return out


def with_silence(clip: Path, out: Path, before_s: float, after_s: float, rate: int = 16000) -> Path:
    pcm = read_wav(clip, rate)
    pad = [np.zeros(int(before_s * rate), np.int16), pcm, np.zeros(int(after_s * rate), np.int16)]
    write_wav(out, np.concatenate(pad), rate)
    return out


def concat(clips: list[Pcm16], gap_s: float, rate: int = 16000) -> Pcm16:
    gap = np.zeros(int(gap_s * rate), np.int16)
    pieces: list[Pcm16] = [gap]
    for clip in clips:
        pieces += [clip, gap]
    return np.concatenate(pieces)


def not_speech(seconds: float, seed: int = 7, rate: int = 16000) -> dict[str, Pcm16]:
    """Sounds a line carries that are not a caller speaking: hiss (about -40 dBFS), mains hum, a buzz, a melody
    of music on hold, and swelling chords; before the phone line (pass them through ``phone_band``)."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * rate)) / rate
    notes = [262, 330, 392, 523, 392, 330, 294, 262]
    melody = np.sin(2 * np.pi * np.array([notes[int(x * 2) % len(notes)] for x in t]) * t) * 8000
    chords = sum(np.sin(2 * np.pi * f * t * (1 + (np.floor(t * 2) % 4) / 8)) for f in (220, 330, 440))
    sounds = {
        "hiss": rng.normal(0, 330, t.size),
        "hum": np.sin(2 * np.pi * 50 * t) * 3000 + rng.normal(0, 300, t.size),
        "buzz": np.sign(np.sin(2 * np.pi * 120 * t)) * 4000,
        "music on hold": melody,
        "chords": chords * 3000 * (0.6 + 0.4 * np.sin(2 * np.pi * 3 * t)),
    }
    return {name: np.clip(x, -32768, 32767).astype(np.int16) for name, x in sounds.items()}
