"""The set of models a process uses: each resolved, loaded once on first use, shared by every call."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, cast

from models.catalog import ROLES, Role
from models.config import ModelSettings
from models.device import Device, choose_device, llama_supports_gpu
from models.errors import ModelError
from models.foreground import Foreground
from models.interfaces import Embedder, LlmProvider, SttProvider, TtsProvider, TurnDetector, VadProvider
from models.resolve import ResolvedModel, resolve

log = logging.getLogger(__name__)

State = Literal["not loaded", "loading", "loaded", "failed"]


@dataclass(slots=True)
class ModelStatus:
    role: Role
    choice: str
    state: State = "not loaded"
    device: Device = "cpu"
    path: str = ""
    load_seconds: float | None = None
    error: str | None = None


@dataclass(slots=True)
class _Slot:
    status: ModelStatus
    lock: threading.Lock = field(default_factory=threading.Lock)
    instance: Any = None


class ModelSet:
    def __init__(self, settings: ModelSettings, models_dir: Path) -> None:
        self._settings = settings
        self._models_dir = models_dir
        self.device: Device = choose_device(settings.device)
        self.foreground = Foreground()
        self._slots: dict[Role, _Slot] = {role: _Slot(ModelStatus(role, getattr(settings, role))) for role in ROLES}

    def resolve_all(self) -> list[ResolvedModel]:
        """Find (and assemble, where needed) every configured model without loading it: fails fast."""
        return [self._resolve(role) for role in ROLES]

    def vad(self) -> VadProvider:
        return cast(VadProvider, self._get("vad"))

    def turn(self) -> TurnDetector:
        return cast(TurnDetector, self._get("turn"))

    def stt(self) -> SttProvider:
        return cast(SttProvider, self._get("stt"))

    def llm(self) -> LlmProvider:
        return cast(LlmProvider, self._get("llm"))

    def tts(self) -> TtsProvider:
        return cast(TtsProvider, self._get("tts"))

    def embedder(self) -> Embedder:
        return cast(Embedder, self._get("embedder"))

    async def load(self, roles: tuple[Role, ...] = ROLES) -> None:
        for role in roles:
            await asyncio.to_thread(self._get, role)

    def close(self) -> None:
        """Release the models that have a ``close`` (the LLM stops what it is doing first)."""
        for slot in self._slots.values():
            close = getattr(slot.instance, "close", None)
            if callable(close):
                close()

    def status(self) -> list[ModelStatus]:
        return [slot.status for slot in self._slots.values()]

    def _resolve(self, role: Role) -> ResolvedModel:
        return resolve(role, getattr(self._settings, role), self._models_dir)

    def _get(self, role: Role) -> object:
        slot = self._slots[role]
        if slot.instance is not None:
            return slot.instance
        with slot.lock:
            if slot.instance is None:
                slot.instance = self._load(role, slot.status)
            return slot.instance

    def _load(self, role: Role, status: ModelStatus) -> object:
        status.state, status.error = "loading", None
        started = time.perf_counter()
        try:
            model = self._resolve(role)
            status.path = str(model.path)
            device, instance = _FACTORIES[role](self, model.path)
        except ModelError as exc:
            status.state, status.error = "failed", str(exc)
            raise
        except Exception as exc:
            status.state, status.error = "failed", f"{type(exc).__name__}: {exc}"
            raise ModelError(f"models.{role}: cannot load {status.choice}: {exc}") from exc
        status.state, status.device = "loaded", device
        status.load_seconds = round(time.perf_counter() - started, 2)
        log.info("loaded %s model %s on %s in %.2f s", role, status.choice, device, status.load_seconds)
        return instance

    def _load_vad(self, path: Path) -> tuple[Device, object]:
        from models.silero_vad import SileroVad

        return "cpu", SileroVad(path)

    def _load_turn(self, path: Path) -> tuple[Device, object]:
        from models.smart_turn import SmartTurn

        return "cpu", SmartTurn(path)

    def _load_stt(self, path: Path) -> tuple[Device, object]:
        from models.whisper_stt import WhisperStt

        return self.device, WhisperStt(path, self.device, self._settings.threads, self._settings.stt_window_s)

    def _load_llm(self, path: Path) -> tuple[Device, object]:
        from models.llamacpp_llm import LlamaCppLlm

        offload = self.device == "cuda" and llama_supports_gpu()
        if self.device == "cuda" and not offload:
            log.warning("llama.cpp was built without GPU support; the LLM runs on the CPU")
        llm = LlamaCppLlm(
            path,
            context=self._settings.llm_context,
            threads=self._settings.threads,
            gpu_layers=self._settings.llm_gpu_layers if offload else 0,
            cache_mb=self._settings.llm_cache_mb,
            foreground=self.foreground,
        )
        return ("cuda" if offload else "cpu"), llm

    def _load_tts(self, path: Path) -> tuple[Device, object]:
        import onnxruntime

        from models.piper_tts import PiperTts

        use_cuda = self.device == "cuda" and "CUDAExecutionProvider" in onnxruntime.get_available_providers()
        return ("cuda" if use_cuda else "cpu"), PiperTts(path, use_cuda=use_cuda)

    def _load_embedder(self, path: Path) -> tuple[Device, object]:
        from models.minilm_embedder import SentenceEmbedder

        return self.device, SentenceEmbedder(path, self.device)


_FACTORIES: dict[Role, Callable[[ModelSet, Path], tuple[Device, object]]] = {
    "vad": ModelSet._load_vad,
    "turn": ModelSet._load_turn,
    "stt": ModelSet._load_stt,
    "llm": ModelSet._load_llm,
    "tts": ModelSet._load_tts,
    "embedder": ModelSet._load_embedder,
}
