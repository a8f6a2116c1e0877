"""The SIP parts that need no peer: numbers, backoff, registration state, settings, levels, the media hand-over."""

from __future__ import annotations

import asyncio
import os
import random
import subprocess
import sys
import tomllib
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pjsua2 as pj
import pytest
import soundfile
import structlog

from appliance.runtime import Runtime
from appliance.settings import load_settings
from core.calls.line import Line
from core.calls.playout import Playout
from core.calls.recording import CallRecording
from core.errors import InputError, SettingsError
from core.tenants.document import parse_tenant
from core.tenants.routing import is_open, route, variants
from sip.admission import Admission
from sip.bridge import MediaBridge
from sip.dialplan import dialled_numbers, transfer_uri, user_of
from sip.events import Offered
from sip.frames import read_bytes
from sip.levels import Declicker, LevelNormaliser
from sip.media import MediaQueues
from sip.pjobjects import MediaPort
from sip.registration import Backoff, TrunkRegistration
from sip.settings import TrunkSettings
from tests.sip.tenants import BERLIN_DID, TORONTO_DID, UNOWNED_DID, VET, VET_AFTER_HOURS


def test_user_of_reads_sip_tel_and_name_addr_forms() -> None:
    assert user_of("sip:+61395550142@10.0.0.1:5060;user=phone") == "+61395550142"
    assert user_of('"Front Desk" <sip:2001@pbx.example>;tag=abc') == "2001"
    assert user_of("<tel:+4930123456;phone-context=example>") == "+4930123456"
    assert user_of("sip:%2B442071234567@carrier.example") == "+442071234567"
    assert user_of("sip:carrier.example") == "carrier.example" or user_of("sip:carrier.example") == ""
    assert user_of("garbage") == ""


def test_dialled_numbers_prefer_the_request_uri_and_try_both_plus_forms() -> None:
    found = dialled_numbers("sip:61395550142@box;ob", '"x" <sip:+4930555@carrier>')
    assert found == ["61395550142", "+61395550142", "+4930555", "4930555"]
    assert dialled_numbers("sip:box-17@10.0.0.2;ob", "<sip:+14165550123@carrier>") == [
        "+14165550123",
        "14165550123",
    ]
    assert dialled_numbers("sip:alice@host", "<sip:bob@host>") == []


def test_transfer_targets_become_uris_at_the_trunk_domain() -> None:
    assert transfer_uri("+1 (416) 555-0100", "sip.carrier.example") == "sip:+14165550100@sip.carrier.example"
    assert transfer_uri("sip:desk@pbx.local", "ignored") == "sip:desk@pbx.local"


def test_backoff_doubles_up_to_its_ceiling_and_resets() -> None:
    backoff = Backoff(2.0, 30.0, random.Random(1))
    delays = [backoff.next() for _ in range(6)]
    for delay, nominal in zip(delays, [2, 4, 8, 16, 30, 30], strict=True):
        assert nominal * 0.9 <= delay <= nominal * 1.1
    backoff.reset()
    assert backoff.next() <= 2.2


def test_registration_state_follows_the_registrars_answers() -> None:
    trunk = TrunkSettings(name="main", registrar="sip.carrier.example", username="box")
    reg = TrunkRegistration(trunk, Backoff(1.0, 60.0, random.Random(2)))
    assert reg.status(0).state == "registering"
    delay = reg.result(403, "Forbidden", 0, now=100.0)
    assert delay is not None and 0.9 <= delay <= 1.1
    status = reg.status(100.0)
    assert status.state == "failing" and status.code == 403 and status.failures == 1
    assert status.hint and "password" in status.hint and status.next_retry_s == pytest.approx(delay, abs=0.1)
    second = reg.result(503, "Service Unavailable", 0, now=102.0)
    assert second is not None and second > delay
    assert reg.result(200, "OK", 300, now=110.0) is None
    status = reg.status(110.0)
    assert status.state == "registered" and status.failures == 0 and status.last_success and status.hint is None
    assert reg.result(200, "OK", 0, now=120.0) is None
    assert reg.status(120.0).state == "unregistered"


