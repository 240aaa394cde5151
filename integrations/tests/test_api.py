"""The integrations API: access, writes, locking, bad input, queries and the schema."""

from __future__ import annotations

import json

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.authtoken.models import Token

from clients.models import Client
from conftest import api_as
from integrations.models import Integration

pytestmark = pytest.mark.django_db


def url(integration, suffix=""):
    return f"/api/integrations/{integration.pk}{suffix}"


@pytest.fixture
def abuja_integration(abuja_team):
    client = Client(name="Kano Textiles Plc", team=abuja_team)
    client.save()
    integration = Integration(client=client, name="Xero", integration_type="xero")
    integration.save()
    return integration


class TestAccess:
    def test_anonymous_gets_401(self, integration):
        assert api_as().get("/api/integrations").status_code == 401
        assert api_as().get(url(integration)).status_code == 401

    def test_staff_see_everything(self, staff, integration, abuja_integration):
        assert api_as(staff).get("/api/integrations").json()["count"] == 2

    def test_a_member_sees_only_its_teams_integrations(
        self, member, integration, abuja_integration
    ):
        api = api_as(member)

        assert api.get("/api/integrations").json()["count"] == 1
        for suffix in ("", "/history", "/history/1", "/diff?from=1&to=1"):
            assert api.get(url(abuja_integration, suffix)).status_code == 404, suffix
        assert api.patch(url(abuja_integration), {}, format="json").status_code == 404
        assert api.delete(url(abuja_integration)).status_code == 404

    def test_a_member_cannot_create_for_another_teams_client(
        self, member, abuja_integration
    ):
        response = api_as(member).post(
            "/api/integrations",
            {
                "client": abuja_integration.client.pk,
                "name": "Sneaky",
                "integration_type": "odoo",
            },
            format="json",
        )

        assert response.status_code == 400
        assert "client" in response.json()

    def test_a_reader_may_not_write(self, reader, integration):
        api = api_as(reader)

        assert api.get(url(integration)).status_code == 200
        assert (
            api.patch(url(integration), {"name": "x"}, format="json").status_code == 403
        )
        assert api.delete(url(integration)).status_code == 403

    def test_token_writes_are_recorded_with_the_tokens_user(self, member, integration):
        token = Token.objects.create(user=member)
        api = api_as()
        api.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")

        response = api.patch(
            url(integration), {"status": "active", "reason": "Go live"}, format="json"
        )

        assert response.status_code == 200
        entry = integration.history.first()
        assert (
            entry.history_user,
            entry.history_username,
            entry.history_change_reason,
        ) == (
            member,
            "ada",
            "Go live",
        )
        assert entry.request_id == response["X-Request-ID"]


class TestWriting:
    def test_create_starts_at_version_one(self, member, client_record):
        response = api_as(member).post(
            "/api/integrations",
            {
                "client": client_record.pk,
                "name": "Sage",
                "integration_type": "sage_business_cloud",
                "config": {"client_id": "sage-client", "business_id": "b-1"},
            },
            format="json",
        )

        assert response.status_code == 201, response.json()
        assert response.json()["version"] == 1
        assert response["ETag"] == '"v1"'

    def test_patch_merges_config_as_json_merge_patch(self, member, integration):
        response = api_as(member).patch(
            url(integration),
            {"config": {"schedule": "hourly", "retries": None, "health_path": "/up"}},
            format="json",
        )

        assert response.status_code == 200
        config = response.json()["config"]
        assert config["schedule"] == "hourly"
        assert "retries" not in config
        assert config["health_path"] == "/up"
        assert config["api_url"] == integration.config["api_url"]

    def test_put_replaces_the_whole_config(self, member, integration):
        body = {
            "client": integration.client.pk,
            "name": integration.name,
            "integration_type": integration.integration_type,
            "config": {"api_url": "http://127.0.0.1:9/v2", "auth_method": "none"},
        }
        response = api_as(member).put(url(integration), body, format="json")

        assert response.status_code == 200, response.json()
        assert response.json()["config"] == body["config"]

    def test_a_get_body_can_be_put_back_unchanged(self, member, integration):
        api = api_as(member)
        body = api.get(url(integration)).json()

        response = api.put(url(integration), body, format="json")

        assert response.status_code == 200
        assert response.json()["version"] == 1
        assert integration.history.count() == 1

    def test_a_write_that_changes_nothing_creates_no_version(self, member, integration):
        response = api_as(member).patch(
            url(integration), {"config": {"schedule": "daily"}}, format="json"
        )

        assert response.json()["version"] == 1
        assert integration.history.count() == 1

    def test_delete_leaves_a_readable_history(self, member, integration):
        api = api_as(member)

        assert (
            api.delete(url(integration), HTTP_X_CHANGE_REASON="Replaced").status_code
            == 204
        )
        assert api.get(url(integration)).status_code == 404
        history = api.get(url(integration, "/history")).json()["results"]
        assert [entry["change_type"] for entry in history] == ["deleted", "created"]
        assert history[0]["reason"] == "Replaced"
        assert (
            api.get(url(integration, "/history/1")).json()["config"]["schedule"]
            == "daily"
        )

    def test_the_history_of_a_deleted_integration_stays_hidden_from_other_teams(
        self, member, outsider, integration
    ):
        api_as(member).delete(url(integration))

        assert api_as(outsider).get(url(integration, "/history")).status_code == 404


