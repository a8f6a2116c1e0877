"""Settings: one TOML file plus ``APPLIANCE_…`` environment overrides, validated once at start.

An override names a setting by its path with double underscores between sections, e.g.
``APPLIANCE_SERVER__PORT=9090`` or ``APPLIANCE_MODELS__LLM=qwen2.5-coder-1.5b``; ``APPLIANCE_DATA_DIR`` sets
the data directory and ``APPLIANCE_CONFIG`` names the settings file.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import msgspec

from core.calls.settings import CallSettings
from core.errors import SettingsError
from core.notify.config import NotificationSettings
from core.outbound.guard import AddressPolicy
from core.security.settings import SecuritySettings
from kb.settings import KbSettings, check_kb_settings
from models.config import ModelSettings
from sip.settings import SipSettings, sip_problems
from web.settings import WebSettings

ENV_PREFIX = "APPLIANCE_"
DEFAULT_SETTINGS_FILE = "appliance.toml"


class ServerSettings(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    host: str = "127.0.0.1"
    port: int = 8080


class DialogueSettings(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    tool_timeout_s: float = 5.0  # a tool that takes longer is abandoned and the caller hears a fallback
    filler_after_ms: int = 700  # a tool slower than this gets a short "one moment" first


class LoggingSettings(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    caller_words: bool = False  # keep what callers said and their numbers in the log (debugging only)
    keep_days: int = 14  # the log file rotates daily and at 20 MB; older files are deleted


class Settings(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    data_dir: str = "data"
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    logging: LoggingSettings = msgspec.field(default_factory=LoggingSettings)
    server: ServerSettings = msgspec.field(default_factory=ServerSettings)
    models: ModelSettings = msgspec.field(default_factory=ModelSettings)
    calls: CallSettings = msgspec.field(default_factory=CallSettings)
    security: SecuritySettings = msgspec.field(default_factory=SecuritySettings)
    web: WebSettings = msgspec.field(default_factory=WebSettings)
    dialogue: DialogueSettings = msgspec.field(default_factory=DialogueSettings)
    notifications: NotificationSettings = msgspec.field(default_factory=NotificationSettings)
    kb: KbSettings = msgspec.field(default_factory=KbSettings)
    sip: SipSettings = msgspec.field(default_factory=SipSettings)

    @property
    def data_path(self) -> Path:
        return Path(self.data_dir)

    @property
    def models_path(self) -> Path:
        return Path(self.models.dir) if self.models.dir else self.data_path / "models"

    @property
    def store_path(self) -> Path:
        return self.data_path / "appliance.duckdb"

    @property
    def run_path(self) -> Path:
        """Where a running server leaves its address and the CLI's token."""
        return self.data_path / "run"

    @property
    def log_path(self) -> Path:
        return self.data_path / "logs"

    @property
    def kb_path(self) -> Path:
        return self.data_path / "kb"

    @property
    def key_path(self) -> Path:
        return self.data_path / self.security.key_file

    @property
    def recordings_path(self) -> Path:
        return self.data_path / "recordings"


def load_settings(path: Path | None = None, env: Mapping[str, str] | None = None) -> Settings:
    """Read the settings file (if any), apply environment overrides and validate the result."""
    env = os.environ if env is None else env
    if path is None and env.get(ENV_PREFIX + "CONFIG"):
        path = Path(env[ENV_PREFIX + "CONFIG"])
    if path is None and Path(DEFAULT_SETTINGS_FILE).is_file():
        path = Path(DEFAULT_SETTINGS_FILE)

    raw: dict[str, Any] = {}
    if path is not None:
        raw = _read_toml(path)
    for key, value in env.items():
        if key.startswith(ENV_PREFIX) and key != ENV_PREFIX + "CONFIG":
            _set_path(raw, key[len(ENV_PREFIX) :].lower().split("__"), value, key)

    try:
        settings = msgspec.convert(raw, Settings, strict=False)
    except msgspec.ValidationError as exc:
        where = f"{path}" if path else "settings"
        raise SettingsError(f"{where}: {_describe(exc)}") from None
    if path is not None:
        settings = _resolve_relative_to(settings, path.parent)
    _check_ranges(settings)
    return settings


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SettingsError(f"settings file {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SettingsError(f"settings file {path} cannot be read: {exc}") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"settings file {path} is not valid TOML: {exc}") from None


def _set_path(raw: dict[str, Any], parts: list[str], value: str, env_key: str) -> None:
    node = raw
    for part in parts[:-1]:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise SettingsError(f"{env_key}: '{part}' is a value, not a section")
        node = child
    node[parts[-1]] = value


def _describe(exc: msgspec.ValidationError) -> str:
    # msgspec says "... - at `$.server.port`"; turn the JSON path into the TOML key a person edits.
    message = str(exc)
    if " - at `$." in message:
        text, _, where = message.partition(" - at `$.")
        return f"{where.rstrip('`')}: {text}"
    return message


def _resolve_relative_to(settings: Settings, base: Path) -> Settings:
    def resolve(value: str) -> str:
        return value if not value or Path(value).is_absolute() else str(base / value)

    models = settings.models
    return msgspec.structs.replace(
        settings,
        data_dir=resolve(settings.data_dir),
        models=msgspec.structs.replace(models, dir=resolve(models.dir)),
    )


def _check_ranges(settings: Settings) -> None:
    checks = [
        (1 <= settings.server.port <= 65535, "server.port must be between 1 and 65535"),
        (settings.models.threads >= 1, "models.threads must be at least 1"),
        (settings.logging.keep_days >= 1, "logging.keep_days must be at least 1"),
        (settings.models.llm_context >= 512, "models.llm_context must be at least 512"),
        (5 <= settings.models.stt_window_s <= 30, "models.stt_window_s must be 5 to 30"),
        (100 <= settings.calls.endpoint_silence_ms <= 3000, "calls.endpoint_silence_ms must be 100 to 3000"),
        (
            settings.calls.speculate_after_ms >= 50,
            "calls.speculate_after_ms must be at least 50 (set it above endpoint_silence_ms to turn it off)",
        ),
        (0.05 <= settings.calls.vad_threshold <= 0.95, "calls.vad_threshold must be 0.05 to 0.95"),
        (0.05 <= settings.calls.turn_threshold <= 0.95, "calls.turn_threshold must be 0.05 to 0.95"),
        (
            settings.calls.turn_pause_ms <= settings.calls.turn_fallback_ms <= 5000,
            "calls.turn_fallback_ms must be from turn_pause_ms to 5000",
        ),
        (settings.calls.turn_pause_ms >= 100, "calls.turn_pause_ms must be at least 100"),
        (settings.calls.max_reply_tokens >= 16, "calls.max_reply_tokens must be at least 16"),
        *((False, problem) for problem in check_kb_settings(settings.kb)),
        (1 <= settings.web.session_hours <= 24 * 30, "web.session_hours must be 1 to 720"),
        (settings.web.login_attempts >= 1, "web.login_attempts must be at least 1"),
        (settings.web.login_window_s >= 1, "web.login_window_s must be at least 1"),
    ]
    try:
        AddressPolicy(settings.kb.allow_hosts, "kb.allow_hosts")
        AddressPolicy(settings.notifications.allow_hosts, "notifications.allow_hosts")
    except ValueError as exc:
        checks.append((False, str(exc)))
    for ok, message in checks:
        if not ok:
            raise SettingsError(f"settings: {message}")
    problems = sip_problems(settings.sip)
    if problems:
        raise SettingsError("settings: " + "; ".join(problems))
