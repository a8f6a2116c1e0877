"""Saved llama.cpp KV states keyed by the tokens they hold, found by longest common prefix.

llama-cpp-python's own RAM cache copies its whole logits buffer (hundreds of MB for a 150k vocabulary) with
every state; this one keeps only llama.cpp's state bytes and the token ids.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt


def common_prefix(a: npt.NDArray[np.intc], b: npt.NDArray[np.intc]) -> int:
    n = min(len(a), len(b))
    if n == 0:
        return 0
    differ = np.nonzero(a[:n] != b[:n])[0]
    return int(differ[0]) if differ.size else n


@dataclass(frozen=True, slots=True)
class SavedState:
    tokens: npt.NDArray[np.intc]
    data: bytes


class KvStateCache:
    def __init__(self, capacity_bytes: int) -> None:
        self._capacity = capacity_bytes
        self._states: OrderedDict[bytes, SavedState] = OrderedDict()
        self._size = 0

    def best(self, tokens: npt.NDArray[np.intc]) -> tuple[SavedState, int] | None:
        """The saved state sharing the longest prefix with ``tokens``, and that prefix's length."""
        best: tuple[SavedState, int] | None = None
        for key, state in self._states.items():
            shared = common_prefix(state.tokens, tokens)
            if shared and (best is None or shared > best[1]):
                best = (state, shared)
                best_key = key
        if best is not None:
            self._states.move_to_end(best_key)
        return best

    def put(self, tokens: npt.NDArray[np.intc], data: bytes) -> None:
        key = tokens.tobytes()
        old = self._states.pop(key, None)
        if old is not None:
            self._size -= len(old.data)
        self._states[key] = SavedState(tokens.copy(), data)
        self._size += len(data)
        while self._size > self._capacity and len(self._states) > 1:
            _, evicted = self._states.popitem(last=False)
            self._size -= len(evicted.data)
