"""A caller who reads out card details, through the real call loop: nothing after the transcript keeps them (the
stored turns and plans, the log, the recording), a number split over two turns is redacted in the earlier turn
too, and the caller hears that cards are not taken by phone."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import soundfile
from structlog.testing import capture_logs

from appliance.runtime import Runtime
from core.audio import read_wav
from core.calls.recording import CallRecording
from core.calls.simulate import CallerTurn, FileLine, simulate_call
from core.dialogue.lines import NO_CARDS
from core.security.cards import CARD
from testkit.sounds import piper_clip, with_silence

_DIGITS = re.compile(r"\d[\d ,.-]{6,}\d")  # seven or more digits in a row, however spaced


def _stored(runtime: Runtime, call_id: str) -> list[tuple[str | None, str | None]]:
    rows = runtime.store.rows("SELECT caller_text, plan FROM turns WHERE call_id = ? ORDER BY idx", [call_id])
    return [(r[0], r[1]) for r in rows]


async def test_a_card_read_out_is_refused_and_kept_nowhere(loaded: Runtime) -> None:
    session = loaded.new_call("example", channel="simulated", caller="test", callee=None, rate=8000)
    with capture_logs() as logs:
        result = await simulate_call(
            session,
            [
                CallerTurn(text="Hi, can I pay for last week's drain job over the phone?"),
                CallerTurn(text="Sure, my card number is 4111-1111-1111-1111, expiry 12/29 and the CVV is 123."),
            ],
            realtime=False,
        )
    said = result.turns[-1]
    assert said.caller == f"Sure, my card number is {CARD}, expiry [expiry] and the CVV is [security code]."
    assert said.reply.startswith(NO_CARDS), said.reply
    for caller, plan in _stored(loaded, result.call.id):
        assert not _DIGITS.search(caller or "") and "123" not in (caller or "") and "4111" not in (plan or "")
    assert not any("4111" in str(entry) or "12/29" in str(entry) for entry in logs)
    assert any(entry["event"].startswith("card details redacted") for entry in logs)


async def test_a_card_number_split_over_two_turns_is_redacted_in_both(loaded: Runtime) -> None:
    session = loaded.new_call("example", channel="simulated", caller="test", callee=None, rate=8000)
    result = await simulate_call(
        session,
        [CallerTurn(text="The card number is 4111 1111"), CallerTurn(text="1111 1111")],
        realtime=False,
    )
    stored = _stored(loaded, result.call.id)
    assert [caller for caller, _ in stored[1:]] == [f"The card number is {CARD}", CARD]
    assert not any("4111" in (plan or "") or "41111111" in (plan or "") for _, plan in stored)
    # The dialogue's history was corrected too: the next prompt never holds the first half.
    history = session.dialogue.conversation._history
    assert not any("4111" in message.content for message in history), history
    assert result.turns[-1].reply.startswith(NO_CARDS)


async def test_the_recording_keeps_silence_where_the_card_was_read_out(
    loaded: Runtime, sounds: Path, tmp_path: Path
) -> None:
    tts = loaded.models.tts()
    hello = with_silence(await piper_clip(tts, "Hello, I have a question.", sounds), sounds / "q.wav", 0.3, 0.2)
    card = await piper_clip(
        tts, "My card number is four one one one, one one one one, one one one one, one one one one.", sounds
    )
    card = with_silence(card, sounds / "card.wav", 0.3, 0.2)
    session = loaded.new_call("example", channel="simulated", caller="test", callee=None, rate=8000)
    line = FileLine(session, realtime=False)
    line.recording = CallRecording(tmp_path / "call.wav", 8000, session.log)
    await session.start()
    await line.listen()
    hello_at = session.audio_time
    await line.speak(read_wav(hello, 8000))
    card_at = session.audio_time
    await line.speak(read_wav(card, 8000))
    await session.end("test")
    await line.close()
    first, second = session.turns.turns[1:3]
    assert first.caller and "question" in first.caller.lower()
    assert second.caller is not None and CARD in second.caller and not _DIGITS.search(second.caller), second.caller
    wav, rate = soundfile.read(tmp_path / "call.wav", dtype="int16", always_2d=True)
    caller = np.abs(wav[:, 0].astype(np.int32))
    hello_s, card_s = (read_wav(clip, 8000).size / 8000 for clip in (hello, card))
    # The caller's side is where the test played it: the question is still heard, the card is silence throughout.
    assert caller[int(hello_at * rate) : int((hello_at + hello_s) * rate)].max() > 1000
    assert caller[int(card_at * rate) : int((card_at + card_s) * rate)].max() < 50  # the clip's own edges hold 1s
    assert caller[int((card_at + card_s) * rate) :].max() < 1000  # and the card's audio was not elsewhere
