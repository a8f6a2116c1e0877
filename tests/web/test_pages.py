"""The main pages in a real browser, as an owner uses them; each is saved as a screenshot artefact."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from playwright.async_api import Browser, Locator, Page, expect

from tests.web.conftest import sign_in
from tests.web.harness import Served, shot
from tests.web.seed import Seeded

DENTAL = "harbour-dental"


async def _save(page: Page, button: Locator) -> None:
    """Submit a settings form and wait for the server's answer: the toast still says "Saved" from the form
    saved before, so it cannot tell that this one was."""
    async with page.expect_response(lambda r: "/api/v1/" in r.url and r.request.method != "GET") as answer:
        await button.click()
    assert (await answer.value).ok, await (await answer.value).text()
    await expect(page.locator("#toast")).to_contain_text("Saved")


async def test_a_stored_call_shows_transcript_audio_tools_and_waterfall(
    browser: Browser, seeded: tuple[Served, Seeded]
) -> None:
    served, data = seeded
    page = await sign_in(browser, served, data.owner)
    await page.goto(f"{served.url}/t/{DENTAL}/calls")
    await page.locator("table.calls a").first.click()
    await expect(page).to_have_url(f"{served.url}/t/{DENTAL}/calls/{data.recorded_call}")
    transcript = page.locator("ol.transcript")
    await expect(transcript.locator("li.caller")).to_have_count(2)
    await expect(transcript).to_contain_text("I'd like a check-up on Thursday afternoon.")
    await expect(transcript).to_contain_text("Done: Thursday at 4:30 pm for Margaret Chen.")
    # What the post-call analysis wrote, and the outcome from what happened.
    await expect(page.locator("section.summary")).to_contain_text("Margaret Chen booked a check-up")
    await expect(page.locator("dl.facts")).to_contain_text("positive (90 % sure)")
    await expect(page.locator("dl.facts")).to_contain_text("booking_created")
    # Times are the business's own (Halifax), not the server's or the browser's.
    first = served.runtime.calls.turns(data.recorded_call)[0].started_at
    local = first.replace(tzinfo=ZoneInfo("UTC")).astimezone(ZoneInfo("America/Halifax"))
    await expect(transcript.locator("li time").first).to_have_text(local.strftime("%H:%M:%S"))
    # The tool call with its arguments and result.
    tool = page.locator("details.tool").first
    await expect(tool).to_contain_text("create_booking")
    await tool.locator("summary").click()
    await expect(tool).to_contain_text('"time": "16:30"')
    # The waterfall: one per caller turn, with each step's bar and the total.
    waterfall = page.locator("svg.waterfall").first
    await expect(page.locator("svg.waterfall")).to_have_count(2)
    await expect(waterfall.locator("rect")).to_have_count(5)
    await expect(waterfall).to_contain_text("1,290 ms")
    # The audio element loads the recording: the browser has read its duration (3 s of audio).
    audio = page.locator("audio#recording")
    await page.wait_for_function("document.querySelector('audio#recording').readyState >= 1")
    duration = await audio.evaluate("a => a.duration")
    assert 2.9 < duration < 3.1
    await shot(page, "call-page")
    await page.context.close()


async def test_calls_list_filters_and_searches(browser: Browser, seeded: tuple[Served, Seeded]) -> None:
    served, data = seeded
    page = await sign_in(browser, served, data.owner)
    await page.goto(f"{served.url}/t/{DENTAL}/calls")
    rows = page.locator("table.calls tbody tr")
    await expect(rows).to_have_count(2)
    await expect(rows.first).to_contain_text("positive")
    await expect(rows.first).to_contain_text("new patient")
    await shot(page, "calls-list")
    await page.fill("input[name=q]", "tooth")
    await page.keyboard.press("Enter")
    await expect(rows).to_have_count(1)
    await expect(rows.first).to_contain_text("+19025550999")
    await page.fill("input[name=q]", "")
    await page.keyboard.press("Enter")
    await expect(rows).to_have_count(2)
    await page.select_option("select[name=outcome]", "booking_created")
    await expect(rows).to_have_count(1)
    await expect(rows.first).to_contain_text("+19025550123")
    await page.select_option("select[name=outcome]", "")
    await page.select_option("select[name=sentiment]", "negative")
    await expect(rows).to_have_count(1)
    await expect(rows.first).to_contain_text("No calls match.")
    await page.select_option("select[name=sentiment]", "positive")
    await expect(rows).to_have_count(1)
    await expect(rows.first).to_contain_text("+19025550123")
    wrong = await page.request.get(f"{served.url}/api/v1/tenants/{DENTAL}/calls?sentiment=furious")
    assert wrong.status == 400 and "sentiment must be one of" in await wrong.text()
    await page.context.close()


async def test_dashboard_charts_and_range(browser: Browser, seeded: tuple[Served, Seeded]) -> None:
    served, data = seeded
    page = await sign_in(browser, served, data.owner)
    await page.goto(f"{served.url}/t/{DENTAL}/dashboard")
    kpis = page.locator(".kpi .n")
    await expect(kpis.first).to_have_text("2")
    await expect(page.locator("svg.chart")).to_have_count(3)
    await expect(page.locator("svg.chart rect.bar").first).to_be_attached()
    await expect(page.get_by_text("1 booking)")).to_be_visible()
    await shot(page, "dashboard")
    # A range with no calls: the figures follow the picker without a page load.
    await page.fill("input[name=start]", "2020-01-01")
    await page.fill("input[name=end]", "2020-01-31")
    await page.locator("input[name=end]").dispatch_event("change")
    await expect(kpis.first).to_have_text("0")
    await expect(page).to_have_url(f"{served.url}/t/{DENTAL}/dashboard?start=2020-01-01&end=2020-01-31")
    await page.context.close()


async def test_cancel_a_booking_and_mark_a_lead_contacted(browser: Browser, seeded: tuple[Served, Seeded]) -> None:
    served, data = seeded
    page = await sign_in(browser, served, data.supervisor)
    await page.goto(f"{served.url}/t/{DENTAL}/leads")
    await shot(page, "leads")
    await page.get_by_role("button", name="Mark contacted").click()
    await expect(page.get_by_role("button", name="Mark contacted")).to_have_count(0)
    await expect(page.locator("table.list tbody tr .badge").last).to_have_text("contacted")
    await page.goto(f"{served.url}/t/{DENTAL}/bookings")
    await shot(page, "bookings")
    page.once("dialog", lambda dialog: dialog.accept())
    await page.get_by_role("button", name="Cancel").click()
    await expect(page.get_by_role("button", name="Cancel")).to_have_count(0)
    await expect(page.locator("table.list tbody tr .badge")).to_have_text("cancelled")
    store = served.runtime.store
    assert store.scalar("SELECT status FROM leads WHERE id = ?", [data.lead]) == "contacted"
    assert store.scalar("SELECT status FROM bookings WHERE id = ?", [data.booking]) == "cancelled"
    actions = {r[0] for r in store.rows("SELECT action FROM audit_log WHERE actor = ?", [f"user:{data.supervisor}"])}
    assert {"lead.contacted", "booking.cancel"} <= actions
    await page.context.close()


async def test_edit_the_assistant(browser: Browser, seeded: tuple[Served, Seeded]) -> None:
    served, data = seeded
    page = await sign_in(browser, served, data.owner)
    await page.goto(f"{served.url}/t/{DENTAL}/assistant")
    await page.fill("input[name=greeting]", "Harbour Dental, this is the AI assistant. How can I help?")
    await page.uncheck("input[name='skills.leads']")
    await page.fill("input[name=personality]", "calm")
    await page.fill("textarea[name=emergencies]", "knocked-out tooth\nswelling of the face")
    await page.fill("textarea[name=escalation_words]", "complaint\nmanager")
    await page.fill("input[name='hours.sat']", "09:00-12:00")
    await page.fill("input[name=after_hours_greeting]", "Harbour Dental is closed; I'm the AI assistant.")
    await page.fill("input[name=after_hours_transfer]", "off")
    await page.check("input[name=recording]")
    await expect(page.locator("input[name=turn_detection]")).to_be_checked()
    await page.uncheck("input[name=turn_detection]")
    await page.get_by_role("button", name="Save").click()
    await expect(page.locator("#toast")).to_contain_text("Saved")
    await shot(page, "assistant")
    doc = served.runtime.tenants.get(DENTAL)
    assert doc.greeting() == "Harbour Dental, this is the AI assistant. How can I help?"
    assert "leads" not in doc.assistant.skills and "booking" in doc.assistant.skills
    assert doc.assistant.personality == "calm"
    assert doc.emergency.phrases == ["knocked-out tooth", "swelling of the face"]
    assert doc.assistant.escalation_words == ["complaint", "manager"]
    assert doc.hours["sat"] == "09:00-12:00"
    assert doc.telephony.after_hours_greeting == "Harbour Dental is closed; I'm the AI assistant."
    assert doc.telephony.after_hours_transfer == "off" and doc.telephony.recording
    assert doc.assistant.turn_detection is False  # this business's turns end on silence alone
    # A bad value is refused with the reason, and nothing changes.
    await page.fill("input[name='hours.mon']", "9 till 5")
    await page.get_by_role("button", name="Save").click()
    await expect(page.locator("[data-error]")).to_contain_text("hours.mon")
    assert served.runtime.tenants.get(DENTAL).hours["mon"] == "08:00-17:00"
    await page.context.close()


async def test_settings_notifications_webhooks_retention_users(browser: Browser, seeded: tuple[Served, Seeded]) -> None:
    served, data = seeded
    page = await sign_in(browser, served, data.owner)
    await page.goto(f"{served.url}/t/{DENTAL}/settings")
    # Numbers: a second one is added; the bakery's number is refused with the reason.
    await expect(page.locator("#sip-status")).to_contain_text("off: no trunk in the settings")
    numbers = page.locator("textarea[name=numbers]")
    await numbers.fill("+19025550100\n+19025550102")
    await _save(page, page.get_by_role("button", name="Save numbers"))
    assert served.runtime.tenants.get(DENTAL).numbers == ["+19025550100", "+19025550102"]
    await numbers.fill("+85221234567")
    await page.get_by_role("button", name="Save numbers").click()
    await expect(page.locator("#telephony [data-error]")).to_contain_text("belongs to 'kowloon-bakery'")
    # Who is told of emergencies and leads
    await page.fill("#notifications input[name=owner_email]", "frontdesk@harbour.example")
    await page.fill("#notifications input[name=owner_sms]", "+1 902 555 0188")
    await _save(page, page.get_by_role("button", name="Save notifications"))
    notify = served.runtime.tenants.get(DENTAL).notifications
    assert (notify.owner_email, notify.owner_sms) == ("frontdesk@harbour.example", "+19025550188")
    # Webhook: its signing key is shown once and kept encrypted
    await page.fill("#webhooks input[name=url]", "https://hooks.harbour.example/calls")
    await page.click("#webhooks button[type=submit]")
    key = page.locator("#webhooks [data-result] code")
    await expect(key).to_contain_text("whsec_")
    secret = await key.inner_text()
    assert secret not in str(served.runtime.store.rows("SELECT * FROM secrets"))
    # Retention
    await page.fill("input[name=recordings_days]", "30")
    await page.fill("input[name=calls_days]", "365")
    await _save(page, page.locator("#retention button[type=submit]"))
    # A new user with the agent role
    await page.fill("#users input[name=email]", "newhire@harbour.example")
    await page.fill("#users input[name=name]", "New Hire")
    await page.fill("#users input[name=password]", "first password 1")
    await page.click("#users button[type=submit]")
    await expect(page.locator("#users table")).to_contain_text("newhire@harbour.example")
    await page.goto(f"{served.url}/t/{DENTAL}/settings")
    await shot(page, "settings")
    assert served.runtime.store.rows(
        "SELECT recordings_days, calls_days FROM retention WHERE tenant_id = ?", [DENTAL]
    ) == [(30, 365)]
    await page.goto(f"{served.url}/t/{DENTAL}/audit")
    log = page.locator("table.list")
    for action in ("notifications.update", "numbers.update", "webhook.add", "retention.update", "user.grant"):
        await expect(log).to_contain_text(action)
    await shot(page, "audit-log")
    await page.context.close()


async def test_the_calls_api_pages_back(browser: Browser, seeded: tuple[Served, Seeded]) -> None:
    served, data = seeded
    page = await sign_in(browser, served, data.agent)
    base = f"{served.url}/api/v1/tenants/{DENTAL}/calls"
    first = await (await page.request.get(f"{base}?limit=1")).json()
    assert [c["id"] for c in first["calls"]] == data.calls[DENTAL][:1]
    second = await (await page.request.get(f"{base}?limit=1&before={first['next_before']}")).json()
    assert [c["id"] for c in second["calls"]] == data.calls[DENTAL][1:2] and second["next_before"] is None
    assert (await page.request.get(f"{base}?before=call_unknown")).status == 400
    await page.context.close()


async def test_a_call_is_kept_as_a_test_from_its_page(browser: Browser, seeded: tuple[Served, Seeded]) -> None:
    served, data = seeded
    page = await sign_in(browser, served, data.owner)
    await page.goto(f"{served.url}/t/{DENTAL}/calls/{data.recorded_call}")
    await page.get_by_role("button", name="Keep as a test").click()
    await expect(page).to_have_url(f"{served.url}/t/{DENTAL}/tests")
    card = page.locator("section.test")
    await expect(card).to_have_count(1)
    await expect(card).to_contain_text("I'd like a check-up on Thursday afternoon.")
    await expect(card).to_contain_text("not run yet")
    await expect(card.locator("textarea[name=outcomes]")).to_have_value("booking_created")
    await card.locator("textarea[name=says]").fill("Thursday")
    await card.get_by_role("button", name="Save").click()
    await expect(page.locator("#toast")).to_contain_text("Saved")
    await shot(page, "tests")
    page.once("dialog", lambda dialog: dialog.accept())
    await card.get_by_role("button", name="Remove").click()
    await expect(page.locator("section.test")).to_have_count(0)
    await page.context.close()