def _settings(tmp_path: Path, text: str) -> None:
    path = tmp_path / "appliance.toml"
    path.write_text(text)
    load_settings(path, {})


def test_sip_settings_are_validated_with_the_key_named(tmp_path: Path) -> None:
    good = '[sip]\nmax_calls = 3\n[[sip.trunks]]\nname = "main"\nregistrar = "sip.carrier.example:5080"\n'
    good += 'username = "box"\n'
    _settings(tmp_path, good)
    with pytest.raises(SettingsError, match=r"sip\.codecs: OPUS"):
        _settings(tmp_path, '[sip]\ncodecs = ["OPUS"]\n')
    with pytest.raises(SettingsError, match=r"sip\.trunks\[0\]\.registrar"):
        _settings(tmp_path, '[[sip.trunks]]\nname = "a"\nregistrar = "not a host!"\nusername = "box"\n')
    with pytest.raises(SettingsError, match="same name"):
        _settings(tmp_path, good + '[[sip.trunks]]\nname = "main"\nregistrar = "x.example"\nusername = "b"\n')
    with pytest.raises(SettingsError, match=r"sip\.max_calls"):
        _settings(tmp_path, "[sip]\nmax_calls = 0\n")
    with pytest.raises(SettingsError, match="4 call slots"):
        _settings(tmp_path, "[sip]\nmax_calls = 8\n")
    with pytest.raises(SettingsError, match="transport"):
        _settings(tmp_path, '[[sip.trunks]]\nname = "a"\nregistrar = "x.example"\nusername = "b"\ntransport = "tls"\n')


def test_trunk_uris() -> None:
    trunk = TrunkSettings(name="t", registrar="sip:sip.carrier.example:5080", username="box", transport="tcp")
    assert trunk.registrar_uri == "sip:sip.carrier.example:5080;transport=tcp"
    assert trunk.account_uri == "sip:box@sip.carrier.example:5080"


def test_tenant_telephony_is_validated() -> None:
    raw = tomllib.loads(VET)
    raw["telephony"]["silence_timeout_seconds"] = 2
    raw["telephony"]["max_call_minutes"] = 500
    with pytest.raises(InputError) as failure:
        parse_tenant(raw)
    assert "telephony.silence_timeout_seconds" in str(failure.value)
    assert "telephony.max_call_minutes" in str(failure.value)
    raw = tomllib.loads(VET)
    raw["telephony"]["when_busy"] = "hang up"
    with pytest.raises(InputError, match=r"telephony\.when_busy"):
        parse_tenant(raw)


def test_business_hours_pick_the_greeting_and_the_transfer() -> None:
    vet = parse_tenant(tomllib.loads(VET))  # Toronto: Monday 08:00-18:00, closed Sunday
    monday_10am = datetime(2025, 3, 3, 15, 0, tzinfo=UTC)  # 10:00 in Toronto (EST)
    monday_7pm = datetime(2025, 3, 4, 0, 0, tzinfo=UTC)  # 19:00 in Toronto
    assert is_open(vet, monday_10am) and not is_open(vet, monday_7pm)
    assert not is_open(vet, datetime(2025, 3, 2, 17, 0, tzinfo=UTC))  # Sunday noon
    day = route(vet, monday_10am)
    assert not day.after_hours and day.tenant == vet
    night = route(vet, monday_7pm.replace(tzinfo=None))  # naive means UTC
    assert night.after_hours and night.tenant.greeting() == VET_AFTER_HOURS
    assert night.tenant.transfer.number == vet.transfer.number  # no after-hours transfer set: same desk
    off = parse_tenant(tomllib.loads(VET.replace("[telephony]", '[telephony]\nafter_hours_transfer = "off"')))
    assert route(off, monday_7pm).tenant.transfer.number == ""
    assert len(variants(vet)) == 2
    always = parse_tenant({k: v for k, v in tomllib.loads(VET).items() if k != "hours"})
    assert not route(always, monday_7pm).after_hours and variants(always) == [always]


