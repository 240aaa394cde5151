"""The admin: pages render, edits are recorded, and an unedited save changes nothing."""

from __future__ import annotations

import json

import pytest

from conftest import form_values
from integrations.models import Integration

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, staff):
    client.force_login(staff)
    return client


def change_url(integration):
    return f"/admin/integrations/integration/{integration.pk}/change/"


def submitted_form(admin_client, integration) -> dict:
    """What the browser submits for the change page, the editor echoing the config."""
    values = form_values(admin_client.get(change_url(integration)).content.decode())
    data = {name: items[-1] for name, items in values.items()}
    data["config"] = json.dumps(integration.config)
    return data


def test_list_change_and_history_pages_render(admin_client, integration):
    for url in [
        "/admin/integrations/integration/",
        "/admin/integrations/integration/?q=odoo&status__exact=draft",
        change_url(integration),
        f"/admin/integrations/integration/{integration.pk}/history/",
        "/admin/clients/client/",
        f"/admin/clients/client/{integration.client.pk}/change/",
        f"/admin/clients/client/{integration.client.pk}/history/",
    ]:
        response = admin_client.get(url)
        assert response.status_code == 200, url
    history = admin_client.get(
        f"/admin/integrations/integration/{integration.pk}/history/"
    )
    assert b"created" in history.content


def test_an_unedited_save_changes_nothing(admin_client, integration):
    before = Integration.objects.get(pk=integration.pk).config

    response = admin_client.post(
        change_url(integration), submitted_form(admin_client, integration)
    )

    assert response.status_code == 302
    integration.refresh_from_db()
    assert json.dumps(integration.config) == json.dumps(before)
    assert integration.version == 1
    assert integration.history.count() == 1


def test_an_admin_edit_is_recorded_with_user_and_reason(
    admin_client, integration, staff
):
    data = submitted_form(admin_client, integration)
    data["status"] = "active"
    data["change_reason"] = "Signed off by the client"

    response = admin_client.post(change_url(integration), data)

    assert response.status_code == 302
    entry = integration.history.first()
    assert (entry.version, entry.history_user, entry.history_change_reason) == (
        2,
        staff,
        "Signed off by the client",
    )
    assert entry.changed_fields == ["status"]


def test_the_admin_refuses_a_config_that_is_not_an_object(admin_client, integration):
    data = submitted_form(admin_client, integration)
    data["config"] = "[1, 2]"

    response = admin_client.post(change_url(integration), data)

    assert response.status_code == 200
    assert b"Must be a JSON object" in response.content
    assert integration.history.count() == 1


def test_an_admin_delete_is_recorded(admin_client, integration, staff):
    url = f"/admin/integrations/integration/{integration.pk}/delete/"
    response = admin_client.post(url, {"post": "yes"})

    assert response.status_code == 302
    entry = Integration.history.filter(id=integration.pk).first()
    assert (entry.change_type, entry.history_user) == ("deleted", staff)


def test_the_client_page_lists_its_integrations(admin_client, integration):
    response = admin_client.get(
        f"/admin/clients/client/{integration.client.pk}/change/"
    )

    assert integration.name.encode() in response.content


def test_a_save_over_a_newer_version_is_refused_not_lost(
    admin_client, integration, member
):
    data = submitted_form(admin_client, integration)
    integration.description = "saved through the API meanwhile"
    integration.record_change(member, "meanwhile").save()
    data["description"] = "the admin's late write"

    response = admin_client.post(change_url(integration), data)

    assert response.status_code == 200
    assert b"Someone saved version 2" in response.content
    integration.refresh_from_db()
    assert (integration.version, integration.description) == (
        2,
        "saved through the API meanwhile",
    )


def test_duplicate_keys_in_the_admin_config_are_refused(admin_client, integration):
    data = submitted_form(admin_client, integration)
    data["config"] = (
        '{"api_url": "http://127.0.0.1:9/a", "api_url": "http://127.0.0.1:9/b"}'
    )

    response = admin_client.post(change_url(integration), data)

    assert response.status_code == 200
    assert b"Duplicate keys" in response.content
    integration.refresh_from_db()
    assert integration.version == 1
