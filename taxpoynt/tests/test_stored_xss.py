"""User text with script payloads, shown on every page and admin page, stays inert."""

from __future__ import annotations

import pytest

from clients.models import Client
from integrations.models import ApiDiscovery, Integration

pytestmark = pytest.mark.django_db

PAYLOADS = [
    "<svg onload=alert(1)>",
    '"><script>alert(2)</script>',
    "</script><script>alert(3)</script>",
    "<img src=x onerror=alert(4)>",
    "javascript:alert(5)//<a href=x>",
]


@pytest.fixture
def hostile(lagos_team, member):
    client = Client(name=PAYLOADS[0], address=PAYLOADS[3], team=lagos_team)
    client.record_change(member, PAYLOADS[3]).save()
    integration = Integration(
        client=client,
        name=PAYLOADS[1],
        integration_type="generic_rest",
        description=PAYLOADS[2],
        config={
            "api_url": "http://127.0.0.1:9/api",
            "auth_method": "api_key",
            "api_key_header": "X-Key",
            "health_path": "/" + PAYLOADS[2],
        },
    )
    integration.record_change(member, PAYLOADS[4]).save()
    integration.description = PAYLOADS[0]
    integration.record_change(member, PAYLOADS[2]).save()
    ApiDiscovery.objects.create(
        integration=integration,
        ok=True,
        title=PAYLOADS[1],
        operations=[
            {
                "method": "get",
                "path": "/" + PAYLOADS[2],
                "summary": PAYLOADS[0],
                "operation_id": PAYLOADS[3],
                "tags": [PAYLOADS[4]],
                "parameters": [],
                "request_media_types": [],
                "needs_auth": False,
                "relevant": True,
            }
        ],
        attempts=[{"url": PAYLOADS[3], "outcome": PAYLOADS[1]}],
    )
    return integration


def pages(integration) -> list[str]:
    pk, client_pk = integration.pk, integration.client_id
    history_id = integration.history.first().history_id
    return [
        "/integrations",
        f"/integrations?q={PAYLOADS[1]}",
        f"/integrations/{pk}",
        f"/integrations/{pk}/edit",
        f"/integrations/{pk}/clone",
        f"/integrations/{pk}/delete",
        f"/integrations/{pk}/history",
        f"/integrations/{pk}/history?a=1&b=2",
        f"/integrations/{pk}/discovery",
        f"/integrations/new?type=generic_rest&client={client_pk}",
        "/clients",
        f"/clients/{client_pk}",
        f"/clients/{client_pk}/edit",
        "/admin/integrations/integration/",
        f"/admin/integrations/integration/{pk}/change/",
        f"/admin/integrations/integration/{pk}/history/",
        f"/admin/integrations/integration/{pk}/history/{history_id}/",
        "/admin/clients/client/",
        f"/admin/clients/client/{client_pk}/change/",
        f"/admin/clients/client/{client_pk}/history/",
    ]


def test_every_page_shows_hostile_text_as_text(client, staff, hostile):
    client.force_login(staff)

    for url in pages(hostile):
        response = client.get(url)
        assert response.status_code == 200, url
        html = response.content.decode()
        for payload in PAYLOADS:
            assert payload not in html, f"{payload!r} unescaped on {url}"
