"""The language model through llama.cpp: grammar-constrained JSON, streamed, reusing KV state across turns.

Every generation and prefill is a sequence in one llama.cpp context, decoded in a batch with the others (see
``LlamaSequences``); a sequence keeps its tokens after its job (in the context, or saved in RAM when idle ones
hold too many cells), so a prompt that starts the same way as any of them costs only its new tail. So the fixed
part of a prompt must come first and be identical byte for byte.
"""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import json
import logging
import threading
import zlib
from collections.abc import AsyncGenerator, Callable, Generator, Sequence
from functools import cache
from pathlib import Path
from typing import Any, NamedTuple

import llama_cpp
import numpy as np
import numpy.typing as npt
from llama_cpp import Llama
from llama_cpp._internals import LlamaContext
from llama_cpp.llama_chat_format import Jinja2ChatFormatter
from llama_cpp.llama_grammar import json_schema_to_gbnf

from models.errors import ModelError
from models.foreground import Foreground
from models.grammar_sampler import GrammarSampler
from models.interfaces import ChatMessage, TokenCount
from models.json_skeleton import JsonCloser, JsonSkeleton, ValueScanner
from models.llama_sequences import LlamaSequences, Logits, SequenceJob, Steps
from models.llama_state_cache import KvStateCache

log = logging.getLogger(__name__)

_DONE = object()
# Replies are sampled: greedy decoding made the 0.5B model repeat itself ("We don't take cash. We don't take
# credit cards. We don't take cash. ..."). Labels are not (see _Forcing.choosing_label).
_TEMPERATURE = 0.2
# Jobs decoded at once: a turn and a prefill for each of the four calls PJSIP has slots for.
_SEQUENCES = 8


