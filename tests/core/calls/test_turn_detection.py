"""When the caller's turn is over: the turn model (Smart Turn, real weights) asked at each pause, on phone audio.

A finished question ends the turn soon after the caller stops; a sentence left hanging ("I was wondering if,
um,") is waited for, where the silence window alone would have cut it; a read-out keeps its long window; a
judgement made void by more speech, a failing model and a business that turned it off all leave the turn to
the silence window, and nothing is lost."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import structlog

from appliance.runtime import Runtime
from core.audio import read_wav, to_float
from core.calls.bus import EventBus
from core.calls.listener import EndpointPolicy, Listener
from core.calls.turn_judge import TurnJudge
from core.errors import SettingsError
from core.events import AudioIn, Event, ListenFor, SpeechPaused, SpeechResumed, TurnJudged
from core.tenants.document import load_tenant_file
from models.interfaces import Float32, Pcm16, TurnDetector
from testkit.listening import Heard, listen
from testkit.sounds import piper_clip
from tests.conftest import settings_for

RATE = 16_000
FINISHED = "How much do you charge for a call-out?"
HANGING, REST = "I was wondering if, um,", "you could come out this week."
SILENCE_ONLY = EndpointPolicy(threshold=0.5, silence_s=0.5, min_speech_s=0.12, speculate_s=0.15)
POLICY = dataclasses.replace(SILENCE_ONLY, fallback_s=0.8, turn_pause_s=0.3)


class _Broken:
    """A turn model that fails, as a damaged model file or an onnxruntime error would."""

    sample_rate = RATE

    def complete(self, audio: Float32) -> float:
        raise RuntimeError("onnxruntime: invalid input")


async def _listen(
    runtime: Runtime, audio: Pcm16, policy: EndpointPolicy, turn: TurnDetector | None, before: Event | None = None
) -> Heard:
    return await listen(to_float(audio), policy, runtime.models.vad(), turn, before)


async def _speech(runtime: Runtime, sounds: Path, *texts: str, pause_s: float = 0.45) -> Pcm16:
    """The clips with ``pause_s`` between them; Piper's own silence at each end adds about 0.2 s to a pause."""
    silence = np.zeros(int(0.3 * RATE), np.int16)
    pieces: list[Pcm16] = [silence]
    for i, text in enumerate(texts):
        if i:
            pieces.append(np.zeros(int(pause_s * RATE), np.int16))
        pieces.append(read_wav(await piper_clip(runtime.models.tts(), text, sounds), RATE))
    pieces.append(np.zeros(int(2.0 * RATE), np.int16))
    return np.concatenate(pieces)


async def test_the_model_hears_a_finished_question_as_finished_and_a_hanging_clause_as_not(
    loaded: Runtime, sounds: Path
) -> None:
    turn = loaded.models.turn()
    finished = to_float(read_wav(await piper_clip(loaded.models.tts(), FINISHED, sounds), RATE))
    hanging = to_float(read_wav(await piper_clip(loaded.models.tts(), HANGING, sounds), RATE))
    assert turn.complete(finished) > 0.8
    assert turn.complete(hanging) < 0.2
    # Longer than the model's 8 s window: it hears the end, which is what decides.
    assert turn.complete(np.concatenate([hanging, np.zeros(10 * RATE, np.float32), finished])) > 0.8


async def test_a_finished_question_ends_the_turn_sooner_than_the_silence_window(loaded: Runtime, sounds: Path) -> None:
    audio = await _speech(loaded, sounds, FINISHED)
    seen = await _listen(loaded, audio, POLICY, loaded.models.turn())
    assert len(seen.ended) == 1
    end = seen.ended[0]
    assert [j.speech_end for j in seen.judged] == [end.speech_end]
    waited = end.endpoint_at - end.speech_end
    assert 0.3 <= waited < 0.45  # the turn model's pause, not the 0.5 s window nor the 0.8 s fallback

    silence_only = await _listen(loaded, audio, SILENCE_ONLY, None)
    assert silence_only.ended[0].endpoint_at - silence_only.ended[0].speech_end >= 0.5


async def test_a_hanging_clause_is_waited_for_where_the_silence_window_cuts_it(loaded: Runtime, sounds: Path) -> None:
    audio = await _speech(loaded, sounds, HANGING, REST, pause_s=0.45)
    seen = await _listen(loaded, audio, POLICY, loaded.models.turn())
    assert len(seen.ended) == 1, "the caller's turn was cut in their pause"
    assert seen.judged[0].probability < 0.5
    # The whole sentence in one utterance: it lasts past the pause into the rest.
    assert seen.ended[0].speech_end - seen.ended[0].speech_start > 2.0

    silence_only = await _listen(loaded, audio, SILENCE_ONLY, None)
    assert len(silence_only.ended) == 2


