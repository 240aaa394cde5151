"""History, diff, rollback and clone of integrations through the API."""

from __future__ import annotations

import pytest

from clients.models import Client
from conftest import api_as
from integrations.models import Integration

pytestmark = pytest.mark.django_db


def url(integration, suffix=""):
    return f"/api/integrations/{integration.pk}{suffix}"


@pytest.fixture
def three_versions(integration, member):
    """v1 as created, v2 with an hourly schedule, v3 active."""
    api = api_as(member)
    api.patch(
        url(integration),
        {"config": {"schedule": "hourly"}, "reason": "Month end"},
        format="json",
    )
    api.patch(
        url(integration), {"status": "active"}, format="json", HTTP_X_REQUEST_ID="r-3"
    )
    integration.refresh_from_db()
    return integration


class TestHistory:
    def test_it_lists_versions_newest_first_with_who_why_and_what(
        self, member, three_versions
    ):
        results = api_as(member).get(url(three_versions, "/history")).json()["results"]

        assert [entry["version"] for entry in results] == [3, 2, 1]
        assert results[0]["changed_fields"] == ["status"]
        assert results[0]["request_id"] == "r-3"
        assert results[1] == {
            **results[1],
            "user": "ada",
            "change_type": "updated",
            "reason": "Month end",
            "changed_fields": ["config.schedule"],
        }
        assert results[2]["change_type"] == "created"

    def test_one_version_has_its_full_state(self, member, three_versions):
        response = api_as(member).get(url(three_versions, "/history/2"))

        assert response.status_code == 200
        body = response.json()
        assert (body["version"], body["status"], body["config"]["schedule"]) == (
            2,
            "draft",
            "hourly",
        )

    def test_an_unknown_version_answers_404(self, member, three_versions):
        assert api_as(member).get(url(three_versions, "/history/99")).status_code == 404


class TestDiff:
    def test_it_lists_field_level_differences(self, member, three_versions):
        response = api_as(member).get(url(three_versions, "/diff?from=1&to=3"))

        assert response.status_code == 200
        assert response.json() == {
            "from_version": 1,
            "to_version": 3,
            "changes": [
                {"field": "status", "old": "draft", "new": "active"},
                {"field": "config.schedule", "old": "daily", "new": "hourly"},
            ],
        }

    @pytest.mark.parametrize(
        "query, status",
        [("", 400), ("?from=1", 400), ("?from=a&to=2", 400), ("?from=1&to=9", 404)],
    )
    def test_bad_versions_answer_4xx(self, member, three_versions, query, status):
        assert (
            api_as(member).get(url(three_versions, f"/diff{query}")).status_code
            == status
        )


class TestRollback:
    def test_it_restores_an_old_state_as_a_new_version(self, member, three_versions):
        response = api_as(member).post(
            url(three_versions, "/rollback"),
            {"version": 1, "reason": "Back to daily"},
            format="json",
            HTTP_IF_MATCH='"v3"',
        )

        assert response.status_code == 200, response.json()
        assert response.json()["version"] == 4
        assert response.json()["config"]["schedule"] == "daily"
        assert response.json()["status"] == "draft"
        entry = three_versions.history.first()
        assert (entry.version, entry.change_type, entry.history_change_reason) == (
            4,
            "rolled_back",
            "Back to daily",
        )
        assert three_versions.history.count() == 4

    def test_rolling_back_to_the_current_state_creates_nothing(
        self, member, three_versions
    ):
        response = api_as(member).post(
            url(three_versions, "/rollback"), {"version": 3}, format="json"
        )

        assert response.status_code == 200
        assert "nothing changed" in response.json()["detail"]
        assert three_versions.history.count() == 3

    def test_an_unknown_version_answers_404(self, member, three_versions):
        response = api_as(member).post(
            url(three_versions, "/rollback"), {"version": 42}, format="json"
        )

        assert response.status_code == 404

    @pytest.mark.parametrize(
        "body", [{}, {"version": "1"}, {"version": 0}, {"version": None}]
    )
    def test_a_malformed_body_answers_400(self, member, three_versions, body):
        response = api_as(member).post(
            url(three_versions, "/rollback"), body, format="json"
        )

        assert response.status_code == 400

    def test_a_stale_if_match_answers_412(self, member, three_versions):
        response = api_as(member).post(
            url(three_versions, "/rollback"),
            {"version": 1},
            format="json",
            HTTP_IF_MATCH='"v2"',
        )

        assert response.status_code == 412
        assert three_versions.history.count() == 3

    def test_it_needs_the_rollback_permission(self, limited_member, three_versions):
        response = api_as(limited_member).post(
            url(three_versions, "/rollback"), {"version": 1}, format="json"
        )

        assert response.status_code == 403
        assert three_versions.history.count() == 3

    def test_another_team_gets_404(self, outsider, three_versions):
        response = api_as(outsider).post(
            url(three_versions, "/rollback"), {"version": 1}, format="json"
        )

        assert response.status_code == 404


class TestClone:
    def test_it_copies_into_the_same_client_as_a_draft(self, member, three_versions):
        response = api_as(member).post(
            url(three_versions, "/clone"), {"name": "Odoo staging"}, format="json"
        )

        assert response.status_code == 201, response.json()
        body = response.json()
        assert (body["client"], body["status"], body["version"]) == (
            three_versions.client.pk,
            "draft",
            1,
        )
        assert body["config"] == three_versions.config
        copy = Integration.objects.get(pk=body["id"])
        entry = copy.history.get()
        assert entry.change_type == "cloned"
        assert entry.history_change_reason.startswith("cloned from Odoo production v3")

    def test_it_copies_into_another_accessible_client(
        self, member, three_versions, lagos_team
    ):
        other = Client(name="Rivers Marine", team=lagos_team)
        other.save()

        response = api_as(member).post(
            url(three_versions, "/clone"),
            {"name": "Odoo production", "client": other.pk},
            format="json",
        )

        assert response.status_code == 201
        assert response.json()["client"] == other.pk

    def test_an_inaccessible_client_answers_400(
        self, member, three_versions, abuja_team
    ):
        hidden = Client(name="Hidden", team=abuja_team)
        hidden.save()

        response = api_as(member).post(
            url(three_versions, "/clone"),
            {"name": "Copy", "client": hidden.pk},
            format="json",
        )

        assert response.status_code == 400
        assert "client" in response.json()
        assert not Integration.objects.filter(name="Copy").exists()

    @pytest.mark.parametrize("name", ["ODOO production", "", "   ", None])
    def test_a_taken_or_empty_name_answers_400(self, member, three_versions, name):
        response = api_as(member).post(
            url(three_versions, "/clone"), {"name": name}, format="json"
        )

        assert response.status_code == 400
        assert "name" in response.json()
        assert Integration.objects.count() == 1

    def test_it_needs_the_add_permission(self, reader, three_versions):
        response = api_as(reader).post(
            url(three_versions, "/clone"), {"name": "Copy"}, format="json"
        )

        assert response.status_code == 403
