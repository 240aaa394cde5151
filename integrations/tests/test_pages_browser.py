"""An integrator's day in a real browser: log in, add a client and an integration
through the JSON editor, test it, fix it, save, edit, compare and restore.

Screenshots of the main pages go to test-artifacts/ (outside version control).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.cache import cache

from integrations.models import Integration

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ARTIFACTS = Path(django_settings.BASE_DIR) / "test-artifacts"
API_KEY = "example-key-not-real"


class LedgerAPI(BaseHTTPRequestHandler):
    """A fake accounting API on loopback: /health answers with the right key only."""

    def do_GET(self) -> None:
        if self.path.endswith("/health") and self.headers.get("X-API-Key") == API_KEY:
            self.answer(200, {"status": "ok"})
        else:
            self.answer(404, {"detail": "not found"})

    def answer(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def ledger_api(settings) -> Iterator[str]:
    """The fake API's base URL; outbound requests may reach loopback and nothing else."""
    settings.OUTBOUND_LOOPBACK_ONLY = True
    settings.INTEGRATION_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    cache.clear()
    server = ThreadingHTTPServer(("127.0.0.1", 0), LedgerAPI)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/api"
    finally:
        server.shutdown()
        server.server_close()


def screenshot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def log_in(page, username: str) -> None:
    page.goto("/integrations")
    page.wait_for_url("**/accounts/login/**")
    screenshot(page, "login")
    page.get_by_label("User name").fill(username)
    page.get_by_label("Password").fill("pw-for-tests")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/integrations")


def raw_config(page) -> dict:
    return json.loads(page.input_value("#id_config"))


def editor_field(page, key: str):
    return page.locator(f'#id_config_editor_jsonform [name="rjf§{key}"]')


def test_an_integrator_sets_up_tests_edits_compares_and_restores(
    browser_page, member, lagos_team, ledger_api
):
    page = browser_page
    log_in(page, member.username)
    assert page.get_by_text("No integrations yet").is_visible()
    screenshot(page, "integrations-empty")

    # A client first.
    page.goto("/clients/new")
    page.get_by_label("Name").fill("Adebayo Foods Ltd")
    page.get_by_label("TIN").fill("12345678-0001")
    page.get_by_label("Reason for this change").fill("Signed today")
    page.get_by_role("button", name="Save").click()
    page.wait_for_url("**/clients/*")
    assert page.get_by_text("Saved client Adebayo Foods Ltd.").is_visible()
    screenshot(page, "client-detail")

    # Then an integration from the Generic REST template.
    page.get_by_role("link", name="New integration").click()
    page.get_by_label("Generic REST API").check()
    page.get_by_role("button", name="Continue").click()
    page.wait_for_selector("#id_config_editor_jsonform input")
    page.get_by_label("Name", exact=True).fill("Ledger")

    # The form and the raw JSON stay in step, both ways.
    page.get_by_label("API URL").fill(ledger_api)
    editor_field(page, "health_path").fill("/missing")
    assert raw_config(page)["api_url"] == ledger_api
    assert raw_config(page)["health_path"] == "/missing"
    page.fill("#id_config", json.dumps({**raw_config(page), "retries": 2}))
    page.locator("#id_config").dispatch_event("input")
    assert editor_field(page, "retries").input_value() == "2"

    # A failing test shows its stages and hint beside the form; the fix makes it pass.
    page.get_by_label("API key", exact=True).fill(API_KEY)
    page.get_by_role("button", name="Test connection").click()
    result = page.locator("#test-result")
    result.locator(".result-status.failed").wait_for()
    assert result.locator(".stage").count() >= 1
    screenshot(page, "integration-new-test-failed")

    editor_field(page, "health_path").fill("/health")
    page.get_by_role("button", name="Test connection").click()
    result.locator(".result-status.ok").wait_for()
    screenshot(page, "integration-new-test-ok")
    page.get_by_label("Reason for this change").fill("Onboarding")
    page.get_by_role("button", name="Save").click()
    page.wait_for_url("**/integrations/*")
    assert page.get_by_text("Saved Ledger.").is_visible()
    assert page.locator(".secret-set").first.inner_text() == "set"
    screenshot(page, "integration-detail")

    integration = Integration.objects.get(name="Ledger")
    assert integration.config["health_path"] == "/health"
    assert integration.config["retries"] == 2
    assert integration.secrets.get().value() == API_KEY

    # Edit: weekly instead of daily.
    page.get_by_role("link", name="Edit").click()
    page.wait_for_selector("#id_config_editor_jsonform input")
    editor_field(page, "schedule").fill("weekly")
    page.get_by_label("Reason for this change").fill("Weekly is enough")
    screenshot(page, "integration-edit")
    page.get_by_role("button", name="Save").click()
    assert page.get_by_text("Saved Ledger as v2.").is_visible()

    # Compare v1 with v2, then restore v1.
    page.get_by_role("link", name="History", exact=True).click()
    page.get_by_label("Compare version").select_option("1")
    page.get_by_label("with version").select_option("2")
    page.get_by_role("button", name="Compare").click()
    row = page.locator("table.compare tr", has_text="config.schedule")
    assert '"daily"' in row.inner_text() and '"weekly"' in row.inner_text()
    screenshot(page, "integration-history-compare")

    restore = page.locator("form.restore-form", has=page.locator("input[value='1']"))
    restore.get_by_label("Reason for restoring v1").fill("Back to daily")
    page.once("dialog", lambda dialog: dialog.accept())
    restore.get_by_role("button", name="Restore this version").click()
    assert page.get_by_text("Restored v1 as v3.").is_visible()
    integration.refresh_from_db()
    assert integration.version == 3 and integration.config["schedule"] == "daily"

    page.goto("/integrations")
    screenshot(page, "integrations-list")


