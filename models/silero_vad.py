"""Silero VAD through onnxruntime: one shared session, a small recurrent state per audio stream."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnxruntime

from models.interfaces import Float32
from models.onnx_session import single_thread_session

_SAMPLE_RATE = 16_000
_FRAME = 512  # 32 ms at 16 kHz, the frame size the model was trained on
_CONTEXT = 64  # samples of the previous frame the model sees in front of each new one


class SileroVadStream:
    def __init__(self, session: onnxruntime.InferenceSession) -> None:
        self._session = session
        self._state = np.zeros((2, 1, 128), dtype=np.float32)
        self._context = np.zeros((1, _CONTEXT), dtype=np.float32)
        self._sr = np.array(_SAMPLE_RATE, dtype=np.int64)

    def probability(self, frame: Float32) -> float:
        x = np.concatenate([self._context, frame.reshape(1, -1)], axis=1)
        out, self._state = self._session.run(None, {"input": x, "state": self._state, "sr": self._sr})
        self._context = x[:, -_CONTEXT:]
        return float(out[0, 0])


class SileroVad:
    sample_rate = _SAMPLE_RATE
    frame_samples = _FRAME

    def __init__(self, path: Path) -> None:
        self._session = single_thread_session(path)

    def stream(self) -> SileroVadStream:
        return SileroVadStream(self._session)