def test_levels_bring_speech_to_the_line_level_and_leave_noise_alone() -> None:
    rng = np.random.default_rng(3)
    level = LevelNormaliser(target_dbfs=-20.0, max_gain_db=12.0)
    quiet = (np.sin(np.arange(160 * 200) * 0.2) * 1000).astype(np.int16)  # about -33 dBFS
    out = np.concatenate([level(quiet[i : i + 160]) for i in range(0, quiet.size, 160)])
    rms_end = np.sqrt(np.mean(out[-1600:].astype(np.float64) ** 2))
    assert 2000 < rms_end < 4200  # lifted by about 10-12 dB, toward -20 dBFS (3277)
    hiss = rng.normal(0, 40, 160 * 50).astype(np.int16)  # -58 dBFS: below the gate
    noise = LevelNormaliser()
    quiet_out = np.concatenate([noise(hiss[i : i + 160]) for i in range(0, hiss.size, 160)])
    assert np.abs(quiet_out.astype(np.int32) - hiss).max() <= 1
    loud = np.full(160, 32000, dtype=np.int16)
    limited = LevelNormaliser()
    for _ in range(5):
        peak = int(np.abs(limited(loud)).max())
    assert peak <= int(32768 * 10 ** (-1 / 20)) + 1


def test_declicker_ramps_jumps_and_fades_out() -> None:
    declick = Declicker(8000)
    first = declick(np.full(160, 8000, dtype=np.int16))
    assert first[0] == 0 and first[-1] == 8000 and np.all(np.diff(first[:32].astype(int)) >= 0)
    fade = declick.fade_out(160)
    assert fade[0] == 8000 and fade[40] == 0 and np.all(np.diff(fade[:32].astype(int)) <= 0)
    steady = declick(np.full(160, 8100, dtype=np.int16))
    assert steady[0] == 8100  # a small step is not a click


def test_frames_are_read_whole_and_fast() -> None:
    data = bytes(np.random.default_rng(4).integers(0, 256, 320, dtype=np.uint8))
    assert read_bytes(pj.ByteVector(data)) == data
    assert read_bytes(pj.ByteVector(b"")) == b""


def test_the_bridge_keeps_a_lead_and_covers_a_late_loop_without_a_click() -> None:
    queues = MediaQueues(8000)
    playout = Playout(8000)
    fed: list[np.ndarray] = []
    bridge = MediaBridge(queues, Line(playout, fed.append))
    port = MediaPort(queues)  # its callbacks are what pjsua2's media clock would call
    frame = pj.MediaFrame()
    tone = (np.sin(np.arange(8000) * 0.3) * 8000).astype(np.int16)
    playout.write(tone)
    for _ in range(3):
        port.onFrameReceived(_frame(np.full(160, 1000, dtype=np.int16)))
    bridge.tick()
    assert len(fed) == 3 and len(queues.outbox) == 3 and not bridge.line.drained
    played = []
    for _ in range(5):  # the loop is late: the clock thread takes more frames than were queued
        port.onFrameRequested(frame)
        played.append(np.frombuffer(read_bytes(frame.buf), dtype=np.int16))
    assert queues.underruns == 2
    # The first missing frame fades from the last sample sent instead of jumping to silence; then silence.
    last = int(played[2][-1])
    assert abs(last) > 1000 and int(played[3][0]) == last and not played[3][40:].any()
    assert not played[4].any()
    bridge.tick()
    assert len(queues.outbox) == 4  # one more frame of lead since the loop was late
    resumed = np.frombuffer(read_bytes(queues.outbox[0]), dtype=np.int16)
    assert resumed[0] == 0 and abs(int(resumed[40])) > 0  # back in from silence, without a step
    playout.flush()
    while queues.outbox:
        port.onFrameRequested(frame)
    bridge.tick()
    while queues.outbox and not bridge.line.drained:
        port.onFrameRequested(frame)
    assert bridge.line.drained


def _frame(pcm: np.ndarray) -> pj.MediaFrame:
    frame = pj.MediaFrame()
    frame.buf = pj.ByteVector(pcm.tobytes())
    frame.size = pcm.size * 2
    return frame


