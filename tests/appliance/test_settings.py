from pathlib import Path

import pytest

from appliance.settings import load_settings
from core.errors import SettingsError


def test_defaults_without_a_file() -> None:
    settings = load_settings(None, {})
    assert settings.server.port == 8080
    assert settings.models.llm == "qwen2.5-coder-0.5b"
    assert settings.models_path == Path("data") / "models"


def test_file_then_environment_overrides(tmp_path: Path) -> None:
    path = tmp_path / "appliance.toml"
    path.write_text('data_dir = "box"\n[server]\nport = 9000\n[models]\nllm = "qwen2.5-coder-1.5b"\n')
    settings = load_settings(path, {"APPLIANCE_SERVER__PORT": "9100", "APPLIANCE_CALLS__ENDPOINT_SILENCE_MS": "650"})
    assert settings.server.port == 9100
    assert settings.calls.endpoint_silence_ms == 650
    assert settings.models.llm == "qwen2.5-coder-1.5b"
    # Relative paths in a file are relative to the file.
    assert settings.data_path == tmp_path / "box"


def test_config_file_named_by_environment(tmp_path: Path) -> None:
    path = tmp_path / "other.toml"
    path.write_text("[server]\nport = 9200\n")
    assert load_settings(None, {"APPLIANCE_CONFIG": str(path)}).server.port == 9200


@pytest.mark.parametrize(
    ("text", "env", "message"),
    [
        ("[server\nport = 1", {}, "is not valid TOML"),
        ("[server]\nport = 'eighty'\n", {}, "server.port"),
        ("[server]\nprot = 80\n", {}, "prot"),
        ("", {"APPLIANCE_SERVER__PORT": "99999"}, "server.port must be between 1 and 65535"),
        ("", {"APPLIANCE_MODELS__DEVICE": "tpu"}, "models.device"),
        ("", {"APPLIANCE_CALLS__VAD_THRESHOLD": "2"}, "calls.vad_threshold"),
        ("[models]\nstt_window_s = 60\n", {}, "models.stt_window_s must be 5 to 30"),
        ("", {"APPLIANCE_MODELS__STT_WINDOW_S": "ten"}, "models.stt_window_s"),
        ("[kb]\nchange_settle_s = -1\n", {}, "kb.change_settle_s must be 0 to 60"),
        ("", {"APPLIANCE_CALLS__TURN_THRESHOLD": "1.5"}, "calls.turn_threshold must be 0.05 to 0.95"),
        ("", {"APPLIANCE_CALLS__TURN_PAUSE_MS": "50"}, "calls.turn_pause_ms must be at least 100"),
    ],
)
def test_invalid_settings_say_what_and_where(tmp_path: Path, text: str, env: dict[str, str], message: str) -> None:
    path = tmp_path / "appliance.toml"
    path.write_text(text)
    with pytest.raises(SettingsError, match=message.replace(".", r"\.")):
        load_settings(path, env)


def test_missing_file_is_a_settings_error(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="does not exist"):
        load_settings(tmp_path / "nope.toml", {})