class TestOptimisticLocking:
    def test_get_returns_the_version_and_a_strong_etag(self, member, integration):
        response = api_as(member).get(url(integration))

        assert response.json()["version"] == 1
        assert response["ETag"] == '"v1"'

    @pytest.mark.parametrize("method", ["put", "patch", "delete"])
    def test_a_stale_if_match_answers_412_and_changes_nothing(
        self, member, integration, method
    ):
        integration.description = "changed by someone else"
        integration.save()
        body = {
            "client": integration.client.pk,
            "name": "Renamed",
            "integration_type": "generic_rest",
            "config": integration.config,
        }

        response = getattr(api_as(member), method)(
            url(integration), body, format="json", HTTP_IF_MATCH='"v1"'
        )

        assert response.status_code == 412
        assert response.json()["current_version"] == 2
        integration.refresh_from_db()
        assert (integration.name, integration.version) == ("Odoo production", 2)

    def test_a_matching_if_match_is_accepted(self, member, integration):
        response = api_as(member).patch(
            url(integration), {"status": "active"}, format="json", HTTP_IF_MATCH='"v1"'
        )

        assert response.status_code == 200
        assert response["ETag"] == '"v2"'

    def test_a_weak_etag_never_matches(self, member, integration):
        response = api_as(member).patch(
            url(integration),
            {"status": "active"},
            format="json",
            HTTP_IF_MATCH='W/"v1"',
        )

        assert response.status_code == 412

    def test_a_stale_body_version_answers_409(self, member, integration):
        integration.description = "changed by someone else"
        integration.save()

        response = api_as(member).patch(
            url(integration), {"status": "active", "version": 1}, format="json"
        )

        assert response.status_code == 409
        assert response.json()["current_version"] == 2
        integration.refresh_from_db()
        assert integration.status == "draft"


class TestBadInput:
    BAD_BODIES = [
        ({"name": 5}, "name"),
        ({"name": ""}, "name"),
        ({"name": "a\x00b"}, "name"),
        ({"name": "x" * 300}, "name"),
        ({"status": "running"}, "status"),
        ({"status": 1}, "status"),
        ({"integration_type": "not a slug!"}, "integration_type"),
        ({"config": []}, "config"),
        ({"config": "text"}, "config"),
        ({"config": 3}, "config"),
        ({"config": {"auth": {"user": "a\x00b"}}}, "config.auth.user"),
        ({"config": {"bad\x00key": 1}}, "config"),
        ({"client": 999999}, "client"),
        ({"client": "1"}, "client"),
        ({"version": "1"}, "version"),
        ({"version": 0}, "version"),
        ({"unknown_field": 1}, "unknown_field"),
        ({"name": "ODOO PRODUCTION"}, "name"),
    ]

    @pytest.mark.parametrize("changes, field", BAD_BODIES)
    def test_a_bad_create_answers_400_by_field_and_changes_nothing(
        self, member, integration, changes, field
    ):
        body = {
            "client": integration.client.pk,
            "name": "New one",
            "integration_type": "generic_rest",
            "config": {"api_url": "http://127.0.0.1:9/api", "auth_method": "none"},
            **changes,
        }
        before = (Integration.objects.count(), Integration.history.count())

        response = api_as(member).post("/api/integrations", body, format="json")

        assert response.status_code == 400, response.content
        assert field in response.json(), response.json()
        assert (Integration.objects.count(), Integration.history.count()) == before

    @pytest.mark.parametrize("changes, field", BAD_BODIES[:-1])
    def test_a_bad_patch_answers_400_and_changes_nothing(
        self, member, integration, changes, field
    ):
        response = api_as(member).patch(url(integration), changes, format="json")

        assert response.status_code in (400, 409), response.content
        integration.refresh_from_db()
        assert integration.version == 1

    @pytest.mark.parametrize(
        "raw, status",
        [
            (b"{not json", 400),
            (b'{"name": "a", "name": "b"}', 400),
            (b'{"config": NaN}', 400),
            (b"\xff\xfe invalid utf-8", 400),
            (b"[" * 100000 + b"]" * 100000, 400),
            (b'{"description": "' + b"x" * (1024 * 1024 + 10) + b'"}', 413),
        ],
    )
    def test_malformed_bodies_answer_4xx(self, member, integration, raw, status):
        response = api_as(member).generic(
            "PATCH", url(integration), raw, content_type="application/json"
        )

        assert response.status_code == status, response.content
        assert "detail" in response.json()
        integration.refresh_from_db()
        assert integration.version == 1

    def test_a_wrong_content_type_answers_415(self, member, integration):
        response = api_as(member).generic(
            "PATCH", url(integration), "status=active", content_type="text/plain"
        )

        assert response.status_code == 415

    def test_bad_filters_answer_400(self, member, integration):
        api = api_as(member)

        assert api.get("/api/integrations?client=abc").status_code == 400
        assert api.get("/api/integrations?status=running").status_code == 400


