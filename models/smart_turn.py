"""Smart Turn v3 through onnxruntime: whether the caller has finished their turn, from the sound of it.

The model hears the last 8 s of the turn (zeros in front of a shorter one) as Whisper's 80-band log-mel features
of the waveform normalised to zero mean and unit variance; faster-whisper's feature extractor computes exactly
those, so no other front end is needed. One decision is a few tens of milliseconds of one core.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from faster_whisper.feature_extractor import FeatureExtractor

from models.interfaces import Float32
from models.onnx_session import single_thread_session

_SAMPLE_RATE = 16_000
_WINDOW_S = 8
_HOP = 160


class SmartTurn:
    sample_rate = _SAMPLE_RATE

    def __init__(self, path: Path) -> None:
        self._session = single_thread_session(path)
        self._features = FeatureExtractor(
            feature_size=80, sampling_rate=_SAMPLE_RATE, hop_length=_HOP, chunk_length=_WINDOW_S, n_fft=400
        )
        self._frames = _WINDOW_S * _SAMPLE_RATE // _HOP

    def complete(self, audio: Float32) -> float:
        window = _WINDOW_S * _SAMPLE_RATE
        x = np.zeros(window, dtype=np.float32)
        tail = audio[-window:]
        x[window - tail.size :] = tail
        x = (x - x.mean()) / np.sqrt(x.var() + 1e-7)
        features = self._features(x, padding=0)[:, : self._frames].astype(np.float32)
        (out,) = self._session.run(None, {"input_features": features[None]})
        return float(out[0, 0])
