"""居民评议 in headless Chromium (Debian's /usr/bin/chromium, as tests/browser/
test_handoff_browser.py runs it): the committee opens the survey of a handoff whose work is
reported and sees its QR code and link; a resident on a phone opens the link (what scanning the QR
code does), rates without signing in and is thanked; the committee's page counts the rating
without a reload.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from ..test_residents_live import reported_handoff
from .test_handoff_browser import (  # noqa: F401  (its fixtures: server, browser, shots; and
    # without chromium it skips this module too)
    PHONE,
    People,
    browser,
    no_horizontal_scroll,
    server,
    shots,
)

pytestmark = pytest.mark.slow


def test_a_resident_rates_on_a_phone_and_the_committee_sees_the_count(server, browser, shots):  # noqa: F811
    instance_id, _ = reported_handoff(server)
    people = People(browser, server, shots)

    # the committee opens the survey from the handoff's page
    committee = people("committee.rg01")
    committee.goto(f"{server}/instances/{instance_id}")
    expect(committee.locator('[data-survey="none"]')).to_have_count(0)
    committee.locator('[data-action="new-survey"]').click()
    expect(committee.locator("h1")).to_have_text("发起居民评议")
    committee.locator("#days").fill("5")
    committee.locator('[data-action="open-survey"]').click()
    expect(committee.locator(".flash-ok")).to_contain_text("居民评议已发起")
    expect(committee.locator('[data-survey-state="open"]')).to_be_visible()
    qr = committee.locator("img.survey-qr")
    expect(qr).to_be_visible()
    assert committee.evaluate("document.querySelector('img.survey-qr').naturalWidth") > 0
    count = committee.locator("[data-live-count]")
    expect(count).to_have_text("0")
    url = committee.locator("[data-survey-url]").inner_text().strip()
    assert url.startswith(server + "/r/"), url
    people.shot(committee, "desktop-12-resident-survey")

    # a resident scans the code: a phone, no account
    phone = people.new_page(viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True)
    phone.goto(url)
    expect(phone.locator("h1")).to_have_text("居民评议")
    expect(phone.locator("[data-report]")).to_contain_text("已入户走访 60 户")
    no_horizontal_scroll(phone)
    people.shot(phone, "phone-08-resident-rating", full_page=False)
    phone.wait_for_timeout(3500)  # reading the page: a submission within 3 seconds is refused
    phone.locator('label[for="score-5"]').click()
    expect(phone.locator("#score-5")).to_be_checked()
    phone.locator("#comment").fill("入户很细致，谢谢社区")
    phone.locator(".rate-submit").click()
    expect(phone.locator(".flash-ok")).to_contain_text("谢谢您的评价")
    expect(phone.locator('[data-survey="rated"]')).to_be_visible()
    expect(phone.locator('input[name="score"]')).to_have_count(0)
    no_horizontal_scroll(phone)
    people.shot(phone, "phone-09-resident-thanks", full_page=False)
    phone.goto(url + "?lang=en")
    expect(phone.locator('[data-survey="rated"]')).to_contain_text("You have rated today")

    # the committee's page follows the count by itself (app.js polls every 15 seconds)
    expect(count).to_have_text("1", timeout=30_000)
    committee.reload()
    expect(committee.locator("[data-live-count]")).to_have_text("1")
    expect(committee.locator(".survey-comments")).to_contain_text("入户很细致，谢谢社区")
    assert people.errors == [], people.errors
