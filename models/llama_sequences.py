"""One llama.cpp context shared by every call: a sequence per job, decoded together in one batch per step.

Done one job after another, a caller whose turn arrives while another call's plan is being written waits for all
of it; interleaved, they still share one core's worth of decoding each. Decoded in one batch, four calls' next
tokens cost about twice one call's (the README has the figures), because the weights are read once per step for
all of them. So every job has its own sequence in a unified KV cache, and each step evaluates,
in one ``llama_decode``, the next token of every job that is writing and a chunk of the prompt of every job that
is reading one. A sequence left by a finished job keeps its tokens, so the next prompt that starts the same way
(the same tenant's opening, the same conversation's next turn) costs only its tail: its prefix is shared, not
copied. Background jobs (prefills, which only save time later) run when no other job is waiting.

Attention reads every cell up to the highest one in use, whichever sequence owns it: one call generated 22.7
tokens/s with 400 cells in use and 9.2 with 11,000 (ten tenants' openings kept). So idle sequences hold at most a
budget of cells; beyond it the least recently used is saved to RAM (``KvStateCache``) and its cells freed, and a
prompt that starts like a saved sequence has it copied back (milliseconds, against seconds to evaluate it).

A job is a generator: it yields the tokens to append to its sequence and is sent the logits of the last of them
(the first time, of its prompt's last token). A prefill has no generator: its prompt is all it evaluates.
"""

from __future__ import annotations

import ctypes
import itertools
import logging
import threading
from collections.abc import Callable, Generator
from dataclasses import dataclass, field

import llama_cpp
import numpy as np
import numpy.typing as npt

from models.errors import ModelError
from models.llama_state_cache import KvStateCache, SavedState, common_prefix

log = logging.getLogger(__name__)

Logits = npt.NDArray[np.float32]
Steps = Generator[list[int], Logits, None]

# Prompt tokens one job may evaluate per step: a long cold prompt then holds up the other jobs' next tokens for a
# few hundred milliseconds at a time, not seconds.
_PROMPT_CHUNK = 128
_BATCH = 512
_FULL = "the LLM's context is full with the calls in progress; raise models.llm_context"


@dataclass(eq=False)
class SequenceJob:
    prompt: npt.NDArray[np.intc]
    steps: Steps | None  # None: a prefill
    background: bool
    # Called once, on the decoding thread, with None or what ended the job.
    on_end: Callable[[BaseException | None], None]
    # Whether nobody waits for the job any more (a reply the caller talked over).
    cancelled: Callable[[], bool]
    seq: _Sequence | None = None
    pending: list[int] = field(default_factory=list)
    writing: bool = False  # its prompt is read: each step now generates a token
    admitted: int = 0  # when it got its sequence: the newest gives way when the calls in progress fill the cache


@dataclass(eq=False)
class _Sequence:
    id: int
    tokens: npt.NDArray[np.intc] = field(default_factory=lambda: np.zeros(0, dtype=np.intc))
    job: SequenceJob | None = None
    used: int = 0  # when it last served a job, for evicting the least recently used
    saved: bool = False  # its tokens are in the RAM cache as they are