class LlamaCppLlm:
    def __init__(
        self,
        path: Path,
        *,
        context: int,
        threads: int,
        gpu_layers: int,
        cache_mb: int,
        foreground: Foreground | None = None,
        seed: int = 7,
    ) -> None:
        if not path.is_file():
            raise ModelError(f"models.llm: {path} is not a GGUF file")
        try:
            # The model, its tokenizer and metadata; its own context is not used (so it is small).
            self._llm = Llama(model_path=str(path), n_ctx=64, n_batch=64, n_gpu_layers=gpu_layers, verbose=False)
            params = llama_cpp.llama_context_default_params()
            # Room for two whole conversations; several calls to one tenant share their opening's cells.
            params.n_ctx = 2 * context
            params.n_batch = params.n_ubatch = 512
            params.n_seq_max = _SEQUENCES
            params.kv_unified = True  # sequences share the cells of a common prefix
            params.n_threads = params.n_threads_batch = threads
            # llama.cpp's automatic choice turns flash attention on, which halved the generation rate on two
            # cores here (10.7 against 19.6 tokens/s).
            params.flash_attn_type = llama_cpp.LLAMA_FLASH_ATTN_TYPE_DISABLED
            self._ctx = LlamaContext(model=self._llm._model, params=params, verbose=False)
        except ValueError as exc:
            raise ModelError(f"models.llm: cannot load {path}: {exc}") from None
        template = self._llm.metadata.get("tokenizer.chat_template")
        if not template:
            raise ModelError(f"models.llm: {path} has no chat template; use an instruction-tuned model")
        self._format = Jinja2ChatFormatter(template, eos_token=self._token_text("eos"), bos_token="")
        self._vocab = self._llm._model.vocab
        self._n_vocab = self._llm.n_vocab()
        self._end_tokens = [t for t in range(self._n_vocab) if llama_cpp.llama_vocab_is_eog(self._vocab, t)]
        self._seed = seed
        self.name = path.stem
        self.context = context
        self._foreground = foreground or Foreground()
        self._closing = False
        # Tokenizing reads the model from any thread (the knowledge base's chunker); closing frees it, so the two
        # exclude each other, and a count after close is an error rather than a read of freed memory.
        self._model_lock = threading.Lock()
        # llama.cpp's context is one mutable state: every use goes through this one thread.
        # Idle conversations keep at most half a conversation's worth of cells; the rest wait in RAM.
        states = KvStateCache(cache_mb << 20)
        self._sequences = LlamaSequences(
            self._ctx.ctx, self._n_vocab, _SEQUENCES, self._foreground.yield_to, states, idle_cells=context // 2
        )

    def count_tokens(self, text: str) -> int:
        with self._model_lock:
            if self._closing:
                raise ModelError("models.llm: the model is closed (the appliance is stopping)")
            return len(self._llm.tokenize(text.encode("utf-8"), add_bos=False, special=False))

    async def prefill(self, messages: Sequence[ChatMessage], schema: dict[str, Any] | None = None) -> None:
        """Evaluate ``messages`` and keep the state, so a later prompt that starts the same way costs only
        its tail. With ``schema``, up to where the model's own tokens of a reply under it would begin."""
        tokens = self._tokens(messages, generation_prompt=schema is not None)
        if schema is not None:
            try:
                opening = self.tokenize_text(JsonSkeleton(schema).opening())
            except ValueError:  # no fixed opening: the reply starts with the model's own tokens
                opening = []
            tokens = np.concatenate([tokens, np.asarray(opening, dtype=np.intc)])
        loop = asyncio.get_running_loop()
        done: asyncio.Future[None] = loop.create_future()

        def settle(error: BaseException | None) -> None:
            if not done.done():
                if error is None:
                    done.set_result(None)
                else:
                    done.set_exception(ModelError(f"llm prefill failed: {error}"))

        def end(error: BaseException | None) -> None:
            with contextlib.suppress(RuntimeError):  # the caller's loop is gone; nobody waits any more
                loop.call_soon_threadsafe(settle, error)

        self._sequences.submit(SequenceJob(tokens, None, background=True, on_end=end, cancelled=done.done))
        await done

    async def stream_json(
        self,
        messages: Sequence[ChatMessage],
        schema: dict[str, Any],
        max_tokens: int,
        prefix: str = "",
        count: TokenCount | None = None,
    ) -> AsyncGenerator[str, None]:
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[object] = asyncio.Queue()
        stop = threading.Event()
        tokens = self._tokens(messages, generation_prompt=True)
        if len(tokens) + max_tokens > self.context:
            raise ModelError(
                f"prompt of {len(tokens)} tokens plus {max_tokens} to generate exceeds the context of "
                f"{self.context}; raise models.llm_context or shorten the history"
            )
        count = count if count is not None else TokenCount()
        count.read += len(tokens)

        def put(item: object) -> None:
            try:
                loop.call_soon_threadsafe(queue.put_nowait, item)
            except RuntimeError:  # the caller's loop is gone; nobody is listening any more
                stop.set()

        def end(error: BaseException | None) -> None:
            if error is not None:  # handed to the awaiting caller, which decides what the caller hears
                put(error)
            put(_DONE)

        steps = self._generate(tokens, schema, max_tokens, prefix, put, stop, count)
        self._sequences.submit(SequenceJob(tokens, steps, background=False, on_end=end, cancelled=stop.is_set))
        try:
            while (item := await queue.get()) is not _DONE:
                if isinstance(item, Exception):
                    raise ModelError(f"llm generation failed: {item}") from item
                assert isinstance(item, str)
                yield item
        finally:
            stop.set()

    async def choose(
        self,
        messages: Sequence[ChatMessage],
        options: Sequence[str],
        prefix: str = "",
        count: TokenCount | None = None,
    ) -> dict[str, float]:
        # Each option is told apart by its first token after the prefix: one evaluation of the prompt, no sampling.
        tokens = self._tokens(messages, generation_prompt=True)
        head = self.tokenize_text(prefix) if prefix else []
        if count is not None:
            count.read += len(tokens) + len(head)
        firsts = []
        for option in options:
            whole = self.tokenize_text(prefix + option)
            if len(whole) <= len(head) or whole[: len(head)] != head:
                raise ModelError(
                    f"llm choose: the option {option!r} does not start a token of its own after the prefix"
                )
            firsts.append(whole[len(head)])
        if len(set(firsts)) != len(firsts):
            raise ModelError("llm choose: two options start with the same token; word them apart")
        loop = asyncio.get_running_loop()
        done: asyncio.Future[dict[str, float]] = loop.create_future()

        def settle(result: dict[str, float] | BaseException) -> None:
            if done.done():
                return
            if isinstance(result, BaseException):
                done.set_exception(ModelError(f"llm choose failed: {result}"))
            else:
                done.set_result(result)

        def steps() -> Steps:
            logits = yield head
            scores = logits[firsts].astype(np.float64)
            odds = np.exp(scores - scores.max())
            chosen = {o: float(p) for o, p in zip(options, odds / odds.sum(), strict=True)}
            with contextlib.suppress(RuntimeError):  # the caller's loop is gone; nobody waits any more
                loop.call_soon_threadsafe(settle, chosen)

        def end(error: BaseException | None) -> None:
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(settle, error or ModelError("ended before the options were scored"))

        self._sequences.submit(SequenceJob(tokens, steps(), background=False, on_end=end, cancelled=done.done))
        return await done

    def close(self) -> None:
        """Stop: work in progress ends at its next step (a prompt is evaluated in short steps for this), work
        not started is dropped; whoever waits for either gets a ModelError."""
        with self._model_lock:
            if self._closing:
                return
            self._closing = True
        self._sequences.close()
        with self._model_lock:
            self._ctx.close()  # type: ignore[no-untyped-call]
            self._llm.close()

    def _tokens(self, messages: Sequence[ChatMessage], generation_prompt: bool) -> npt.NDArray[np.intc]:
        self._format.add_generation_prompt = generation_prompt
        prompt = self._format(messages=[{"role": m.role, "content": m.content} for m in messages]).prompt  # type: ignore[misc]
        with self._model_lock:
            if self._closing:
                raise ModelError("models.llm: the model is closed (the appliance is stopping)")
            ids = self._llm.tokenize(prompt.encode("utf-8"), add_bos=False, special=True)
        return np.asarray(ids, dtype=np.intc)

    def _generate(
        self,
        tokens: npt.NDArray[np.intc],
        schema: dict[str, Any],
        max_tokens: int,
        prefix: str,
        put: Callable[[object], None],
        stop: threading.Event,
        count: TokenCount,
    ) -> Steps:
        """Yields the tokens to evaluate (first the fixed start of the reply, read with the prompt) and is sent
        the logits after them."""
        # Seeded by the prompt, so that the same turn gets the same reply however other calls' turns interleave.
        rng = np.random.default_rng([self._seed, zlib.crc32(tokens.tobytes())])
        # Property order matters: it is the order the grammar makes the model write them in.
        sampler = GrammarSampler(self._vocab, _gbnf(json.dumps(schema)), self._end_tokens, rng, _TEMPERATURE)
        written = JsonCloser(schema)

        def emit(text: str) -> None:
            written.feed(text)
            put(text)

        try:
            forcing = _Forcing(schema, self, sampler)
            opening = forcing.start(prefix)
            logits = yield opening.tokens
            count.written += len(opening.tokens)
            if opening.text:
                emit(opening.text)
            ran_out = yield from self._sample(sampler, forcing, logits, max_tokens, emit, stop, count)
            if ran_out and (closing := written.closing()):
                # Out of tokens in the middle of a value (a rambling reply): close it, so the plan still parses
                # and what was said so far is kept.
                log.warning("a reply reached its limit of %d tokens and was cut off there", max_tokens)
                put(closing)
        finally:
            sampler.close()

    def _sample(
        self,
        sampler: GrammarSampler,
        forcing: _Forcing,
        logits: Logits,
        max_tokens: int,
        emit: Callable[[str], None],
        stop: threading.Event,
        count: TokenCount,
    ) -> Generator[list[int], Logits, bool]:
        """Sample until the object is complete, the model ends, or ``stop``; True when ``max_tokens`` ran out."""
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        end = set(self._end_tokens)
        for _ in range(max_tokens):
            if stop.is_set() or self._closing:
                return False
            token = sampler.pick(logits, greedy=forcing.choosing_label)
            if token in end:
                return False
            sampler.accept(token)
            piece = decoder.decode(self._llm.detokenize([token]))
            if piece:
                emit(piece)
            forced = forcing.after(piece)
            if forced.text:
                emit(forced.text)
            count.written += 1 + len(forced.tokens)
            if forced.finished:
                return False
            logits = yield [token, *forced.tokens]
        return True

    def tokenize_text(self, text: str) -> list[int]:
        return list(self._llm.tokenize(text.encode("utf-8"), add_bos=False, special=False))

    def detokenize_text(self, tokens: list[int]) -> str:
        return self._llm.detokenize(tokens).decode("utf-8", errors="replace")

    def _token_text(self, which: str) -> str:
        token = self._llm.token_eos() if which == "eos" else self._llm.token_bos()
        text: str = self._llm.detokenize([token], special=True).decode("utf-8", errors="ignore")
        return text