def test_the_detail_page_tests_the_saved_integration_and_lists_results(
    browser_page, member, client_record, ledger_api
):
    integration = Integration(
        client=client_record,
        name="Ledger",
        integration_type="generic_rest",
        config={
            "api_url": ledger_api,
            "auth_method": "api_key",
            "health_path": "/health",
            "api_key": API_KEY,
        },
    )
    integration.save()
    log_in(browser_page, member.username)
    browser_page.goto(f"/integrations/{integration.pk}")
    browser_page.get_by_role("button", name="Test connection").click()
    browser_page.locator("#test-result .result-status.ok").wait_for()
    latest = browser_page.locator("#test-history li.ok").first
    latest.wait_for()
    assert "ada" in latest.inner_text()
    integration.refresh_from_db()
    assert integration.last_test_status == "ok"


def test_hostile_text_stays_text_in_the_editor_and_the_compare_view(
    browser_page, member, client_record
):
    hostile = "</script><svg onload=window.__pwned=1>"
    integration = Integration(
        client=client_record,
        name="<svg onload=window.__pwned=1>",
        integration_type="generic_rest",
        config={
            "api_url": "http://127.0.0.1:9/api",
            "auth_method": "none",
            "schedule": hostile,
        },
    )
    integration.save()
    integration.config = {**integration.config, "health_path": "/" + hostile}
    integration.record_change(member, hostile).save()

    log_in(browser_page, member.username)
    for url in [
        "/integrations",
        f"/integrations/{integration.pk}",
        f"/integrations/{integration.pk}/edit",
        f"/integrations/{integration.pk}/history?a=1&b=2",
    ]:
        browser_page.goto(url)
        browser_page.wait_for_load_state("load")
        assert browser_page.evaluate("window.__pwned") is None, url
    browser_page.goto(f"/integrations/{integration.pk}/edit")
    assert editor_field(browser_page, "schedule").input_value() == hostile


def test_the_pages_fit_a_375_pixel_screen(browser_page, member, integration):
    browser_page.set_viewport_size({"width": 375, "height": 800})
    log_in(browser_page, member.username)
    for url, name in [
        ("/integrations", "mobile-integrations"),
        (f"/integrations/{integration.pk}", "mobile-integration-detail"),
        (f"/integrations/{integration.pk}/edit", "mobile-integration-edit"),
        (f"/integrations/{integration.pk}/history", "mobile-integration-history"),
        ("/clients", "mobile-clients"),
    ]:
        browser_page.goto(url)
        width = browser_page.evaluate("document.documentElement.scrollWidth")
        assert width <= 375, f"{url} is {width}px wide"
        screenshot(browser_page, name)


def test_the_keyboard_reaches_the_skip_link_first(browser_page, member):
    log_in(browser_page, member.username)
    browser_page.keyboard.press("Tab")
    focused = browser_page.evaluate("document.activeElement.textContent")
    assert focused == "Skip to main content"
