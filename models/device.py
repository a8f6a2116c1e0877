"""Whether CUDA is usable, and which device each runtime should use."""

from __future__ import annotations

import functools
import logging
from typing import Literal

from models.errors import ModelError

log = logging.getLogger(__name__)

Device = Literal["cpu", "cuda"]


@functools.cache
def cuda_device_count() -> int:
    try:
        import ctranslate2
    except ImportError:
        return 0
    try:
        return int(ctranslate2.get_cuda_device_count())
    except RuntimeError:
        return 0


def choose_device(preference: Literal["auto", "cpu", "cuda"]) -> Device:
    if preference == "cpu":
        return "cpu"
    has_cuda = cuda_device_count() > 0
    if preference == "cuda" and not has_cuda:
        raise ModelError("models.device is 'cuda' but no CUDA device is visible; use 'auto' or 'cpu'")
    return "cuda" if has_cuda else "cpu"


@functools.cache
def llama_supports_gpu() -> bool:
    import llama_cpp

    return bool(llama_cpp.llama_supports_gpu_offload())
