"""The clients API, told from the point of view of each kind of user."""

from __future__ import annotations

import pytest

from clients.models import Client
from conftest import api_as
from integrations.models import Integration

pytestmark = pytest.mark.django_db


@pytest.fixture
def abuja_client(db, abuja_team):
    client = Client(name="Kano Textiles Plc", team=abuja_team)
    client.save()
    return client


class TestAnonymous:
    def test_it_gets_401_in_json(self, client_record):
        response = api_as().get("/api/clients")

        assert response.status_code == 401
        assert response.json() == {
            "detail": "Authentication credentials were not provided."
        }

    def test_token_authentication_works(self, member, client_record):
        from rest_framework.authtoken.models import Token

        token = Token.objects.create(user=member)
        api = api_as()
        api.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")

        assert api.get("/api/clients").status_code == 200


class TestTeamMember:
    def test_it_lists_only_its_teams_clients(self, member, client_record, abuja_client):
        response = api_as(member).get("/api/clients")

        assert response.status_code == 200
        assert [item["name"] for item in response.json()["results"]] == [
            client_record.name
        ]
        assert response.json()["count"] == 1

    def test_another_teams_client_answers_404(self, member, abuja_client):
        api = api_as(member)

        assert api.get(f"/api/clients/{abuja_client.pk}").status_code == 404
        assert (
            api.patch(f"/api/clients/{abuja_client.pk}", {"phone": "1"}).status_code
            == 404
        )
        assert api.delete(f"/api/clients/{abuja_client.pk}").status_code == 404

    def test_it_creates_a_client_in_its_team_with_history(self, member, lagos_team):
        response = api_as(member).post(
            "/api/clients",
            {"name": "Rivers Marine", "tin": "1234567890", "reason": "New contract"},
            format="json",
            HTTP_X_REQUEST_ID="req-1",
        )

        assert response.status_code == 201, response.json()
        client = Client.objects.get(name="Rivers Marine")
        assert client.team == lagos_team
        entry = client.history.get()
        assert (entry.history_user, entry.history_change_reason, entry.request_id) == (
            member,
            "New contract",
            "req-1",
        )

    def test_it_may_not_put_a_client_in_another_team(self, member, abuja_team):
        response = api_as(member).post(
            "/api/clients", {"name": "Elsewhere", "team": abuja_team.pk}, format="json"
        )

        assert response.status_code == 400
        assert "team" in response.json()
        assert not Client.objects.filter(name="Elsewhere").exists()

    def test_trailing_slash_is_optional_and_never_redirects(
        self, member, client_record
    ):
        api = api_as(member)
        url = f"/api/clients/{client_record.pk}"

        assert api.get("/api/clients/").status_code == 200
        assert api.patch(url + "/", {"phone": "1"}, format="json").status_code == 200
        assert api.patch(url, {"phone": "2"}, format="json").status_code == 200

    def test_the_reason_may_come_from_a_header(self, member, client_record):
        api_as(member).patch(
            f"/api/clients/{client_record.pk}",
            {"phone": "+234 1"},
            format="json",
            HTTP_X_CHANGE_REASON="Phone from the contract",
        )

        assert (
            client_record.history.first().history_change_reason
            == "Phone from the contract"
        )

    def test_filters_and_search(self, member, client_record, lagos_team):
        Client(name="Inactive Ltd", team=lagos_team, is_active=False).save()
        api = api_as(member)

        assert api.get("/api/clients?is_active=false").json()["count"] == 1
        assert api.get("/api/clients?search=12345678").json()["count"] == 1
        assert api.get("/api/clients?search=adebayo").json()["count"] == 1
        assert api.get("/api/clients?is_active=maybe").status_code == 400


class TestDeleting:
    def test_a_client_with_integrations_answers_409_saying_how_many(
        self, member, integration
    ):
        response = api_as(member).delete(f"/api/clients/{integration.client.pk}")

        assert response.status_code == 409
        assert "1 integration" in response.json()["detail"]
        assert Client.objects.filter(pk=integration.client.pk).exists()

    def test_an_empty_client_is_deleted_with_a_history_entry(
        self, member, client_record
    ):
        response = api_as(member).delete(f"/api/clients/{client_record.pk}")

        assert response.status_code == 204
        entry = Client.history.filter(id=client_record.pk).first()
        assert (entry.change_type, entry.history_user) == ("deleted", member)


class TestReader:
    def test_it_reads_but_may_not_write(self, reader, client_record):
        api = api_as(reader)

        assert api.get(f"/api/clients/{client_record.pk}").status_code == 200
        response = api.patch(
            f"/api/clients/{client_record.pk}", {"phone": "1"}, format="json"
        )
        assert response.status_code == 403
        assert api.post("/api/clients", {"name": "X"}, format="json").status_code == 403


class TestBadInput:
    @pytest.mark.parametrize(
        "body, field",
        [
            ({"name": ""}, "name"),
            ({"name": "   "}, "name"),
            ({"name": 42}, None),
            ({"name": ["a"]}, "name"),
            ({"name": "a\x00b"}, "name"),
            ({"name": "x" * 201}, "name"),
            ({"name": "Valid", "tin": "123"}, "tin"),
            ({"name": "Valid", "contact_email": "not an email"}, "contact_email"),
            ({"name": "Valid", "is_active": "perhaps"}, "is_active"),
            ({"name": "Valid", "team": 999999}, "team"),
            ({"name": "ADEBAYO FOODS LTD"}, "name"),
            ({"name": "Valid", "reason": 5}, None),
        ],
    )
    def test_it_answers_400_by_field_and_changes_nothing(
        self, staff, client_record, body, field
    ):
        before = (Client.objects.count(), Client.history.count())

        response = api_as(staff).post("/api/clients", body, format="json")

        assert response.status_code == 400, response.content
        if field:
            assert field in response.json()
        assert (Client.objects.count(), Client.history.count()) == before

    def test_a_duplicate_tin_answers_400(self, staff, client_record):
        response = api_as(staff).post(
            "/api/clients", {"name": "Other", "tin": client_record.tin}, format="json"
        )

        assert response.status_code == 400
        assert "tin" in response.json()


def test_list_query_count_does_not_grow_with_page_size(
    staff, lagos_team, django_assert_max_num_queries
):
    for number in range(120):
        Client(name=f"Client {number:03}", team=lagos_team).save()
    Integration(client=Client.objects.first(), name="I", integration_type="odoo").save()
    api = api_as(staff)

    counts = []
    for size in (1, 100):
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as queries:
            assert api.get(f"/api/clients?page_size={size}").status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1]


def test_a_member_may_not_take_a_client_out_of_every_team(member, client_record):
    response = api_as(member).patch(
        f"/api/clients/{client_record.pk}", {"team": None}, format="json"
    )

    assert response.status_code == 400
    assert "team" in response.json()
    client_record.refresh_from_db()
    assert client_record.team is not None


@pytest.mark.parametrize("tin", ["１１１１１１１１-０００１", "١٢٣٤٥٦٧٨٩٠"])
def test_a_tin_in_other_scripts_digits_is_refused(staff, tin):
    response = api_as(staff).post(
        "/api/clients", {"name": "Wide", "tin": tin}, format="json"
    )

    assert response.status_code == 400
    assert "tin" in response.json()
