"""The discovery page: the operations found, filters, and choosing a health path."""

from __future__ import annotations

import pytest

from integrations.models import ApiDiscovery, Integration

pytestmark = pytest.mark.django_db

OPERATIONS = [
    {
        "method": "GET",
        "path": "/invoices",
        "summary": "List invoices",
        "operation_id": "listInvoices",
        "tags": ["Invoices"],
        "parameters": [],
        "request_media_types": [],
        "needs_auth": True,
        "relevant": True,
    },
    {
        "method": "GET",
        "path": "/health",
        "summary": "Health <script>alert(1)</script>",
        "operation_id": "health",
        "tags": [],
        "parameters": [],
        "request_media_types": [],
        "needs_auth": False,
        "relevant": False,
    },
    {
        "method": "POST",
        "path": "/pets",
        "summary": "Add a pet",
        "operation_id": "addPet",
        "tags": ["pets"],
        "parameters": [],
        "request_media_types": ["application/json"],
        "needs_auth": False,
        "relevant": False,
    },
]


@pytest.fixture
def discovered(integration):
    ApiDiscovery.objects.create(
        integration=integration,
        ok=True,
        source_url="http://127.0.0.1:9/openapi.json",
        title="Ledger API",
        api_version="1.0",
        spec_version="3.0.3",
        operation_count=len(OPERATIONS),
        operations=OPERATIONS,
        attempts=[
            {"url": "http://127.0.0.1:9/openapi.json", "outcome": "OpenAPI 3.0.3"}
        ],
    )
    return integration


def page(client, user, integration, query=""):
    client.force_login(user)
    return client.get(f"/integrations/{integration.pk}/discovery{query}")


def test_it_lists_the_operations_with_the_places_tried(client, member, discovered):
    response = page(client, member, discovered)

    assert response.status_code == 200
    body = response.content.decode()
    assert "Ledger API" in body and "/invoices" in body and "/pets" in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body
    assert "<script>alert(1)" not in body


def test_filters_narrow_the_table(client, member, discovered):
    body = page(client, member, discovered, "?relevant=1").content.decode()
    assert "/invoices" in body and "/pets" not in body

    body = page(client, member, discovered, "?method=post").content.decode()
    assert "/pets" in body and "/invoices" not in body

    body = page(client, member, discovered, "?q=health").content.decode()
    assert "/health" in body and "/pets" not in body


def test_choosing_a_health_path_is_a_recorded_change(client, member, discovered):
    body = page(client, member, discovered).content.decode()
    assert body.count("Use as health path") == 2

    response = client.post(
        f"/integrations/{discovered.pk}/discovery", {"health_path": "/health"}
    )

    assert response.status_code == 302
    discovered.refresh_from_db()
    assert discovered.config["health_path"] == "/health"
    entry = discovered.history.first()
    assert (entry.version, entry.history_user) == (2, member)
    assert entry.changed_fields == ["config.health_path"]


def test_a_bad_health_path_changes_nothing(client, member, discovered):
    client.force_login(member)

    client.post(f"/integrations/{discovered.pk}/discovery", {"health_path": "health"})

    discovered.refresh_from_db()
    assert discovered.version == 1


def test_a_reader_may_look_but_not_change(client, reader, discovered):
    assert page(client, reader, discovered).status_code == 200
    response = client.post(
        f"/integrations/{discovered.pk}/discovery", {"health_path": "/health"}
    )
    assert response.status_code == 403
    response = client.post(
        f"/integrations/{discovered.pk}/discovery", {"action": "discover"}
    )
    assert response.status_code == 403


def test_another_team_gets_404(client, outsider, discovered):
    assert page(client, outsider, discovered).status_code == 404


def test_without_discovery_the_page_shows_the_templates_endpoints(
    client, member, client_record
):
    odoo = Integration(
        client=client_record,
        name="Odoo",
        integration_type="odoo",
        config={"api_url": "https://erp.example", "database": "d", "username": "u"},
    )
    odoo.save()

    body = page(client, member, odoo).content.decode()

    assert "Nothing discovered yet" in body
    assert "/xmlrpc/2/common" in body


def test_anonymous_is_sent_to_login(client, integration):
    response = client.get(f"/integrations/{integration.pk}/discovery")

    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]
