"""Browser fixtures: a real Chromium that only ever talks to the test's own live server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.db import connections

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-quic",
    "--no-first-run",
    "--disable-component-update",
    "--disable-sync",
]
LOOPBACK_HOSTS = {"localhost", "127.0.0.1"}


@pytest.fixture
def browser_page(live_server, monkeypatch) -> Iterator:
    """A Chromium page whose relative URLs go to the live server, and nowhere else."""
    if not CHROMIUM.exists():
        pytest.skip(f"browser tests need Chromium at {CHROMIUM}, which is missing")
    sync_api = pytest.importorskip("playwright.sync_api")

    # Playwright's sync API keeps an event loop in this thread, and Django refuses ORM
    # calls from such a thread unless told the test itself is synchronous code.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

    refused: list[str] = []

    def loopback_only(route) -> None:
        if urlsplit(route.request.url).hostname in LOOPBACK_HOSTS:
            route.continue_()
        else:
            refused.append(route.request.url)
            route.abort()

    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        context = browser.new_context(base_url=live_server.url)
        context.set_default_timeout(5_000)
        context.route("**/*", loopback_only)
        try:
            yield context.new_page()
        finally:
            context.close()
            browser.close()
            # Django keeps connections per context, and Playwright's sync API gives the
            # test its own: close them here, or PostgreSQL cannot drop the test database.
            connections.close_all()

    assert not refused, f"the page tried to load other hosts: {refused}"


@pytest.fixture
def staff_page(browser_page, staff):
    """The browser page, logged in to the admin through its login form as a superuser."""
    browser_page.goto("/admin/login/?next=/admin/")
    browser_page.fill("#id_username", staff.username)
    browser_page.fill("#id_password", "pw-for-tests")
    browser_page.click("input[type=submit]")
    browser_page.wait_for_url("**/admin/")
    return browser_page
