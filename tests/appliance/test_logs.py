"""The log keeps no caller's words or number unless ``logging.caller_words`` is on, and no file older than
``logging.keep_days``."""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import structlog

from appliance import logs
from appliance.settings import load_settings

SAID = "my name is Jane Citizen and my card is due"
NUMBER = "+61412345678"


@pytest.fixture
def log_dir(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path / "logs"
    logs.configure("info", None)  # back to what the other tests use


def _lines(log_dir: Path) -> str:
    for handler in logging.getLogger().handlers:
        handler.flush()
    return (log_dir / "appliance.jsonl").read_text(encoding="utf-8")


def _log_a_call() -> None:
    call = structlog.get_logger("call").bind(call_id="call_1", tenant="harbour")
    call.info("call started", channel="sip", caller=NUMBER, callee="+61299990000")
    call.info("caller said", text=SAID, stt_ms=120)
    call.info("assistant replied", turn=1, reply=f"Thanks Jane, I'll text {NUMBER}")
    logging.getLogger("core.notify.to_callers").warning("no text to the caller (caller ID %s): abroad", NUMBER)
    structlog.get_logger("sip").info("refused", caller=f"sip:{NUMBER}@carrier.example", code=486)


def test_by_default_the_log_keeps_lengths_not_words_or_numbers(log_dir: Path) -> None:
    logs.configure("info", log_dir)
    _log_a_call()
    text = _lines(log_dir)
    assert SAID not in text and "Jane" not in text
    assert NUMBER not in text and "412345678" not in text
    said = next(json.loads(line) for line in text.splitlines() if '"caller said"' in line)
    assert said["text"] == f"<{len(SAID)} chars>" and said["call_id"] == "call_1"
    started = next(json.loads(line) for line in text.splitlines() if '"call started"' in line)
    assert started["caller"] == "***678"  # enough for an operator to match a complaint, not to ring anyone
    assert started["callee"] == "+61299990000"  # the business's own number stays whole
    assert "caller ID ***678" in text and "sip:***678@carrier.example" in text


def test_the_debug_setting_keeps_them_and_says_so(log_dir: Path) -> None:
    settings = load_settings(None, {"APPLIANCE_LOGGING__CALLER_WORDS": "true", "APPLIANCE_DATA_DIR": "x"})
    assert settings.logging.caller_words and not load_settings(None, {}).logging.caller_words
    logs.configure("info", log_dir, caller_words=True)
    _log_a_call()
    text = _lines(log_dir)
    assert SAID in text and NUMBER in text
    assert "logging.caller_words is on" in text


def test_the_file_rotates_daily_and_old_files_are_deleted(log_dir: Path) -> None:
    log_dir.mkdir()
    stale, recent = log_dir / "appliance.jsonl.4", log_dir / "appliance.jsonl.1"
    for path, days in ((stale, 15), (recent, 2)):
        path.write_text("{}\n")
        when = time.time() - days * 86400
        os.utime(path, (when, when))
    current = log_dir / "appliance.jsonl"
    current.write_text('{"event": "yesterday"}\n')
    yesterday = time.time() - 86400
    os.utime(current, (yesterday, yesterday))

    logs.configure("info", log_dir, keep_days=14)
    assert not stale.exists() and recent.exists()  # pruned when the file opens
    logging.getLogger("appliance.test").info("today")
    # The line of yesterday went to a backup, not into today's file.
    assert '"yesterday"' not in _lines(log_dir) and '"today"' in _lines(log_dir)
    assert '"yesterday"' in (log_dir / "appliance.jsonl.1").read_text()


def test_keep_days_is_checked() -> None:
    from core.errors import SettingsError

    with pytest.raises(SettingsError, match=r"logging\.keep_days"):
        load_settings(None, {"APPLIANCE_LOGGING__KEEP_DAYS": "0"})
