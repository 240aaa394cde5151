"""Staff editing an integration's config in a real browser: the editor keeps the config.

The admin's JSON editor is JavaScript, so only a browser shows what it really sends back:
an unedited save must store the very same config and record nothing, and an edit must
change only the key the person typed into.
"""

from __future__ import annotations

import json

import pytest

from clients.models import Client
from integrations.models import Integration

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LIST_URL = "/admin/integrations/integration/"
EDITOR = "#id_config_jsonform .rjf-form-wrapper"

# A config the generic_rest template accepts, with every type the template has fields for.
EDITABLE_CONFIG = {
    "api_url": "http://127.0.0.1:9/api",
    "auth_method": "basic",
    "username": "einvoice",
    "health_path": "/health",
    "retries": 3,
    "verify_tls": False,
    "schedule": "daily",
    "timezone": "Africa/Lagos",
}


@pytest.fixture
def client_record():
    client = Client(name="Adebayo Foods Ltd", tin="12345678-0001")
    client.save()
    return client


def integration_with(client_record, config: dict) -> Integration:
    integration = Integration(
        client=client_record,
        name="Ledger API",
        integration_type="generic_rest",
        config=config,
    )
    integration.save()
    return integration


def stored(integration: Integration) -> tuple[str, int, int]:
    """The config exactly as stored, with the version and the number of history rows."""
    fresh = Integration.objects.get(pk=integration.pk)
    return (
        json.dumps(fresh.config, sort_keys=True),
        fresh.version,
        fresh.history.count(),
    )


def open_change_page(page, integration: Integration) -> None:
    page.goto(f"/admin/integrations/integration/{integration.pk}/change/")


def save(page) -> None:
    """Click Save and check the admin went back to the list, naming its errors if not."""
    with page.expect_navigation():
        page.click("input[name=_save]")
    errors = page.locator(".errornote, .errorlist li").all_inner_texts()
    assert page.url.endswith(LIST_URL), errors or page.url
    assert page.locator(".messagelist .success").count() == 1


def test_an_unedited_save_through_the_editor_changes_nothing(staff_page, client_record):
    integration = integration_with(client_record, EDITABLE_CONFIG)
    before = stored(integration)

    open_change_page(staff_page, integration)
    staff_page.wait_for_selector(EDITOR)
    assert staff_page.input_value('input[name="rjf§retries"]') == "3"
    save(staff_page)

    assert stored(integration) == before


@pytest.mark.parametrize(
    "config",
    [
        pytest.param(
            {"api_url": "http://127.0.0.1:9/api", "proxy": None, "ids": [7, "7"]},
            id="null-and-mixed-list",
        ),
        pytest.param(
            {"api_url": "http://127.0.0.1:9/api", "retries": 3, "timeout": 30.0},
            id="whole-number-float",
        ),
        pytest.param(
            {"api_url": "http://127.0.0.1:9/api", "account": 2**60},
            id="integer-past-javascript-precision",
        ),
    ],
)
def test_config_the_editor_cannot_show_is_kept_as_raw_json(
    staff_page, client_record, config
):
    # Configs stored before the templates: the admin may refuse to save them as they
    # are, but whether it does or not, an unedited save must leave them untouched.
    integration = integration_with(client_record, config)
    before = stored(integration)

    open_change_page(staff_page, integration)
    shown = staff_page.locator("textarea#id_config")
    shown.wait_for(state="visible")
    assert staff_page.locator("#id_config_jsonform").count() == 0
    assert json.dumps(json.loads(shown.input_value()), sort_keys=True) == before[0]
    with staff_page.expect_navigation():
        staff_page.click("input[name=_save]")

    assert stored(integration) == before


def test_an_edit_in_the_editor_changes_only_that_key_and_records_why(
    staff_page, client_record, staff
):
    integration = integration_with(client_record, EDITABLE_CONFIG)
    _, version, history_rows = stored(integration)

    open_change_page(staff_page, integration)
    staff_page.fill('input[name="rjf§schedule"]', "hourly")
    staff_page.fill("#id_change_reason", "Client wants invoices sent every hour")
    save(staff_page)

    integration.refresh_from_db()
    expected = {**EDITABLE_CONFIG, "schedule": "hourly"}
    assert json.dumps(integration.config, sort_keys=True) == json.dumps(
        expected, sort_keys=True
    )
    assert {key: type(value) for key, value in integration.config.items()} == {
        key: type(value) for key, value in expected.items()
    }
    assert integration.version == version + 1
    assert integration.history.count() == history_rows + 1
    entry = integration.history.first()
    assert (
        entry.history_user,
        entry.history_change_reason,
        entry.changed_fields,
    ) == (staff, "Client wants invoices sent every hour", ["config.schedule"])
