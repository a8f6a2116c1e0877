"""Getting audio out of pjsua2's frames quickly.

A frame's samples are a SWIG ``ByteVector`` (a C++ ``std::vector<unsigned char>``). ``bytes(vector)`` walks it
one element at a time through SWIG: about 0.5 ms per 20 ms frame here, which on the media clock thread, for every
frame of every call, is too much. The vector's storage is contiguous and the vector itself starts with its
begin and end pointers (libstdc++, which the wheel is built against), so the bytes can be copied in one go. The
layout is checked once against a vector of known contents; if it ever differs, the slow, safe copy is used.
"""

from __future__ import annotations

import ctypes
import logging
from collections.abc import Callable
from typing import Any

import pjsua2 as pj

log = logging.getLogger(__name__)

_POINTER = ctypes.sizeof(ctypes.c_void_p)


def _direct(vector: Any) -> bytes:
    address = int(vector.this)
    begin = ctypes.c_void_p.from_address(address).value or 0
    end = ctypes.c_void_p.from_address(address + _POINTER).value or 0
    return ctypes.string_at(begin, end - begin) if end > begin else b""


def _slow(vector: Any) -> bytes:
    return bytes(vector)


def _choose() -> Callable[[Any], bytes]:
    probe = bytes(range(256)) * 3
    try:
        if _direct(pj.ByteVector(probe)) == probe and _direct(pj.ByteVector(b"")) == b"":
            return _direct
    except (ValueError, TypeError, AttributeError, OSError):
        pass
    log.warning("pjsua2 frames are read the slow way: the vector layout is not the expected one")
    return _slow


read_bytes: Callable[[Any], bytes] = _choose()
"""The bytes of a ``pj.ByteVector``."""
