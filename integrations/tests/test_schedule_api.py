"""GET /api/schedule-preview: a draft schedule's next runs, for any signed-in user."""

from __future__ import annotations

import pytest

from conftest import api_as

URL = "/api/schedule-preview"


def preview(user, **params):
    return api_as(user).get(URL, params)


@pytest.mark.django_db
class TestAnonymous:
    def test_it_refuses_anonymous_requests(self):
        response = preview(None, schedule="daily", timezone="Africa/Lagos")
        assert response.status_code == 401


@pytest.mark.django_db
class TestReader:
    """Any signed-in user may preview: it reads no one's data."""

    def test_it_previews_the_next_five_runs_in_the_schedule_zone(self, reader):
        response = preview(
            reader,
            schedule="30 2 * * *",
            timezone="America/New_York",
            after="2025-03-08T12:00:00Z",
        )

        assert response.status_code == 200
        assert response.json() == {
            "schedule": "30 2 * * *",
            "timezone": "America/New_York",
            "next_runs": [
                "2025-03-09T03:00:00-04:00",
                "2025-03-10T02:30:00-04:00",
                "2025-03-11T02:30:00-04:00",
                "2025-03-12T02:30:00-04:00",
                "2025-03-13T02:30:00-04:00",
            ],
        }

    def test_it_answers_with_a_trailing_slash_too(self, reader):
        response = api_as(reader).get(
            URL + "/",
            {"schedule": "daily", "timezone": "UTC", "after": "2025-01-01T00:00Z"},
        )
        assert response.status_code == 200
        assert response.json()["next_runs"][0] == "2025-01-02T00:00:00+00:00"

    def test_it_tidies_the_schedule_and_zone(self, reader):
        response = preview(
            reader,
            schedule="  Daily   02:30 ",
            timezone=" Africa/Lagos ",
            after="2025-03-29T12:00:00+01:00",
        )
        body = response.json()
        assert (body["schedule"], body["timezone"]) == ("daily 02:30", "Africa/Lagos")
        assert body["next_runs"][:2] == [
            "2025-03-30T02:30:00+01:00",
            "2025-03-31T02:30:00+01:00",
        ]

    def test_a_repeated_wall_time_runs_once(self, reader):
        response = preview(
            reader,
            schedule="30 1 * * *",
            timezone="America/New_York",
            after="2025-11-01T12:00:00Z",
        )
        assert response.json()["next_runs"][:2] == [
            "2025-11-02T01:30:00-04:00",
            "2025-11-03T01:30:00-05:00",
        ]

    def test_manual_has_no_runs(self, reader):
        response = preview(reader, schedule="manual", timezone="Africa/Lagos")
        assert response.status_code == 200
        assert response.json()["next_runs"] == []

    def test_after_defaults_to_now(self, reader):
        response = preview(reader, schedule="hourly", timezone="Africa/Lagos")
        assert response.status_code == 200
        assert len(response.json()["next_runs"]) == 5

    def test_it_accepts_legacy_zone_names(self, reader):
        response = preview(
            reader,
            schedule="daily",
            timezone="Asia/Calcutta",
            after="2025-01-01T00:00Z",
        )
        assert response.json()["next_runs"][0] == "2025-01-02T00:00:00+05:30"


@pytest.mark.django_db
class TestMistakes:
    def test_it_suggests_the_zone_meant(self, reader):
        response = preview(reader, schedule="daily", timezone="africa/lagos")
        assert response.status_code == 400
        assert "did you mean Africa/Lagos?" in response.json()["timezone"][0]

    @pytest.mark.parametrize("zone", ["", "  ", "Mars/Olympus", "x" * 3000])
    def test_it_refuses_unknown_or_empty_zones(self, reader, zone):
        response = preview(reader, schedule="daily", timezone=zone)
        assert response.status_code == 400
        assert list(response.json()) == ["timezone"]

    @pytest.mark.parametrize(
        "schedule", ["", "61 * * * *", "daily 25:00", "* * * *", "0 0 30 2 *"]
    )
    def test_it_refuses_bad_schedules(self, reader, schedule):
        response = preview(reader, schedule=schedule, timezone="Africa/Lagos")
        assert response.status_code == 400
        assert list(response.json()) == ["schedule"]

    def test_it_names_every_missing_parameter(self, reader):
        response = preview(reader)
        assert response.status_code == 400
        assert set(response.json()) == {"schedule", "timezone"}

    def test_it_asks_for_an_offset_on_a_naive_after(self, reader):
        response = preview(
            reader, schedule="daily", timezone="UTC", after="2025-03-09T00:00:00"
        )
        assert response.status_code == 400
        assert "add one" in response.json()["after"][0]

    @pytest.mark.parametrize("after", ["yesterday", "2025-13-01T00:00Z", ""])
    def test_it_refuses_an_after_that_is_not_iso_8601(self, reader, after):
        response = preview(reader, schedule="daily", timezone="UTC", after=after)
        assert response.status_code == 400
        assert "ISO 8601" in response.json()["after"][0]

    def test_an_unencoded_plus_in_after_is_explained(self, reader):
        response = api_as(reader).get(
            URL + "?schedule=daily&timezone=UTC&after=2025-03-09T00:00:00+01:00"
        )
        assert response.status_code == 400
        assert "%2B" in response.json()["after"][0]

    @pytest.mark.parametrize(
        "after", ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:00-14:00"]
    )
    def test_an_after_at_the_edge_of_the_calendar_is_no_500(self, reader, after):
        response = preview(reader, schedule="daily", timezone="UTC", after=after)
        assert response.status_code in (200, 400)
