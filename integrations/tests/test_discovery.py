"""Endpoint discovery against real public API descriptions served on loopback."""

from __future__ import annotations

import pytest
from django.core.cache import cache

from conftest import api_as, shared_fixtures
from integrations.models import ApiDiscovery, Integration
from integrations.tests.fakes import FakeServer, Reply

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def loopback_allowed(settings):
    settings.INTEGRATION_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    cache.clear()


def serving(documents: dict[str, tuple[bytes, str]], headers: dict | None = None):
    """A server answering the given paths with (body, content type), 404 elsewhere."""

    def route(seen):
        path = seen.path.split("?")[0]
        if path in documents:
            body, content_type = documents[path]
            return Reply(200, body, content_type)
        if path in ("/api", "/api/") and headers:
            return Reply(200, b"{}", headers=headers)
        return Reply(404, {"error": "not found"})

    return FakeServer(route)


def fixture(name: str) -> bytes:
    return (shared_fixtures("openapi") / name).read_bytes()


def custom_api(client_record, url, **config):
    integration = Integration(
        client=client_record,
        name="Custom ledger",
        integration_type="generic_rest",
        config={"api_url": url, "auth_method": "none", **config},
    )
    integration.save()
    return integration


def discover(api, integration):
    response = api.post(f"/api/integrations/{integration.pk}/discover")
    assert response.status_code == 200, response.content
    return response.json()


class TestFinding:
    def test_it_finds_a_json_document_in_a_usual_place(self, member, client_record):
        xero = {
            "/api/openapi.json": (
                fixture("xero-accounting-3.0.yaml"),
                "application/yaml",
            )
        }
        with serving(xero) as fake:
            result = discover(
                api_as(member), custom_api(client_record, fake.url + "/api")
            )

        assert result["ok"] is True, result["attempts"]
        assert result["title"]
        assert result["spec_version"].startswith("3.0")
        assert len(result["operations"]) == 235
        invoices = [op for op in result["operations"] if op["path"] == "/Invoices"]
        assert invoices and all(op["relevant"] for op in invoices)
        assert result["operations"][0]["relevant"] is True
        assert result["suggested_health_path"] == "/Organisation"

    def test_it_follows_a_service_desc_link_header(self, member, client_record):
        documents = {
            "/specs/ledger.json": (
                fixture("petstore-swagger-2.0.json"),
                "application/json",
            )
        }
        link = {"Link": '</specs/ledger.json>; rel="service-desc"'}
        with serving(documents, headers=link) as fake:
            result = discover(
                api_as(member), custom_api(client_record, fake.url + "/api")
            )

        assert result["ok"] is True
        assert result["source_url"].endswith("/specs/ledger.json")
        assert result["spec_version"] == "2.0"

    def test_it_reads_an_api_catalogue(self, member, client_record):
        catalogue = b'{"linkset": [{"anchor": "/api", "service-desc": [{"href": "/d/openapi.yaml"}]}]}'
        documents = {
            "/.well-known/api-catalog": (catalogue, "application/linkset+json"),
            "/d/openapi.yaml": (
                fixture("apideck-accounting-3.0.yaml"),
                "application/yaml",
            ),
        }
        with serving(documents) as fake:
            result = discover(
                api_as(member), custom_api(client_record, fake.url + "/api")
            )

        assert result["ok"] is True, result["attempts"]
        assert result["source_url"].endswith("/d/openapi.yaml")
        assert any(
            op["relevant"] and "invoice" in op["path"] for op in result["operations"]
        )

    def test_the_config_openapi_url_comes_first(self, member, client_record):
        documents = {
            "/docs/v3.json": (
                fixture("square-connect-swagger-2.0.json"),
                "application/json",
            )
        }
        with serving(documents) as fake:
            integration = custom_api(
                client_record, fake.url, openapi_url="/docs/v3.json"
            )
            result = discover(api_as(member), integration)

        assert result["ok"] is True
        assert result["attempts"][0]["url"].endswith("/docs/v3.json")
        assert len(result["attempts"]) == 1

    def test_nothing_found_is_a_200_listing_every_place_tried(
        self, member, client_record
    ):
        with serving({}) as fake:
            result = discover(
                api_as(member), custom_api(client_record, fake.url + "/api/v1")
            )

        assert result["ok"] is False
        tried = {attempt["url"] for attempt in result["attempts"]}
        assert fake.url + "/api/v1/openapi.json" in tried
        assert fake.url + "/openapi.json" in tried
        assert fake.url + "/.well-known/api-catalog" in tried
        assert fake.url + "/swagger/v1/swagger.json" in tried

    @pytest.mark.parametrize(
        "body, words",
        [
            (
                b"a: &a [x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a]\n"
                b"c: &c [*b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c]\n"
                b"e: &e [*d, *d, *d, *d, *d, *d, *d, *d]\nf: [*e, *e, *e, *e, *e, *e, *e, *e]\n",
                "alias",
            ),
            (
                b"{"
                + b'"a": ' * 0
                + b'"openapi": "3.0.0", "x": '
                + b"[" * 5000
                + b"]" * 5000
                + b"}",
                "deep",
            ),
            (b'{"hello": "world"}', "not an OpenAPI"),
            (b" " * (5 * 1024 * 1024 + 10), "5 MB"),
        ],
    )
    def test_hostile_documents_are_refused_with_a_clear_message(
        self, member, client_record, body, words
    ):
        with serving({"/openapi.json": (body, "application/yaml")}) as fake:
            result = discover(api_as(member), custom_api(client_record, fake.url))

        assert result["ok"] is False
        outcomes = " ".join(attempt["outcome"] for attempt in result["attempts"])
        assert words.lower() in outcomes.lower(), outcomes