class TestLists:
    def test_filters_search_and_ordering(self, member, integration, client_record):
        Integration(
            client=client_record,
            name="Zoho",
            integration_type="zoho_books",
            status="active",
        ).save()
        api = api_as(member)

        def names(query):
            return [
                item["name"]
                for item in api.get(f"/api/integrations?{query}").json()["results"]
            ]

        assert names("integration_type=zoho_books") == ["Zoho"]
        assert names("status=draft") == ["Odoo production"]
        assert names(f"client={client_record.pk}&ordering=-name") == [
            "Zoho",
            "Odoo production",
        ]
        assert names("search=adebayo") == ["Odoo production", "Zoho"]
        assert names("search=zoh") == ["Zoho"]

    def test_page_size_is_capped_at_500(self, member, integration):
        response = api_as(member).get("/api/integrations?page_size=100000")

        assert response.status_code == 200

    def test_query_count_does_not_grow_with_page_size(self, member, lagos_team):
        for number in range(3):
            client = Client(name=f"Client {number}", team=lagos_team)
            client.save()
            for kind in range(40):
                Integration(
                    client=client, name=f"I{kind}", integration_type="odoo"
                ).save()
        api = api_as(member)

        counts = []
        for size in (1, 100):
            with CaptureQueriesContext(connection) as queries:
                assert api.get(f"/api/integrations?page_size={size}").status_code == 200
            counts.append(len(queries))
        assert counts[0] == counts[1]


class TestClientFilter:
    def test_a_client_without_integrations_lists_nothing(self, member, lagos_team):
        empty = Client(name="New client", team=lagos_team)
        empty.save()

        response = api_as(member).get(f"/api/integrations?client={empty.pk}")

        assert response.status_code == 200
        assert response.json()["count"] == 0

    def test_a_client_of_another_team_answers_400_like_an_unknown_one(
        self, member, integration, abuja_team
    ):
        theirs = Client(name="Abuja client", team=abuja_team)
        theirs.save()
        api = api_as(member)

        for client_id in (theirs.pk, 987654):
            for written in (f"{client_id}", f"{client_id}.0", f" {client_id} "):
                response = api.get(f"/api/integrations?client={written}")
                assert response.status_code == 400
                assert response.json()["client"] == [
                    f"No client with id {client_id} that you may see."
                ]

    @pytest.mark.parametrize("value", ["abc", "1.5", "0", "-3", "9" * 30])
    def test_a_malformed_id_answers_400(self, member, integration, value):
        response = api_as(member).get(f"/api/integrations?client={value}")

        assert response.status_code == 400
        assert "client" in response.json()

    def test_a_bulk_test_of_an_unknown_client_answers_400(self, member, integration):
        response = api_as(member).post(
            "/api/integrations/test?client=987654", {}, format="json"
        )

        assert response.status_code == 400
        assert "987654" in response.json()["client"][0]

    def test_a_filtered_list_costs_no_query_to_check_the_client(
        self, member, integration, client_record
    ):
        api = api_as(member)
        unfiltered = queries_of(api, "/api/integrations")

        filtered = queries_of(api, f"/api/integrations?client={client_record.pk}")

        assert filtered == unfiltered

    def test_list_and_detail_name_the_client_alike(self, member, integration):
        api = api_as(member)

        listed = api.get("/api/integrations").json()["results"][0]

        assert listed == api.get(url(integration)).json()
        assert listed["client_name"] == "Adebayo Foods Ltd"

    def test_moving_an_integration_answers_with_the_new_clients_name(
        self, member, integration, lagos_team
    ):
        other = Client(name="Zenith Stores", team=lagos_team)
        other.save()

        response = api_as(member).patch(
            url(integration), {"client": other.pk}, format="json"
        )

        assert response.status_code == 200
        assert response.json()["client_name"] == "Zenith Stores"


