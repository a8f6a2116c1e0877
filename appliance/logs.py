"""Structured logs: key=value lines on stderr for a person, JSON lines in the data directory for tools.

Every line logged by a call carries its ``call_id`` and ``tenant`` (call stages log through a logger bound to
both). Standard-library loggers (the model runtimes, the web server) go through the same formatting.

What callers said and their numbers stay out of the lines unless ``logging.caller_words`` is on (a debugging
aid, off by default): one processor, ``hide_callers``, replaces the words with their length and a number with
its last three digits (``***678``), whoever logged them. The file rotates at 20 MB and every day, and nothing older than
``logging.keep_days`` is kept.
"""

from __future__ import annotations

import logging
import logging.handlers
import re
import sys
import time
from collections.abc import MutableMapping
from pathlib import Path
from typing import Any

import structlog

# Keys whose values are what a caller (or the assistant, repeating them) said, wherever they are logged.
_WORDS = frozenset({"text", "reply", "said"})
# The business's own numbers, which callers ring (``dialled``: the number a SIP request was for), and where staff
# or a transfer would send a call (``target``): kept whole, an operator needs them to act.
_OURS = frozenset({"callee", "did", "to", "dialled", "target"})
# A phone number as carriers, SIP URIs and our stores write it: 8-15 digits, standing alone.
_NUMBER = re.compile(r"(?<![\w.])\+?\d{5,12}(\d{3})(?![\w])")

_SHARED: list[structlog.typing.Processor] = [
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_log_level,
    structlog.stdlib.add_logger_name,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
]


def hide_callers(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """A caller's words become their length, and any phone number in a line its last three digits."""
    for key, value in event.items():
        if not isinstance(value, str) or key in _OURS:
            continue
        event[key] = f"<{len(value)} chars>" if key in _WORDS else _NUMBER.sub(_masked, value)
    return event


def _masked(match: re.Match[str]) -> str:
    return f"***{match.group(1)}"


class AgeAndSizeRotatingHandler(logging.handlers.RotatingFileHandler):
    """Rotates at ``max_bytes`` and when the file was begun on an earlier day (UTC); backups older than
    ``keep_days`` are deleted at each rotation and when the handler opens."""

    def __init__(self, path: Path, *, max_bytes: int, backups: int, keep_days: int) -> None:
        super().__init__(path, maxBytes=max_bytes, backupCount=backups, encoding="utf-8")
        self._path = path
        self._keep_s = keep_days * 86400
        self._day = _day_of(path.stat().st_mtime) if path.exists() and path.stat().st_size else _today()
        self.prune()

    def shouldRollover(self, record: logging.LogRecord) -> int:
        if _today() != self._day:
            return 1
        return super().shouldRollover(record)

    def doRollover(self) -> None:
        super().doRollover()
        self._day = _today()
        self.prune()

    def prune(self) -> int:
        """Delete the backups last written more than ``keep_days`` ago; returns how many."""
        cutoff = time.time() - self._keep_s
        gone = 0
        for old in self._path.parent.glob(self._path.name + ".*"):
            try:
                if old.stat().st_mtime < cutoff:
                    old.unlink()
                    gone += 1
            except FileNotFoundError:
                continue
        return gone


def _today() -> str:
    return time.strftime("%Y-%m-%d", time.gmtime())


def _day_of(mtime: float) -> str:
    return time.strftime("%Y-%m-%d", time.gmtime(mtime))


def configure(
    level: str = "info",
    log_dir: Path | None = None,
    console_level: str | None = None,
    *,
    caller_words: bool = False,
    keep_days: int = 14,
) -> None:
    """``level`` applies to the log file; the console shows ``console_level`` and above (default: ``level``).
    ``caller_words``: keep what callers said and their numbers in the lines (debugging only)."""
    chain = _SHARED if caller_words else [*_SHARED, hide_callers]
    structlog.configure(
        processors=[*chain, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    root.setLevel(level.upper())
    stderr = logging.StreamHandler(sys.stderr)
    stderr.setLevel((console_level or level).upper())
    stderr.setFormatter(_formatter(chain, structlog.dev.ConsoleRenderer(colors=False, pad_event_to=0)))
    root.addHandler(stderr)
    if log_dir is not None:
        log_dir.mkdir(parents=True, exist_ok=True)
        file = AgeAndSizeRotatingHandler(
            log_dir / "appliance.jsonl", max_bytes=20 << 20, backups=5, keep_days=keep_days
        )
        file.setFormatter(_formatter(chain, structlog.processors.JSONRenderer()))
        root.addHandler(file)
    # Libraries that are chatty at INFO about things an operator cannot act on.
    for name in ("httpx", "httpcore", "faster_whisper", "sentence_transformers"):
        logging.getLogger(name).setLevel(logging.WARNING)
    if caller_words:
        logging.getLogger("appliance.logs").warning(
            "logging.caller_words is on: the log keeps what callers say and their numbers for %d days; "
            "turn it off (APPLIANCE_LOGGING__CALLER_WORDS=false) when you are done debugging",
            keep_days,
        )


def _formatter(
    chain: list[structlog.typing.Processor], renderer: structlog.typing.Processor
) -> structlog.stdlib.ProcessorFormatter:
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=chain,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            renderer,
        ],
    )