class TestStoringAndAccess:
    def test_the_result_is_kept_and_readable(self, member, client_record):
        documents = {
            "/openapi.json": (fixture("petstore-expanded-3.0.yaml"), "application/yaml")
        }
        with serving(documents) as fake:
            integration = custom_api(client_record, fake.url)
            discover(api_as(member), integration)

        stored = ApiDiscovery.objects.get(integration=integration)
        assert (stored.ok, stored.operation_count) == (True, 4)
        body = (
            api_as(member).get(f"/api/integrations/{integration.pk}/discovery").json()
        )
        assert body["operation_count"] == 4
        integration.refresh_from_db()
        assert integration.version == 1

    def test_a_draft_config_can_be_discovered(self, member):
        documents = {
            "/openapi.json": (fixture("paystack-3.0.yaml"), "application/yaml")
        }
        with serving(documents) as fake:
            response = api_as(member).post(
                "/api/integration-types/generic_rest/discover",
                {"config": {"api_url": fake.url, "auth_method": "none"}},
                format="json",
            )

        assert response.status_code == 200
        assert response.json()["ok"] is True
        assert ApiDiscovery.objects.count() == 0

    def test_it_needs_the_test_permission(self, limited_member, integration):
        response = api_as(limited_member).post(
            f"/api/integrations/{integration.pk}/discover"
        )

        assert response.status_code == 403

    def test_another_team_gets_404(self, outsider, integration):
        response = api_as(outsider).post(f"/api/integrations/{integration.pk}/discover")

        assert response.status_code == 404

    def test_nothing_discovered_yet_answers_404(self, member, integration):
        response = api_as(member).get(f"/api/integrations/{integration.pk}/discovery")

        assert response.status_code == 404


@pytest.mark.parametrize(
    "reply",
    [
        Reply(200, b"[" * 100000, "application/linkset+json"),
        Reply(302, b"", headers={"Location": "javascript:alert(1)"}),
        Reply(302, b"", headers={"Location": "http://[::1"}),
        Reply(200, b"{}", headers={"Link": '<http://[::1>; rel="service-desc"'}),
    ],
)
def test_hostile_answers_on_the_way_give_a_result_not_a_crash(
    member, client_record, reply
):
    with FakeServer(lambda seen: reply) as fake:
        response = api_as(member).post(
            "/api/integration-types/generic_rest/discover",
            {"config": {"api_url": fake.url + "/api", "auth_method": "none"}},
            format="json",
        )

    assert response.status_code == 200, response.content
    assert response.json()["ok"] is False