async def test_stereo_recording_keeps_caller_left_and_assistant_right(tmp_path: Path) -> None:
    path = tmp_path / "rec" / "call.wav"
    recording = CallRecording(path, 8000, structlog.get_logger("test"))
    for i in range(150):  # 3 s: the caller speaks in the first second, the assistant in the third
        recording.caller(np.full(160, 3000 if i < 50 else 0, dtype=np.int16))
        recording.assistant(np.full(160, 2000 if i >= 100 else 0, dtype=np.int16))
    await recording.close()
    pcm, rate = soundfile.read(str(path), dtype="int16")
    assert rate == 8000 and pcm.shape == (24000, 2)
    assert (pcm[:8000, 0] == 3000).all() and (pcm[8000:, 0] == 0).all()
    assert (pcm[:16000, 1] == 0).all() and (pcm[16000:, 1] == 2000).all()


async def test_mixed_recording_places_each_side_on_the_call_clock(tmp_path: Path) -> None:
    path = tmp_path / "call.wav"
    recording = CallRecording(path, 8000, structlog.get_logger("test"), mixed=True)
    for i in range(100):  # the caller from 0.5 s to 2.5 s; the assistant only while it speaks, from 1 s to 1.5 s
        recording.caller(np.full(160, 1000, dtype=np.int16), 4000 + i * 160)
    for i in range(25):
        recording.assistant(np.full(160, 500, dtype=np.int16), 8000 + i * 160)
    await recording.close()
    pcm, rate = soundfile.read(str(path), dtype="int16")
    assert rate == 8000 and pcm.shape == (20000,)
    assert not pcm[:4000].any() and (pcm[4000:8000] == 1000).all()
    assert (pcm[8000:12000] == 1500).all() and (pcm[12000:] == 1000).all()


async def test_the_line_wakes_a_waiter_once_the_caller_has_heard_everything() -> None:
    playout = Playout(8000)
    line = Line(playout)
    playout.write(np.full(480, 1000, dtype=np.int16))
    waiter = asyncio.create_task(line.heard())
    for queued in range(3):  # three frames of voice go out, queued ahead of the media clock
        assert line.play(160, ahead=queued) is not None
    assert line.play(160, ahead=3) is None  # nothing more to say, but the voice has not reached the caller
    await asyncio.sleep(0.05)
    assert not waiter.done()
    assert line.play(160, ahead=1) is None  # only the silent frame is still on its way
    await asyncio.wait_for(waiter, 1.0)


def _offer(number: str) -> Offered:
    return Offered(1, "main", "c1", f"sip:{number}@box", "<sip:+15550001@carrier>", f"<sip:{number}@box>", "")


async def test_admission_answers_refuses_and_keeps_to_the_limit(loaded: Runtime, tenants: list[str]) -> None:
    calls = 0
    admission = Admission(loaded, max_calls=2, rate=8000, sip_calls=lambda: calls)
    assert admission.decide(_offer(TORONTO_DID)).code == 404  # nothing read yet: every number is unknown
    assert admission.refresh() and not admission.refresh()  # the second time, nothing had changed
    answered = admission.decide(_offer(TORONTO_DID.lstrip("+")))  # a carrier that drops the "+"
    assert answered.code == 200 and answered.tenant_id == "maple-vet" and answered.did == TORONTO_DID
    assert answered.queues is not None and answered.queues.rate == 8000
    assert admission.decide(_offer(UNOWNED_DID)).code == 404
    calls = 2
    assert admission.decide(_offer(TORONTO_DID)).code == 0  # the vet plays a busy message
    assert admission.decide(_offer(BERLIN_DID)).code == 486  # the bike shop refuses
    admission.stopping = True
    assert admission.decide(_offer(BERLIN_DID)).code == 503


def test_sip_status_without_a_server(tmp_path: Path) -> None:
    config = tmp_path / "appliance.toml"
    config.write_text('[[sip.trunks]]\nname = "main"\nregistrar = "sip.carrier.example"\nusername = "box"\n')
    env = {k: v for k, v in os.environ.items() if not k.startswith("APPLIANCE_")}
    env["APPLIANCE_DATA_DIR"] = str(tmp_path / "data")
    shown = subprocess.run(
        [sys.executable, "-m", "appliance", "--config", str(config), "sip", "status"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert shown.returncode == 3, shown.stderr
    assert "SIP not running" in shown.stdout and "trunk main" in shown.stdout and "not running" in shown.stdout