class _Forced(NamedTuple):
    text: str
    tokens: list[int]
    finished: bool = False


class _Forcing:
    """Appends the skeleton of the JSON object around what the model writes (see ``JsonSkeleton``); gives up,
    leaving everything to the grammar, whenever the model's own tokens do not line up with it."""

    def __init__(self, schema: dict[str, Any], llm: LlamaCppLlm, sampler: GrammarSampler) -> None:
        self._llm = llm
        self._sampler = sampler
        try:
            self._skeleton: JsonSkeleton | None = JsonSkeleton(schema)
        except ValueError:
            self._skeleton = None
        self._index = 0
        self._scanner = ValueScanner(in_string=False)

    def start(self, prefix: str = "") -> _Forced:
        if prefix:
            # Text the caller has already decided: the grammar must take it whole; the model writes the rest.
            forced = self._force(prefix)
            if forced.text != prefix:
                raise ModelError(f"the schema's grammar does not allow a reply that starts {prefix!r}")
            self._skeleton = None
            return forced
        if self._skeleton is None:
            return _Forced("", [])
        forced = self._force(self._skeleton.opening())
        if self._skeleton is not None:
            self._scanner = ValueScanner(in_string=self._skeleton.string_valued[0])
        return forced

    @property
    def choosing_label(self) -> bool:
        """Whether the model is writing one of a fixed set of values (the intent): that is a classification,
        taken as the likeliest label; sampling it at the replies' temperature only made the same words give
        different intents from call to call."""
        return self._skeleton is not None and self._skeleton.enum_valued[self._index]

    def after(self, piece: str) -> _Forced:
        if self._skeleton is None:
            return _Forced("", [])
        done_at = self._scanner.feed(piece)
        if done_at is None:
            return _Forced("", [])
        if self._scanner.closed_object:
            return _Forced("", [], finished=True)
        leftover = piece[done_at:]
        # The model's own token may run on past the value into the separator, with or without a space.
        text = self._skeleton.after(self._index, self._scanner.closed_by_comma)
        if not text.startswith(leftover):
            text = self._skeleton.after(self._index, self._scanner.closed_by_comma, compact=True)
        last = self._index + 1 == len(self._skeleton.keys)
        if not text.startswith(leftover):
            self._skeleton = None
            return _Forced("", [])
        text = text[len(leftover) :]
        if last:
            # The object is complete once its closing brace is written: no need to ask the model for it.
            return _Forced(text, [], finished=True)
        forced = self._force(text)
        self._index += 1
        if self._skeleton is None:  # the grammar refused part of the skeleton: it decides from here on
            return forced
        self._scanner = ValueScanner(in_string=self._skeleton.string_valued[self._index])
        return forced

    def _force(self, text: str) -> _Forced:
        tokens = self._llm.tokenize_text(text)
        for i, token in enumerate(tokens):
            if not self._sampler.allows(token):
                # Keep what was accepted; the grammar takes over from here.
                accepted = tokens[:i]
                self._skeleton = None
                return _Forced(self._llm.detokenize_text(accepted), accepted)
            self._sampler.accept(token)
        return _Forced(text, tokens)


# llama-cpp-python's converter lets a string hold raw control characters (a newline, seen in the middle of a
# description), which no JSON parser accepts; llama.cpp's own converter excludes them, as this does.
_LOOSE_CHAR = r'char ::= [^"\\]'
_JSON_CHAR = r'char ::= [^"\\\x7F\x00-\x1F]'


@cache
def _gbnf(schema: str) -> str:
    gbnf: str = json_schema_to_gbnf(schema)
    if _LOOSE_CHAR not in gbnf:
        raise ModelError("llama-cpp-python's JSON grammar has changed; check the string rule")
    return gbnf.replace(_LOOSE_CHAR, _JSON_CHAR)
