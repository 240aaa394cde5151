"""Schedules: presets, cron, time zones and what daylight saving does to runs."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from integrations.schedules import (
    Schedule,
    ScheduleError,
    next_run,
    next_runs,
    parse_schedule,
    parse_timezone,
    schedule_errors,
)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def runs(schedule: str, zone: str, after: str, count: int = 5) -> list[str]:
    return [run.isoformat() for run in next_runs(schedule, zone, at(after), count)]


def utc(schedule: str, zone: str, after: str, count: int = 5) -> list[str]:
    found = next_runs(schedule, zone, at(after), count)
    return [run.astimezone(UTC).strftime("%Y-%m-%dT%H:%MZ") for run in found]


class TestPresets:
    @pytest.mark.parametrize(
        ("text", "cron"),
        [
            ("hourly", "0 * * * *"),
            ("hourly :15", "15 * * * *"),
            ("daily", "0 0 * * *"),
            ("daily 02:30", "30 2 * * *"),
            ("  Daily   2:30 ", "30 2 * * *"),
            ("weekdays 08:00", "0 8 * * 1-5"),
            ("weekly", "0 0 * * 1"),
            ("weekly fri 18:00", "0 18 * * 5"),
            ("weekly sunday", "0 0 * * 0"),
            ("weekly 09:00", "0 9 * * 1"),
            ("monthly", "0 0 1 * *"),
            ("monthly 15 06:00", "0 6 15 * *"),
            ("*/15 8-17 * * mon-fri", "*/15 8-17 * * mon-fri"),
        ],
    )
    def test_it_reads_presets_and_cron_as_cron(self, text, cron):
        assert parse_schedule(text).cron == cron

    def test_it_tidies_the_text(self):
        assert parse_schedule("  Daily   02:30 ") == Schedule(
            "daily 02:30", "30 2 * * *"
        )

    def test_manual_never_runs(self):
        assert parse_schedule("manual").is_manual
        assert next_runs("manual", "Africa/Lagos", at("2025-01-01T00:00Z")) == []
        assert next_run("manual", "Africa/Lagos", at("2025-01-01T00:00Z")) is None

    def test_weekly_runs_on_monday_at_midnight(self):
        assert runs("weekly", "Africa/Lagos", "2025-03-05T12:00:00Z", 2) == [
            "2025-03-10T00:00:00+01:00",
            "2025-03-17T00:00:00+01:00",
        ]

    def test_monthly_runs_on_the_day_given(self):
        assert runs("monthly 15 06:00", "Africa/Lagos", "2025-01-20T00:00Z", 2) == [
            "2025-02-15T06:00:00+01:00",
            "2025-03-15T06:00:00+01:00",
        ]

    def test_weekdays_skip_the_weekend(self):
        # 2025-03-07 is a Friday.
        assert runs("weekdays 08:00", "Africa/Lagos", "2025-03-07T09:00+01:00", 2) == [
            "2025-03-10T08:00:00+01:00",
            "2025-03-11T08:00:00+01:00",
        ]

    def test_runs_are_strictly_after_the_instant_given(self):
        assert runs("daily 02:30", "Africa/Lagos", "2025-03-10T02:30:00+01:00", 1) == [
            "2025-03-11T02:30:00+01:00"
        ]

    def test_it_answers_in_the_schedule_zone_whatever_zone_after_is_in(self):
        assert runs("daily 09:00", "Africa/Lagos", "2025-03-10T00:00:00-05:00", 1) == [
            "2025-03-10T09:00:00+01:00"
        ]

    def test_it_gives_five_runs_by_default(self):
        assert len(next_runs("*/15 8-17 * * 1-5", "UTC", at("2025-03-10T00:00Z"))) == 5


class TestSpringForwardInNewYork:
    """On 2025-03-09 New York clocks jump from 02:00 EST to 03:00 EDT (07:00Z)."""

    def test_a_skipped_wall_time_runs_once_when_the_gap_ends(self):
        assert runs("30 2 * * *", "America/New_York", "2025-03-08T12:00Z", 3) == [
            "2025-03-09T03:00:00-04:00",
            "2025-03-10T02:30:00-04:00",
            "2025-03-11T02:30:00-04:00",
        ]
        assert utc("30 2 * * *", "America/New_York", "2025-03-08T12:00Z", 1) == [
            "2025-03-09T07:00Z"
        ]

    def test_several_slots_in_the_gap_merge_into_one_run(self):
        assert runs("*/15 * * * *", "America/New_York", "2025-03-09T06:40Z", 4) == [
            "2025-03-09T01:45:00-05:00",
            "2025-03-09T03:00:00-04:00",
            "2025-03-09T03:15:00-04:00",
            "2025-03-09T03:30:00-04:00",
        ]

    def test_hourly_skips_the_missing_hour(self):
        assert runs("hourly", "America/New_York", "2025-03-09T05:30Z", 3) == [
            "2025-03-09T01:00:00-05:00",
            "2025-03-09T03:00:00-04:00",
            "2025-03-09T04:00:00-04:00",
        ]


class TestFallBackInNewYork:
    """On 2025-11-02 New York clocks go back from 02:00 EDT to 01:00 EST (06:00Z)."""

    def test_a_repeated_wall_time_runs_once_at_its_first_occurrence(self):
        assert runs("30 1 * * *", "America/New_York", "2025-11-01T12:00Z", 3) == [
            "2025-11-02T01:30:00-04:00",
            "2025-11-03T01:30:00-05:00",
            "2025-11-04T01:30:00-05:00",
        ]
        assert utc("30 1 * * *", "America/New_York", "2025-11-01T12:00Z", 1) == [
            "2025-11-02T05:30Z"
        ]

    def test_it_does_not_run_again_in_the_second_pass(self):
        # 06:10Z is 01:10 EST, in the second pass: 01:30 has already run today.
        assert runs("30 1 * * *", "America/New_York", "2025-11-02T06:10Z", 1) == [
            "2025-11-03T01:30:00-05:00"
        ]

    def test_every_quarter_hour_runs_once_per_wall_clock_slot(self):
        assert utc("*/15 * * * *", "America/New_York", "2025-11-02T05:20Z", 4) == [
            "2025-11-02T05:30Z",
            "2025-11-02T05:45Z",
            "2025-11-02T07:00Z",
            "2025-11-02T07:15Z",
        ]

    def test_hourly_follows_the_wall_clock_and_skips_the_repeated_hour(self):
        assert runs("0 * * * *", "America/New_York", "2025-11-02T04:30Z", 3) == [
            "2025-11-02T01:00:00-04:00",
            "2025-11-02T02:00:00-05:00",
            "2025-11-02T03:00:00-05:00",
        ]
        assert runs("hourly", "America/New_York", "2025-11-02T04:30Z", 3) == runs(
            "0 * * * *", "America/New_York", "2025-11-02T04:30Z", 3
        )


class TestBerlin:
    """Berlin: 02:00 becomes 03:00 on 2025-03-30, 03:00 becomes 02:00 on 2025-10-26."""

    def test_a_daily_run_in_the_gap_moves_to_03_00(self):
        assert runs("daily 02:30", "Europe/Berlin", "2025-03-28T12:00Z", 3) == [
            "2025-03-29T02:30:00+01:00",
            "2025-03-30T03:00:00+02:00",
            "2025-03-31T02:30:00+02:00",
        ]

    def test_a_daily_run_in_the_repeated_hour_runs_once_in_summer_time(self):
        assert runs("daily 02:30", "Europe/Berlin", "2025-10-24T12:00Z", 3) == [
            "2025-10-25T02:30:00+02:00",
            "2025-10-26T02:30:00+02:00",
            "2025-10-27T02:30:00+01:00",
        ]

    def test_a_daily_run_outside_the_changes_keeps_its_wall_time(self):
        assert runs("daily 06:00", "Europe/Berlin", "2025-03-29T12:00Z", 2) == [
            "2025-03-30T06:00:00+02:00",
            "2025-03-31T06:00:00+02:00",
        ]


class TestLagos:
    """Africa/Lagos has no daylight saving: always +01:00, whatever other zones do."""

    @pytest.mark.parametrize(
        "after",
        [
            "2025-03-08T12:00Z",
            "2025-03-29T12:00Z",
            "2025-10-25T12:00Z",
            "2025-11-01T12:00Z",
        ],
    )
    def test_it_never_shifts(self, after):
        found = next_runs("daily 02:30", "Africa/Lagos", at(after), 3)
        assert [run.strftime("%H:%M%z") for run in found] == ["02:30+0100"] * 3
        assert [run.astimezone(UTC).hour for run in found] == [1, 1, 1]

    def test_hourly_runs_every_hour_across_other_zones_changes(self):
        found = next_runs("*/30 * * * *", "Africa/Lagos", at("2025-11-02T04:50Z"), 6)
        gaps = {(b - a).total_seconds() for a, b in zip(found, found[1:], strict=False)}
        assert gaps == {1800.0}


class TestTimeZones:
    @pytest.mark.parametrize("name", ["US/Eastern", "Asia/Calcutta", "UTC"])
    def test_it_accepts_legacy_names_the_database_still_ships(self, name):
        assert parse_timezone(name).key == name

    def test_it_trims_spaces(self):
        assert parse_timezone("  Africa/Lagos ").key == "Africa/Lagos"

    def test_legacy_names_keep_their_rules(self):
        assert runs("30 2 * * *", "US/Eastern", "2025-03-08T12:00Z", 1) == [
            "2025-03-09T03:00:00-04:00"
        ]
        assert runs("daily 09:00", "Asia/Calcutta", "2025-03-08T12:00Z", 1) == [
            "2025-03-09T09:00:00+05:30"
        ]

    @pytest.mark.parametrize("name", ["", "  ", None])
    def test_it_refuses_an_empty_zone(self, name):
        with pytest.raises(ScheduleError, match="time zone is required") as error:
            parse_timezone(name)
        assert error.value.field == "timezone"

    def test_it_refuses_a_zone_that_is_not_text(self):
        with pytest.raises(ScheduleError, match="must be text"):
            parse_timezone(42)

    def test_it_refuses_an_unknown_zone_without_guessing_wildly(self):
        with pytest.raises(ScheduleError) as error:
            parse_timezone("Mars/Olympus")
        assert "Unknown time zone" in str(error.value)
        assert "did you mean" not in str(error.value)

    @pytest.mark.parametrize("name", ["africa/lagos", "Africa/Lagoss", "Afrika/Lagos"])
    def test_it_suggests_the_zone_meant(self, name):
        with pytest.raises(ScheduleError, match="did you mean Africa/Lagos"):
            parse_timezone(name)

    @pytest.mark.parametrize("name", ["localtime", "../etc/passwd", "x" * 5000])
    def test_it_refuses_files_that_are_not_zones(self, name):
        with pytest.raises(ScheduleError):
            parse_timezone(name)


class TestInvalidSchedules:
    @pytest.mark.parametrize(
        ("text", "message"),
        [
            ("", "schedule is required"),
            ("  ", "schedule is required"),
            (42, "must be text"),
            (None, "must be text"),
            ("61 * * * *", "minute 61 is out of range"),
            ("* 24 * * *", "hour 24 is out of range"),
            ("daily 25:00", "hours go from 00 to 23"),
            ("daily 2pm", "HH:MM"),
            ("* * * *", "five-field cron"),
            ("0 0 * * * *", "five-field cron"),
            ("@daily", "five-field cron"),
            ("0 0 30 2 *", "never runs"),
            ("0 0 L * *", "not a valid day of month"),
            ("0 0 * * 5#2", "not a valid day of week"),
            ("5-1 * * * *", "goes backwards"),
            ("*/0 * * * *", "at least 1"),
            ("hourly 15", "hourly :MM"),
            ("weekly funday", "not a day"),
            ("monthly 31", "1 to 28"),
            ("daily " + "1" * 200, "too long"),
        ],
    )
    def test_it_refuses_with_what_to_fix(self, text, message):
        with pytest.raises(ScheduleError, match=message) as error:
            parse_schedule(text)
        assert error.value.field == "schedule"

    def test_it_refuses_a_naive_after(self):
        with pytest.raises(ValueError, match="offset"):
            next_runs("daily", "Africa/Lagos", datetime(2025, 3, 9))


class TestScheduleErrors:
    def test_a_missing_schedule_and_zone_take_the_defaults(self):
        assert schedule_errors({}) == {}

    def test_it_accepts_a_valid_config(self):
        config = {"schedule": "weekly mon 09:00", "timezone": " US/Eastern "}
        assert schedule_errors(config) == {}

    def test_it_keys_errors_by_config_path(self):
        errors = schedule_errors(
            {"schedule": "daily 25:00", "timezone": "africa/lagos"}
        )
        assert set(errors) == {"config.schedule", "config.timezone"}
        assert "did you mean Africa/Lagos?" in errors["config.timezone"][0]

    @pytest.mark.parametrize("value", ["", None])
    def test_present_but_empty_is_an_error(self, value):
        errors = schedule_errors({"schedule": value, "timezone": value})
        assert set(errors) == {"config.schedule", "config.timezone"}


class TestEdgesOfTheCalendar:
    def test_it_stops_at_the_end_of_the_calendar(self):
        found = next_runs("daily", "UTC", at("9999-12-30T12:00Z"))
        assert [run.isoformat() for run in found] == ["9999-12-31T00:00:00+00:00"]

    def test_a_whole_skipped_day_becomes_one_run(self):
        # Samoa skipped 2011-12-30 entirely when it crossed the date line.
        assert runs("* * * * *", "Pacific/Apia", "2011-12-29T23:58:00-10:00", 3) == [
            "2011-12-29T23:59:00-10:00",
            "2011-12-31T00:00:00+14:00",
            "2011-12-31T00:01:00+14:00",
        ]