def test_the_lists_count_reads_one_table_and_its_page_one_join(staff, integration):
    # Staff see every team, so nothing else needs the clients table in the count.
    Integration(
        client=integration.client, name="Second", integration_type="odoo"
    ).save()
    api = api_as(staff)
    cursor = api.get("/api/integrations?page_size=1").json()["next"]

    # Under other filters than its own, a cursor's page counts again.
    recounted = cursor.removeprefix("http://testserver") + "&integration_type=odoo"
    for path in ["/api/integrations", recounted]:
        with CaptureQueriesContext(connection) as queries:
            assert api.get(path).status_code == 200
        reading = [q["sql"] for q in queries if "integrations_integration" in q["sql"]]
        count, page = reading[0], reading[1]
        assert "COUNT(" in count and "clients_client" not in count, count
        assert "clients_client" in page and "COUNT(" not in page


def queries_of(api, path: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert api.get(path).status_code == 200
    return len(queries)


def test_the_schema_validates_as_openapi_3(tmp_path):
    target = tmp_path / "schema.json"
    call_command(
        "spectacular", "--validate", "--format", "openapi-json", "--file", target
    )

    schema = json.loads(target.read_text())
    assert schema["openapi"].startswith("3.")
    assert "/api/integrations/{id}/rollback/" in schema["paths"]


def test_schema_and_docs_are_served_without_a_cdn(member):
    api = api_as(member)

    assert api.get("/api/schema").status_code == 200
    docs = api.get("/api/docs")
    assert docs.status_code == 200
    assert b"cdn" not in docs.content.lower()


class TestSchedules:
    def test_each_integration_carries_its_next_five_runs(self, member, integration):
        body = api_as(member).get(url(integration)).json()

        assert len(body["next_runs"]) == 5
        assert all(run.endswith("+01:00") for run in body["next_runs"])

    def test_an_unknown_timezone_answers_400_with_a_suggestion(
        self, member, integration
    ):
        response = api_as(member).patch(
            url(integration), {"config": {"timezone": "africa/lagos"}}, format="json"
        )

        assert response.status_code == 400
        assert "Africa/Lagos" in response.json()["config.timezone"][0]

    @pytest.mark.parametrize("schedule", ["", "every tuesday", "61 * * * *", 5])
    def test_a_bad_schedule_answers_400(self, member, integration, schedule):
        response = api_as(member).patch(
            url(integration), {"config": {"schedule": schedule}}, format="json"
        )

        assert response.status_code == 400
        assert "config.schedule" in response.json()

    def test_spaces_around_the_timezone_are_trimmed(self, member, integration):
        response = api_as(member).patch(
            url(integration),
            {"config": {"timezone": " US/Eastern ", "schedule": "30 2 * * *"}},
            format="json",
        )

        assert response.status_code == 200, response.json()
        assert response.json()["config"]["timezone"] == "US/Eastern"


class TestKeysetPages:
    @pytest.fixture
    def five(self, client_record, lagos_team):
        other = Client(name="Zaria Mills", team=lagos_team)
        other.save()
        config = {"api_url": "http://127.0.0.1:9/api", "auth_method": "none"}
        for client, name in [
            (client_record, "B"),
            (client_record, "A"),
            (other, "A"),
            (client_record, "C"),
            (other, "B"),
        ]:
            Integration(
                client=client, name=name, integration_type="generic_rest", config=config
            ).save()

    def walk(self, api, url):
        seen = []
        while url:
            body = api.get(url).json()
            seen += [(item["client_name"], item["name"]) for item in body["results"]]
            url = body["next"]
        return seen, body

    def test_following_next_visits_every_row_once_in_order(self, member, five):
        seen, last = self.walk(api_as(member), "/api/integrations?page_size=2")

        assert seen == [
            ("Adebayo Foods Ltd", "A"),
            ("Adebayo Foods Ltd", "B"),
            ("Adebayo Foods Ltd", "C"),
            ("Zaria Mills", "A"),
            ("Zaria Mills", "B"),
        ]
        assert last["count"] == 5

    def test_next_is_a_cursor_in_the_default_order(self, member, five):
        body = api_as(member).get("/api/integrations?page_size=2").json()

        assert "cursor=" in body["next"]
        assert "page=" not in body["next"]

    def test_a_custom_order_uses_page_numbers(self, member, five):
        body = api_as(member).get("/api/integrations?page_size=2&ordering=-name").json()

        assert "page=2" in body["next"]

    @pytest.mark.parametrize(
        "query",
        [
            "cursor=nonsense",
            "cursor=W10",
            "cursor=WyJhIl0&ordering=name",
            "cursor=WzFd&page=2",
            "cursor=%E2%98%83:%00",
            "cursor=" + "A" * 5000,
        ],
    )
    def test_a_bad_cursor_answers_400(self, member, five, query):
        response = api_as(member).get(f"/api/integrations?{query}")

        assert response.status_code == 400
        assert "cursor" in response.json()

    def next_path(self, api, url):
        return api.get(url).json()["next"].removeprefix("http://testserver")

    def test_a_walk_counts_on_its_first_page_only(self, member, five):
        api = api_as(member)
        second = self.next_path(api, "/api/integrations?page_size=2")

        with CaptureQueriesContext(connection) as queries:
            body = api.get(second).json()

        assert body["count"] == 5
        assert not [q for q in queries if "COUNT(" in q["sql"]]

    def test_a_cursor_under_other_filters_or_another_user_counts_again(
        self, member, staff, five
    ):
        mine = self.next_path(api_as(member), "/api/integrations?page_size=2")
        Integration(
            client=Client.objects.get(name="Zaria Mills"),
            name="Z",
            integration_type="odoo",
            status="active",
        ).save()

        assert api_as(member).get(mine).json()["count"] == 5
        assert api_as(member).get(mine + "&status=active").json()["count"] == 1
        assert api_as(staff).get(mine).json()["count"] == 6

    def test_a_tampered_cursor_answers_400(self, member, five):
        api = api_as(member)
        path = self.next_path(api, "/api/integrations?page_size=2")
        cursor = path.split("cursor=")[1]
        forged = cursor.replace(cursor[2], "A" if cursor[2] != "A" else "B", 1)

        response = api.get(path.replace(cursor, forged))

        assert response.status_code == 400
        assert "cursor" in response.json()

    @pytest.mark.parametrize(
        "path",
        [
            "/api/clients",
            "/api/integrations/{id}/history",
            "/api/integrations/{id}/tests",
        ],
    )
    def test_lists_without_cursors_say_so(self, member, integration, path):
        response = api_as(member).get(path.format(id=integration.pk) + "?cursor=abc")

        assert response.status_code == 400
        assert response.json()["cursor"] == ["This list has no cursors: use ?page=N."]

    def test_other_lists_of_the_view_keep_page_numbers(self, member, integration):
        api = api_as(member)
        for number in range(3):
            api.patch(url(integration), {"description": f"d{number}"}, format="json")

        body = api.get(url(integration, "/history?page_size=2")).json()

        assert "page=2" in body["next"]


def test_the_direct_representation_matches_drfs_field_walk(member, integration):
    from rest_framework import serializers as drf

    from integrations.api.serializers import IntegrationSerializer

    integration.write_secrets({"api_key": "walk-key-not-real"})
    integration.config = {**integration.config, "auth_method": "api_key"}
    integration.save()
    integration = Integration.objects.select_related("client").get(pk=integration.pk)
    Integration.objects.filter(pk=integration.pk).update(last_test_status="ok")
    integration.refresh_from_db()
    serializer = IntegrationSerializer(context={"request": None})

    direct = serializer.to_representation(integration)
    walked = drf.ModelSerializer.to_representation(serializer, integration)

    assert json.loads(json.dumps(direct)) == json.loads(json.dumps(walked))
    assert list(direct) == list(walked)


@pytest.mark.parametrize("depth", [25, 500, 900, 990])
def test_deeply_nested_config_answers_400(member, integration, depth):
    raw = '{"config": {"extra": ' + "[" * depth + "]" * depth + "}}"

    response = api_as(member).generic(
        "PATCH", url(integration), raw, content_type="application/json"
    )

    assert response.status_code == 400, response.content
    integration.refresh_from_db()
    assert integration.version == 1
