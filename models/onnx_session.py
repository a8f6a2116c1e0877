"""An ONNX Runtime session on one CPU thread, for the small models asked many times per call (VAD, turn)."""

from __future__ import annotations

from pathlib import Path

import onnxruntime


def single_thread_session(path: Path) -> onnxruntime.InferenceSession:
    """A VAD frame is ~0.2 ms of work and a turn decision ~45 ms: thread hand-offs would cost more than they save,
    and a second thread would be taken from the LLM's two."""
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    return onnxruntime.InferenceSession(str(path), sess_options=options, providers=["CPUExecutionProvider"])