async def test_a_pause_longer_than_the_fallback_still_ends_the_turn(loaded: Runtime, sounds: Path) -> None:
    """A caller who trails off is not left in silence: the fallback ends the turn the model held open."""
    audio = await _speech(loaded, sounds, HANGING)
    seen = await _listen(loaded, audio, POLICY, loaded.models.turn())
    assert len(seen.ended) == 1
    waited = seen.ended[0].endpoint_at - seen.ended[0].speech_end
    assert 0.8 <= waited < 0.9


async def test_a_read_out_keeps_its_long_window_whatever_the_model_says(loaded: Runtime, sounds: Path) -> None:
    audio = await _speech(loaded, sounds, FINISHED)
    seen = await _listen(loaded, audio, POLICY, loaded.models.turn(), before=ListenFor("digits"))
    assert len(seen.ended) == 1
    assert seen.ended[0].endpoint_at - seen.ended[0].speech_end >= 0.5 + 0.9


async def test_a_failing_model_leaves_the_turn_to_the_fallback_and_says_so_once(
    loaded: Runtime,
    sounds: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    audio = await _speech(loaded, sounds, FINISHED, FINISHED, pause_s=1.2)
    seen = await _listen(loaded, audio, POLICY, _Broken())
    assert len(seen.ended) == 2  # both questions heard, each ended by the fallback
    for end in seen.ended:
        assert 0.8 <= end.endpoint_at - end.speech_end < 0.9
    assert caplog.text.count("turn model failed; the caller's turns end on silence alone") == 1


async def test_a_judgement_of_an_earlier_pause_ends_nothing(loaded: Runtime, sounds: Path) -> None:
    """The caller spoke again after the pause the model judged: its word about that pause is void."""
    log = structlog.get_logger("test")
    bus, seen, pauses = EventBus(log), Heard(), []
    bus.subscribe(Listener(loaded.models.vad(), POLICY, bus.publish, log))
    bus.subscribe(seen)

    class _Late:
        """Delivers a "finished" judgement of the first pause only once the caller has spoken again."""

        def handle(self, event: Event) -> None:
            if isinstance(event, SpeechPaused):
                pauses.append(event.speech_end)
            elif isinstance(event, SpeechResumed) and len(pauses) == 1:
                bus.publish(TurnJudged(pauses[0], 0.99, 0.04))

    bus.subscribe(_Late())
    samples = to_float(await _speech(loaded, sounds, HANGING, REST, pause_s=0.45))
    for start in range(0, samples.size, 320):
        bus.publish(AudioIn(audio=samples[start : start + 320], at=start / RATE))
    assert len(seen.ended) == 1 and len(pauses) >= 2
    # Ended by the fallback after the rest, not when the late judgement came.
    assert seen.ended[0].speech_end > pauses[0] + 0.6
    assert seen.ended[0].endpoint_at - seen.ended[0].speech_end >= 0.8


async def test_a_business_can_turn_the_model_off(loaded: Runtime, tmp_path: Path) -> None:
    tenant = load_tenant_file(Path("examples/tenants/example.toml"))
    tenant.assistant.turn_detection = False
    loaded.tenants.save(tenant, replace=True, actor="test")
    try:
        call = loaded.new_call(tenant.id, channel="test", caller=None, callee=None, rate=8000)
        assert call.listener.policy.fallback_s is None
        assert not any(isinstance(stage, TurnJudge) for stage in call.bus._stages)
        await call.end("test")
    finally:
        tenant.assistant.turn_detection = None
        loaded.tenants.save(tenant, replace=True, actor="test")
    on = loaded.new_call(tenant.id, channel="test", caller=None, callee=None, rate=8000)
    assert on.listener.policy.fallback_s == 0.8
    assert any(isinstance(stage, TurnJudge) for stage in on.bus._stages)
    await on.end("test")


def test_settings_refuse_a_fallback_shorter_than_the_pause(tmp_path: Path, models_dir: Path) -> None:
    shorter = {"APPLIANCE_CALLS__TURN_PAUSE_MS": "900", "APPLIANCE_CALLS__TURN_FALLBACK_MS": "800"}
    with pytest.raises(SettingsError, match=r"calls\.turn_fallback_ms must be from turn_pause_ms to 5000"):
        settings_for(tmp_path, models_dir, **shorter)
