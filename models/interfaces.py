"""The interfaces every model provider implements; application code depends on these, never on an SDK."""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

Pcm16 = npt.NDArray[np.int16]
Float32 = npt.NDArray[np.float32]


@dataclass(frozen=True, slots=True)
class Transcription:
    text: str
    language: str
    audio_seconds: float
    # Why the words are not to be answered ("repeats itself", "not speech"); None when they can be.
    rejected: str | None = None


@dataclass(frozen=True, slots=True)
class ChatMessage:
    role: str  # "system" | "user" | "assistant"
    content: str


@dataclass(slots=True)
class TokenCount:
    """Tokens a language model read and wrote on someone's behalf (a call, its analysis): what usage is billed by.
    Read: every prompt token of every request, cached or not; written: every token of the replies."""

    read: int = 0
    written: int = 0


class SttProvider(Protocol):
    sample_rate: int

    async def transcribe(self, audio: Float32) -> Transcription:
        """Transcribe one utterance of mono float32 audio at ``sample_rate``."""
        ...


class LlmProvider(Protocol):
    name: str

    def stream_json(
        self,
        messages: Sequence[ChatMessage],
        schema: dict[str, Any],
        max_tokens: int,
        prefix: str = "",
        count: TokenCount | None = None,
    ) -> AsyncGenerator[str, None]:
        """Stream the text of one reply constrained to ``schema`` (a JSON schema), piece by piece. With
        ``prefix``, the reply starts with that text (the stream too) and the model writes the rest. The tokens
        read and written are added to ``count``."""
        ...

    async def prefill(self, messages: Sequence[ChatMessage], schema: dict[str, Any] | None = None) -> None:
        """Evaluate a prompt ahead of time so a later one that starts the same way costs only its tail; with
        ``schema``, also the start of a reply to it under that schema."""
        ...

    async def choose(
        self,
        messages: Sequence[ChatMessage],
        options: Sequence[str],
        prefix: str = "",
        count: TokenCount | None = None,
    ) -> dict[str, float]:
        """The model's probability of each option as the start of its reply (after ``prefix``), among the
        options: for a label and how sure the model is of it, where sampling would give only the label."""
        ...

    def count_tokens(self, text: str) -> int: ...


class TtsProvider(Protocol):
    sample_rate: int
    voice: str

    def stream(self, text: str) -> AsyncIterator[Pcm16]:
        """Synthesize ``text``, yielding mono 16-bit audio as soon as each piece is ready."""
        ...


class VadStream(Protocol):
    def probability(self, frame: Float32) -> float:
        """Speech probability of one frame of ``VadProvider.frame_samples`` samples."""
        ...


class VadProvider(Protocol):
    sample_rate: int
    frame_samples: int

    def stream(self) -> VadStream:
        """A detector with its own state, for one audio stream (one call)."""
        ...


class TurnDetector(Protocol):
    sample_rate: int

    def complete(self, audio: Float32) -> float:
        """How likely the caller has finished their turn, from the audio of it so far (0 to 1). Blocking."""
        ...


class Embedder(Protocol):
    dimension: int

    async def embed(self, texts: Sequence[str]) -> Float32:
        """Unit-length embeddings, one row per text."""
        ...