class LlamaSequences:
    def __init__(
        self,
        ctx: llama_cpp.llama_context_p,
        n_vocab: int,
        sequences: int,
        before_step: Callable[[], None],
        states: KvStateCache,
        idle_cells: int,
    ) -> None:
        """``ctx`` must have a unified KV cache for ``sequences`` sequences. ``before_step`` runs before every
        step that generates (the pause for latency-critical work on the same cores). Idle sequences keep at most
        ``idle_cells`` cells beyond those of the jobs in progress; the rest go to ``states``."""
        self._ctx = ctx
        self._states = states
        self._idle_cells = idle_cells
        self._memory = llama_cpp.llama_get_memory(ctx)
        self._n_vocab = n_vocab
        self._before_step = before_step
        self._sequences = [_Sequence(i) for i in range(sequences)]
        self._batch = llama_cpp.llama_batch_init(_BATCH, 0, 1)
        self._jobs: list[SequenceJob] = []
        self._clock = 0
        self._admissions = 0
        self._changed = False  # a sequence was taken or left since the idle ones were last trimmed
        self._closing = False
        self._wake = threading.Condition()
        self._thread = threading.Thread(target=self._run, name="llm", daemon=True)
        self._thread.start()

    def submit(self, job: SequenceJob) -> None:
        with self._wake:
            if self._closing:
                raise ModelError("models.llm: the model is closed (the appliance is stopping)")
            self._jobs.append(job)
            self._wake.notify()

    def close(self) -> None:
        """Stop after the step in progress; every unfinished job ends with a ModelError."""
        with self._wake:
            self._closing = True
            self._wake.notify()
        self._thread.join()
        llama_cpp.llama_batch_free(self._batch)

    # ----- the decoding thread

    def _run(self) -> None:
        while (jobs := self._runnable()) is not None:
            try:
                self._step(jobs)
            except Exception as exc:  # llama.cpp failed, or a bug: the jobs of the step end, the thread goes on
                if isinstance(exc, ModelError):
                    log.error("an LLM step failed, ending its %d jobs: %s", len(jobs), exc)
                else:
                    log.exception("an LLM step failed, ending its %d jobs", len(jobs))
                for job in jobs:
                    self._finish(job, exc)
        with self._wake:
            left, self._jobs = self._jobs, []
        for job in left:
            self._end(job, ModelError("the LLM is shutting down"))

    def _runnable(self) -> list[SequenceJob] | None:
        """The jobs of the next step (None when closing): every waiting job that has or gets a sequence, but
        background ones only when nothing else waits. The sequences are only touched outside the lock: saving
        or copying one back takes milliseconds, and ``submit`` is called from the calls' event loop."""
        while True:
            with self._wake:
                while not self._closing and not self._jobs:
                    self._wake.wait()
                if self._closing:
                    return None
                cancelled = [j for j in self._jobs if j.cancelled()]
                for job in cancelled:
                    self._jobs.remove(job)
                jobs = list(self._jobs)
            for job in cancelled:
                self._release(job)
                self._end(job, None)
            foreground = [j for j in jobs if not j.background]
            wanted = foreground or jobs
            for job in wanted:
                if job.seq is None:
                    self._admit(job)
            if any(j.seq is None for j in wanted):
                # Every sequence is taken: prefills give theirs up (what they read stays, as a cached prefix).
                for job in jobs:
                    if job.background and job.seq is not None and job not in wanted:
                        self._finish(job, None)
            self._trim()
            ready = [j for j in wanted if j.seq is not None]
            if ready:
                return ready

    def _admit(self, job: SequenceJob) -> None:
        """Give ``job`` a free sequence holding as much of its prompt as any sequence or saved state has, or
        leave it waiting."""
        free = [s for s in self._sequences if s.job is None]
        if not free:
            return
        prompt = job.prompt
        if len(prompt) == 0:
            self._finish(job, ModelError("an empty prompt"))
            return
        # At least the prompt's last token is evaluated, so its logits are fresh.
        limit = len(prompt) - 1
        source = max(self._sequences, key=lambda s: common_prefix(s.tokens, prompt))
        shared = min(common_prefix(source.tokens, prompt), limit)
        # A free sequence holding nothing but the start of this prompt (the conversation's previous turn, or its
        # prefill) is taken over; otherwise one that is empty or the least recently used, after saving it.
        whole = [s for s in free if common_prefix(s.tokens, prompt) == len(s.tokens)]
        if whole:
            seq = max(whole, key=lambda s: len(s.tokens))
            kept = min(len(seq.tokens), limit)
        else:
            seq = min(free, key=lambda s: (len(s.tokens) > 0, s.used))
            self._save(seq)
            kept = shared if seq is source else 0
        saved = self._states.best(prompt)
        if saved is not None and min(saved[1], limit) > max(kept, shared) and self._restore(seq, saved[0]):
            kept = min(saved[1], limit)
        elif shared > kept and seq is not source:
            llama_cpp.llama_memory_seq_rm(self._memory, seq.id, -1, -1)
            llama_cpp.llama_memory_seq_cp(self._memory, source.id, seq.id, 0, shared)
            kept = shared
        llama_cpp.llama_memory_seq_rm(self._memory, seq.id, kept, -1)
        seq.tokens, seq.saved = prompt[:kept].copy(), False
        seq.job, job.seq = job, seq
        self._admissions += 1
        job.admitted = self._admissions
        self._changed = True
        log.debug("evaluating %d of %d prompt tokens (the rest is cached)", len(prompt) - kept, len(prompt))
        job.pending = prompt[kept:].tolist()
        if job.steps is not None:
            try:
                job.pending += next(job.steps)  # the fixed start of the reply, read with the prompt
            except Exception as exc:  # e.g. a reply prefix the grammar refuses: this job alone ends
                self._finish(job, exc)

    def _trim(self) -> None:
        """Save and free the least recently used idle sequences while idle ones keep more than the budget."""
        if not self._changed:
            return
        self._changed = False
        busy = [s for s in self._sequences if s.job is not None]
        idle = sorted((s for s in self._sequences if s.job is None and len(s.tokens)), key=lambda s: s.used)
        while idle and _cells([*busy, *idle]) - _cells(busy) > self._idle_cells:
            self._evict(idle.pop(0))

    def _evict(self, seq: _Sequence) -> None:
        self._save(seq)
        self._forget(seq)

    def _forget(self, seq: _Sequence) -> None:
        llama_cpp.llama_memory_seq_rm(self._memory, seq.id, -1, -1)
        seq.tokens, seq.saved = seq.tokens[:0], False

    def _save(self, seq: _Sequence) -> None:
        if seq.saved or not len(seq.tokens):
            return
        size = llama_cpp.llama_state_seq_get_size(self._ctx, seq.id)
        buffer = (ctypes.c_uint8 * size)()
        written = llama_cpp.llama_state_seq_get_data(self._ctx, buffer, size, seq.id)
        self._states.put(seq.tokens, ctypes.string_at(buffer, written))
        seq.saved = True

    def _restore(self, seq: _Sequence, state: SavedState) -> bool:
        llama_cpp.llama_memory_seq_rm(self._memory, seq.id, -1, -1)
        buffer = (ctypes.c_uint8 * len(state.data)).from_buffer_copy(state.data)
        if llama_cpp.llama_state_seq_set_data(self._ctx, buffer, len(state.data), seq.id) == 0:
            log.warning("a saved LLM state could not be copied back (no room in the KV cache); evaluating instead")
            llama_cpp.llama_memory_seq_rm(self._memory, seq.id, -1, -1)
            return False
        return True

    def _step(self, jobs: list[SequenceJob]) -> None:
        if any(j.writing for j in jobs):
            self._before_step()
        taken: list[tuple[SequenceJob, int, int]] = []  # job, tokens taken, batch index of its last one
        room = _BATCH
        self._batch.n_tokens = 0
        for job in jobs:
            count = min(len(job.pending), _PROMPT_CHUNK, room)
            if count == 0:
                continue
            assert job.seq is not None
            base = self._batch.n_tokens
            for i, token in enumerate(job.pending[:count]):
                self._put(base + i, token, len(job.seq.tokens) + i, job.seq.id, count == len(job.pending))
            self._batch.n_tokens = base + count
            taken.append((job, count, base + count - 1))
            room -= count
        if not self._decode():
            # Even with every idle sequence freed the jobs do not fit: the newest ends, the others go on.
            victim = max((job for job, _, _ in taken), key=lambda j: j.admitted)
            assert victim.seq is not None
            log.error("the LLM's KV cache is full with %d jobs in progress; the newest ends", len(taken))
            self._forget(victim.seq)
            self._finish(victim, ModelError(_FULL))
            return
        self._clock += 1
        for job, count, last in taken:
            assert job.seq is not None
            job.seq.tokens = np.concatenate([job.seq.tokens, np.asarray(job.pending[:count], dtype=np.intc)])
            job.seq.used = self._clock
            del job.pending[:count]
            if job.pending:
                continue
            if job.steps is None:
                self._finish(job, None)
                continue
            logits = np.ctypeslib.as_array(llama_cpp.llama_get_logits_ith(self._ctx, last), shape=(self._n_vocab,))
            job.writing = True
            try:
                job.pending = list(job.steps.send(logits.copy()))
            except StopIteration:
                self._finish(job, None)
            except Exception as exc:  # handed to whoever waits for the job, which decides what the caller hears
                self._finish(job, exc)
            else:
                if not job.pending:
                    self._finish(job, ModelError("an LLM job asked for nothing to be evaluated"))

    def _put(self, i: int, token: int, pos: int, seq: int, logits: bool) -> None:
        batch = self._batch
        batch.token[i] = token
        batch.pos[i] = pos
        batch.n_seq_id[i] = 1
        batch.seq_id[i][0] = seq
        batch.logits[i] = logits

    def _decode(self) -> bool:
        """Evaluate the batch; False when it does not fit in the KV cache beside the jobs in progress."""
        while (rc := llama_cpp.llama_decode(self._ctx, self._batch)) == 1:
            # No room in the KV cache: save and free what idle sequences keep, least recently used first.
            idle = [s for s in self._sequences if s.job is None and len(s.tokens)]
            if not idle:
                return False
            self._evict(min(idle, key=lambda s: s.used))
        if rc != 0:
            raise ModelError(f"llama_decode failed ({rc})")
        return True

    def _finish(self, job: SequenceJob, error: BaseException | None) -> None:
        with self._wake:
            if job in self._jobs:
                self._jobs.remove(job)
        self._release(job)
        self._end(job, error)

    def _release(self, job: SequenceJob) -> None:
        if job.seq is not None:
            job.seq.job = None
            job.seq = None
            self._changed = True

    @staticmethod
    def _end(job: SequenceJob, error: BaseException | None) -> None:
        if job.steps is not None:
            job.steps.close()
        try:
            job.on_end(error)
        except Exception:  # a waiter's callback failing must not stop the context for every other call
            log.exception("an LLM job's end callback failed")


def _cells(sequences: list[_Sequence]) -> int:
    """The KV cells ``sequences`` use, counting a prefix they share once (it is shared: see ``_admit``)."""
    ordered = sorted((s.tokens for s in sequences), key=lambda t: t.tolist())
    return sum(len(t) for t in ordered) - sum(common_prefix(a, b) for a, b in itertools.pairwise(ordered))
