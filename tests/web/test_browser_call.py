"""A test call from the browser: Chromium's fake microphone plays a caller's recording over WebRTC to the
assistant (aiortc on the server), and the live transcript shows what the caller said and what the assistant
replied. A second tab watches on the live page and takes the call over."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from pathlib import Path

import numpy as np
import pytest
from playwright.async_api import Browser, Playwright, expect

from appliance.runtime import Runtime
from core.audio import decode_wav, read_wav
from testkit.sounds import piper_clip, with_silence
from tests.web.conftest import fresh_runtime, sign_in
from tests.web.harness import CHROMIUM, CHROMIUM_ARGS, Served, serve, shot
from tests.web.seed import Seeded, seed

DENTAL = "harbour-dental"
CALLER_WORDS = "Hello, are you open on Saturday mornings?"


@pytest.fixture(scope="module")
async def caller_wav(loaded: Runtime, sounds: Path) -> Path:
    """The caller: silence while the greeting plays, one question, then silence while the reply comes. The fake
    microphone plays it in a loop from the moment the page asks for the microphone, so it has to repeat: when
    the call connects depends on how busy the machine is."""
    clip = await piper_clip(loaded.models.tts(), CALLER_WORDS, sounds)
    return with_silence(clip, sounds / "browser-caller.wav", 5.0, 12.0, rate=48000)


@pytest.fixture(scope="module")
async def call_server(
    tmp_path_factory: pytest.TempPathFactory, models_dir: Path, loaded: Runtime
) -> AsyncIterator[tuple[Served, Seeded]]:
    # Loopback only: aioice must offer 127.0.0.1, and Chromium must be allowed to use it.
    runtime = fresh_runtime(
        tmp_path_factory.mktemp("browser-call"), models_dir, models=loaded.models, ice_addresses=["127.0.0.1"]
    )
    data = seed(runtime)
    await runtime.warm_tenant(DENTAL)  # as a serving box does at start
    with serve(runtime) as served:
        yield served, data
    runtime.store.close()  # not runtime.close(): the models are the session's, shared with later tests


@pytest.fixture(scope="module")
async def media_browser(playwright: Playwright, caller_wav: Path) -> AsyncIterator[Browser]:
    browser = await playwright.chromium.launch(
        executable_path=CHROMIUM,
        args=[
            *CHROMIUM_ARGS,
            "--use-fake-ui-for-media-stream",
            "--use-fake-device-for-media-stream",
            f"--use-file-for-fake-audio-capture={caller_wav}",
            "--autoplay-policy=no-user-gesture-required",
            "--allow-loopback-in-peer-connection",
            "--disable-features=WebRtcHideLocalIpsWithMdns",
        ],
    )
    yield browser
    await browser.close()


async def test_call_the_assistant_from_the_browser(
    media_browser: Browser, call_server: tuple[Served, Seeded], caller_wav: Path
) -> None:
    served, data = call_server
    assert np.abs(read_wav(caller_wav, 16000)).max() > 3000  # the fake microphone has something to say

    watcher = await sign_in(media_browser, served, data.owner)
    await watcher.goto(f"{served.url}/t/{DENTAL}/live")
    await expect(watcher.locator("#live-status")).to_have_text("Watching calls as they happen.")

    page = await sign_in(media_browser, served, data.owner)
    await page.goto(f"{served.url}/t/{DENTAL}/test-call")
    await page.get_by_role("button", name="Call", exact=True).click()
    transcript = page.locator("#call-transcript")
    # The greeting, then the caller's words as the server transcribed them, then the assistant's answer.
    await expect(transcript.locator("li.assistant").first).to_contain_text("Harbour Dental", timeout=60_000)
    await expect(transcript.locator("li.caller").first).to_contain_text(re.compile("saturday", re.I), timeout=60_000)
    await expect(transcript.locator("li.assistant").nth(1)).not_to_be_empty(timeout=90_000)
    await expect(page.locator("#call-status")).to_have_text("Connected. Speak after the greeting.")
    await shot(page, "test-call")

    # The turn is stored once its reply has been spoken in full.
    call_id = str(await transcript.get_attribute("data-call"))
    for _ in range(600):
        turns = served.runtime.calls.turns(call_id)
        if len(turns) >= 2:
            break
        await asyncio.sleep(0.1)
    assert "saturday" in (turns[1].caller or "").lower() and turns[1].reply
    assert turns[1].latency_ms.voice_to_voice is not None and turns[1].latency_ms.stt is not None

    # The live page showed the same call as it happened; take it over from there.
    card = watcher.locator(".live-call")
    await expect(card).to_have_count(1)
    await expect(card.locator("li.caller").first).to_contain_text(re.compile("saturday", re.I))
    await shot(watcher, "live")
    await card.get_by_role("button", name="Take over").click()
    await expect(card.locator("li.event").first).to_contain_text("Transferring to +19025550177")
    await expect(transcript.locator("li.event").last).to_contain_text("Call ended: transferred", timeout=30_000)

    store = served.runtime.store
    row = store.dicts("SELECT channel, status, outcome, recording FROM calls WHERE id = ?", [call_id])[0]
    assert row["channel"] == "webrtc" and row["status"] == "ended" and row["outcome"] == "transferred"
    # The recording holds both sides: the caller's question and the assistant's voice.
    recording = read_wav(served.runtime.settings.recordings_path / row["recording"], 16000)
    assert len(recording) / 16000 > 8
    assert np.sqrt(np.mean(recording.astype(np.float64) ** 2)) > 300
    audit = store.rows("SELECT action FROM audit_log WHERE target = ?", [call_id])
    assert {a for (a,) in audit} >= {"call.test", "call.take_over"}
    await page.context.close()
    await watcher.context.close()


async def test_voice_preview_plays_the_greeting(media_browser: Browser, call_server: tuple[Served, Seeded]) -> None:
    served, data = call_server
    page = await sign_in(media_browser, served, data.owner)
    await page.goto(f"{served.url}/t/{DENTAL}/assistant")
    await page.get_by_role("button", name="Hear the greeting").click()
    # The page's player has loaded the greeting in the assistant's voice.
    await page.wait_for_function("document.querySelector('audio#preview').duration > 2", timeout=60_000)
    csrf = await page.locator("body").get_attribute("data-csrf") or ""
    response = await page.request.post(
        f"{served.url}/api/v1/tenants/{DENTAL}/assistant/voice-preview",
        data={"text": "We are open until five."},
        headers={"X-CSRF-Token": csrf},
    )
    assert response.status == 200 and response.headers["content-type"].startswith("audio/wav")
    audio = decode_wav(await response.body(), 16000)
    assert 0.8 < len(audio) / 16000 < 5 and np.abs(audio).max() > 3000
    await page.context.close()
