"""Structured logs: key=value lines on stderr for a person, JSON lines in the data directory for tools.

Every line logged by a call carries its ``call_id`` and ``tenant`` (call stages log through a logger bound to
both). Standard-library loggers (the model runtimes, the web server) go through the same formatting.
"""

from __future__ import annotations

import logging
import logging.handlers
import sys
from pathlib import Path

import structlog

_SHARED: list[structlog.typing.Processor] = [
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_log_level,
    structlog.stdlib.add_logger_name,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
]


def configure(level: str = "info", log_dir: Path | None = None, console_level: str | None = None) -> None:
    """``level`` applies to the log file; the console shows ``console_level`` and above (default: ``level``)."""
    structlog.configure(
        processors=[*_SHARED, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
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
    stderr.setFormatter(_formatter(structlog.dev.ConsoleRenderer(colors=False, pad_event_to=0)))
    root.addHandler(stderr)
    if log_dir is not None:
        log_dir.mkdir(parents=True, exist_ok=True)
        file = logging.handlers.RotatingFileHandler(
            log_dir / "appliance.jsonl", maxBytes=20 << 20, backupCount=5, encoding="utf-8"
        )
        file.setFormatter(_formatter(structlog.processors.JSONRenderer()))
        root.addHandler(file)
    # Libraries that are chatty at INFO about things an operator cannot act on.
    for name in ("httpx", "httpcore", "faster_whisper", "sentence_transformers"):
        logging.getLogger(name).setLevel(logging.WARNING)


def _formatter(renderer: structlog.typing.Processor) -> structlog.stdlib.ProcessorFormatter:
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=_SHARED,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            renderer,
        ],
    )
