"""Which models to load and how: the ``[models]`` section of the settings."""

from typing import Literal

import msgspec


class ModelSettings(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Each model is a catalog name (``appliance models list``) or a path to the model's file or folder."""

    device: Literal["auto", "cpu", "cuda"] = "auto"
    dir: str = ""
    stt: str = "whisper-tiny.en"
    # Whisper hears each utterance in a window this long (longer utterances get 5 s of silence after them); its
    # own window is 30 s, which costs about three times as much on a short utterance.
    stt_window_s: int = 10
    llm: str = "qwen2.5-coder-0.5b"
    tts: str = "piper-en_US-joe-medium"
    vad: str = "silero-vad"
    turn: str = "smart-turn-v3.2"
    embedder: str = "all-minilm-l6-v2"
    threads: int = 2
    llm_context: int = 8192
    llm_gpu_layers: int = -1
    llm_cache_mb: int = 512
