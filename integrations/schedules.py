"""When an integration runs: its schedule, its time zone and its next runs.

A schedule is a preset or a standard five-field cron expression, read in the
integration's own IANA time zone. Presets (case does not matter; HH:MM is 24-hour,
and leaving it out means 00:00):

    manual                  never runs on its own
    hourly                  every hour at minute 0
    hourly :15              every hour at minute 15
    daily                   every day at 00:00
    daily 02:30             every day at 02:30
    weekdays 08:00          Monday to Friday at 08:00
    weekly                  every Monday at 00:00
    weekly fri 18:00        every Friday at 18:00 (mon ... sun, or the full name)
    monthly                 the 1st of every month at 00:00
    monthly 15 06:00        the 15th of every month at 06:00 (days 1 to 28 only,
                            so that no month is skipped; use cron for the 29th-31st)

Cron is the usual minute, hour, day of month, month, day of week, with numbers,
`*`, ranges, lists, steps and English names ("*/15 8-17 * * mon-fri"). As in
classic cron, when both day of month and day of week are restricted, either one
matches. Extensions such as `@daily`, `L`, `#`, `?` and seconds are refused.

Every schedule, presets included, names wall-clock times. Daylight saving time:

- A wall time that does not exist (the gap when clocks spring forward) runs once,
  at the first valid instant after the gap: 02:30 in New York on 2025-03-09 runs
  at 03:00 EDT. Several slots in the same gap ("*/15 * * * *") become that one run.
- A wall time that happens twice (clocks fall back) runs once, at its first
  occurrence: 01:30 in New York on 2025-11-02 runs at 01:30 EDT, not again at
  01:30 EST. The second pass through the repeated hour is skipped entirely, so
  "hourly" and "*/15 * * * *" run once per wall-clock slot, never twice.
- Consequently "hourly" follows the wall clock, not elapsed time: on a fall-back
  day there is a two-hour pause between 01:00 EDT and 02:00 EST, and on a
  spring-forward day 02:00 and 03:00 merge into one run at 03:00.

Zones without daylight saving time, such as Africa/Lagos (always UTC+01:00),
never shift.
"""

from __future__ import annotations

import difflib
import re
import zoneinfo
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache, lru_cache
from typing import Any

from croniter import CroniterBadDateError, croniter

DEFAULT_SCHEDULE = "daily"
DEFAULT_TIME_ZONE = "Africa/Lagos"
MAX_LENGTH = 100

# Files in the zone database that are not places a user would mean.
NOT_ZONES = frozenset({"localtime", "posixrules", "Factory"})

DAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]
FULL_DAYS = [
    "sunday",
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
]
MONTHS = [
    "jan",
    "feb",
    "mar",
    "apr",
    "may",
    "jun",
    "jul",
    "aug",
    "sep",
    "oct",
    "nov",
    "dec",
]

# name, lowest, highest, names allowed in the field
CRON_FIELDS = [
    ("minute", 0, 59, ()),
    ("hour", 0, 23, ()),
    ("day of month", 1, 31, ()),
    ("month", 1, 12, MONTHS),
    ("day of week", 0, 7, DAYS),
]
CRON_PART = re.compile(r"^(\*|[a-z0-9]+(?:-[a-z0-9]+)?)(?:/([0-9]+))?$")
TIME_OF_DAY = re.compile(r"^([0-9]{1,2}):([0-9]{2})$")
EXAMPLES = '"daily 02:30", "weekly mon 09:00" or a cron expression such as "0 2 * * *"'

# Enough to cross the longest gap ever seen (Samoa skipped a whole day in 2011)
# with a run every minute, while still ending on any input.
MAX_STEPS = 5_000


class ScheduleError(ValueError):
    """A schedule or time zone that cannot be used; says which field and what to fix."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Schedule:
    """A parsed schedule: its tidied text and the cron it means (None for manual)."""

    text: str
    cron: str | None

    @property
    def is_manual(self) -> bool:
        return self.cron is None


# Time zones


@cache
def _zone_names() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones()) - NOT_ZONES


@cache
def _zone_names_by_lowercase() -> dict[str, str]:
    return {name.lower(): name for name in _zone_names()}


def _zone_suggestion(name: str) -> str | None:
    same_but_case = _zone_names_by_lowercase().get(name.lower())
    if same_but_case:
        return same_but_case
    if len(name) > MAX_LENGTH:
        return None
    close = difflib.get_close_matches(
        name.lower(), list(_zone_names_by_lowercase()), n=1, cutoff=0.8
    )
    return _zone_names_by_lowercase()[close[0]] if close else None


def parse_timezone(name: Any) -> zoneinfo.ZoneInfo:
    """Return the zone an IANA name (spaces around it ignored) stands for."""
    if name is None or (isinstance(name, str) and not name.strip()):
        raise ScheduleError(
            "timezone",
            "A time zone is required: give an IANA name such as Africa/Lagos.",
        )
    if not isinstance(name, str):
        raise ScheduleError(
            "timezone", "The time zone must be text, an IANA name such as Africa/Lagos."
        )

    name = name.strip()
    if name in _zone_names():
        return zoneinfo.ZoneInfo(name)

    suggestion = _zone_suggestion(name)
    shown = name if len(name) <= 60 else name[:57] + "..."
    hint = (
        f"did you mean {suggestion}?"
        if suggestion
        else "use an IANA name such as Africa/Lagos or Europe/London."
    )
    raise ScheduleError("timezone", f'Unknown time zone "{shown}": {hint}')


# Schedules


def _schedule_error(message: str) -> ScheduleError:
    return ScheduleError("schedule", message)


def _time_of_day(text: str | None, preset: str) -> tuple[int, int]:
    if text is None:
        return 0, 0
    match = TIME_OF_DAY.match(text)
    if not match:
        raise _schedule_error(
            f'"{preset}" takes a time of day as HH:MM (24-hour), such as 02:30.'
        )
    hour, minute = int(match[1]), int(match[2])
    if hour > 23 or minute > 59:
        raise _schedule_error(
            f'"{text}" is not a time of day: hours go from 00 to 23 and minutes '
            "from 00 to 59."
        )
    return hour, minute


def _hourly(words: list[str]) -> str:
    if not words:
        return "0 * * * *"
    if len(words) == 1 and re.fullmatch(r":[0-9]{1,2}", words[0]):
        minute = int(words[0][1:])
        if minute <= 59:
            return f"{minute} * * * *"
    raise _schedule_error(
        'Use "hourly" (at minute 0) or "hourly :MM", such as "hourly :15" '
        "(minutes 00 to 59)."
    )


def _daily(words: list[str], preset: str, days: str = "*") -> str:
    if len(words) > 1:
        raise _schedule_error(f'Use "{preset}" or "{preset} HH:MM", such as 02:30.')
    hour, minute = _time_of_day(words[0] if words else None, preset)
    return f"{minute} {hour} * * {days}"


def _weekly(words: list[str]) -> str:
    day = 1
    if words and not TIME_OF_DAY.match(words[0]):
        name = words.pop(0)
        if name in DAYS:
            day = DAYS.index(name)
        elif name in FULL_DAYS:
            day = FULL_DAYS.index(name)
        else:
            raise _schedule_error(
                f'"{name[:20]}" is not a day: use mon, tue, wed, thu, fri, sat or sun, '
                'as in "weekly mon 09:00".'
            )
    if len(words) > 1:
        raise _schedule_error('Use "weekly DAY HH:MM", such as "weekly mon 09:00".')
    hour, minute = _time_of_day(words[0] if words else None, "weekly")
    return f"{minute} {hour} * * {day}"


def _monthly(words: list[str]) -> str:
    day = 1
    if words and not TIME_OF_DAY.match(words[0]):
        text = words.pop(0)
        if not text.isdigit() or not 1 <= int(text) <= 28:
            raise _schedule_error(
                f'"{text[:20]}" is not a day for "monthly": use 1 to 28 so that every '
                'month has a run, or a cron expression such as "0 6 31 * *".'
            )
        day = int(text)
    if len(words) > 1:
        raise _schedule_error('Use "monthly DAY HH:MM", such as "monthly 15 06:00".')
    hour, minute = _time_of_day(words[0] if words else None, "monthly")
    return f"{minute} {hour} {day} * *"


def _cron_value(text: str, field: tuple[str, int, int, tuple[str, ...]]) -> int:
    name, low, high, names = field
    if text in names:
        return names.index(text) + (1 if names is MONTHS else 0)
    if not text.isdigit():
        raise _schedule_error(f'"{text[:20]}" is not a valid {name} in cron.')
    value = int(text)
    if not low <= value <= high:
        raise _schedule_error(
            f"The {name} {value} is out of range: use {low} to {high} in cron."
        )
    return value


def _check_cron_field(text: str, field: tuple[str, int, int, tuple[str, ...]]) -> None:
    for part in text.split(","):
        match = CRON_PART.match(part)
        if not match:
            raise _schedule_error(
                f'"{part[:20]}" is not a valid {field[0]} in cron: use numbers, *, '
                "ranges such as 1-5, lists such as 1,15 and steps such as */15."
            )
        if match[1] != "*":
            bounds = [_cron_value(value, field) for value in match[1].split("-")]
            if len(bounds) == 2 and bounds[0] > bounds[1]:
                raise _schedule_error(
                    f'The {field[0]} range "{match[1]}" goes backwards in cron.'
                )
        if match[2] is not None and int(match[2]) == 0:
            raise _schedule_error(f'The step in "{part}" must be at least 1.')


def _cron(text: str) -> str:
    fields = text.split(" ")
    if len(fields) != 5:
        raise _schedule_error(
            f'"{text[:40]}" is neither a preset nor a five-field cron expression '
            f"(minute hour day month weekday): use {EXAMPLES}."
        )
    for field_text, field in zip(fields, CRON_FIELDS, strict=True):
        _check_cron_field(field_text, field)

    try:
        croniter(text, datetime(2000, 1, 1)).get_next(datetime)
    except CroniterBadDateError:
        raise _schedule_error(
            f'"{text}" never runs: no date matches it (such as 30 February).'
        ) from None
    except (ValueError, KeyError) as error:
        raise _schedule_error(f'"{text}" is not a valid cron expression.') from error
    return text


PRESETS = {
    "hourly": _hourly,
    "daily": lambda words: _daily(words, "daily"),
    "weekdays": lambda words: _daily(words, "weekdays", days="1-5"),
    "weekly": _weekly,
    "monthly": _monthly,
}


def parse_schedule(text: Any) -> Schedule:
    """Read a preset or a cron expression; see the module docstring for the syntax."""
    if not isinstance(text, str):
        raise _schedule_error(f"The schedule must be text, such as {EXAMPLES}.")
    words = text.lower().split()
    if not words:
        raise _schedule_error(f"A schedule is required, such as {EXAMPLES}.")
    if len(text) > MAX_LENGTH:
        raise _schedule_error(
            f"The schedule is too long: {MAX_LENGTH} characters at most."
        )

    tidy = " ".join(words)
    if tidy == "manual":
        return Schedule(text=tidy, cron=None)
    if words[0] in PRESETS:
        return Schedule(text=tidy, cron=PRESETS[words[0]](words[1:]))
    return Schedule(text=tidy, cron=_cron(tidy))


# Next runs


def _gap_end(wall: datetime, zone: zoneinfo.ZoneInfo) -> datetime:
    """Return the instant the clocks jumped over `wall`, which does not exist."""
    # Read with the offset after the jump, `wall` lands before it; with the offset
    # before the jump, after it. The jump lies in between: find it to the second.
    readings = [
        int(wall.replace(tzinfo=zone, fold=fold).timestamp()) for fold in (0, 1)
    ]
    before, after = min(readings), max(readings)
    offset = _offset_at(before, zone)
    while after - before > 1:
        middle = (before + after) // 2
        if _offset_at(middle, zone) == offset:
            before = middle
        else:
            after = middle
    return datetime.fromtimestamp(after, UTC)


def _offset_at(timestamp: int, zone: zoneinfo.ZoneInfo) -> timedelta | None:
    return datetime.fromtimestamp(timestamp, zone).utcoffset()


def _instant(wall: datetime, zone: zoneinfo.ZoneInfo) -> datetime:
    """Return when a wall time happens: its first time, or the end of its gap."""
    first = wall.replace(tzinfo=zone, fold=0)
    if first.astimezone(UTC).astimezone(zone).replace(tzinfo=None) != wall:
        return _gap_end(wall, zone).astimezone(zone)
    return first.astimezone(UTC).astimezone(zone)


def _runs(
    schedule: Schedule, zone: zoneinfo.ZoneInfo, after: datetime, count: int
) -> list[datetime]:
    # Step through wall-clock times, which know nothing of DST, then place each one.
    wall = after.astimezone(zone).replace(tzinfo=None, fold=0)
    walls = croniter(schedule.cron, wall)
    runs: list[datetime] = []
    for _ in range(MAX_STEPS):
        if len(runs) == count:
            break
        try:
            run = _instant(walls.get_next(datetime), zone)
        except (CroniterBadDateError, OverflowError):
            break  # the end of the calendar Python can count in
        if run > after and (not runs or run > runs[-1]):
            runs.append(run)
    return runs


def next_runs(
    schedule: str, timezone: str, after: datetime, count: int = 5
) -> list[datetime]:
    """Return the next `count` runs strictly after `after`, in the schedule's zone."""
    if after.tzinfo is None or after.utcoffset() is None:
        raise ValueError("after must be an aware datetime, with an offset")
    parsed = parse_schedule(schedule)
    zone = parse_timezone(timezone)
    if parsed.is_manual or count <= 0:
        return []
    return _runs(parsed, zone, after, count)


def next_run(schedule: str, timezone: str, after: datetime) -> datetime | None:
    """Return the next run strictly after `after`, or None when it never runs."""
    runs = next_runs(schedule, timezone, after, count=1)
    return runs[0] if runs else None


def schedule_errors(config: dict) -> dict[str, list[str]]:
    """Return what is wrong with a config's schedule and time zone, keyed by path."""
    if not isinstance(config, dict):
        return {}
    errors: dict[str, list[str]] = {}
    checks = [
        ("schedule", DEFAULT_SCHEDULE, parse_schedule),
        ("timezone", DEFAULT_TIME_ZONE, parse_timezone),
    ]
    for key, default, parse in checks:
        try:
            parse(config.get(key, default))
        except ScheduleError as error:
            errors[f"config.{key}"] = [str(error)]
    return errors


def tidied(config: dict) -> dict:
    """The config with its schedule and time zone stripped of surrounding spaces."""
    tidy = dict(config)
    for key in ("schedule", "timezone"):
        if isinstance(tidy.get(key), str):
            tidy[key] = tidy[key].strip()
    return tidy


def schedule_of(config: Any) -> tuple[Any, Any]:
    """A config's schedule and time zone, with the defaults for what it leaves out."""
    config = config if isinstance(config, dict) else {}
    return (
        config.get("schedule", DEFAULT_SCHEDULE),
        config.get("timezone", DEFAULT_TIME_ZONE),
    )


def upcoming_runs(
    schedule: str, timezone: str, now: datetime, count: int = 5
) -> list[datetime]:
    """next_runs after `now`, shared by every caller in the same minute.

    Runs always fall on whole minutes, so the runs after the start of the current
    minute are the runs after now. A list page of hundreds of integrations then computes
    each distinct schedule once, not once per row.
    """
    if not isinstance(schedule, str) or not isinstance(timezone, str):
        return next_runs(schedule, timezone, now, count)  # raises ScheduleError
    minute = now.astimezone(UTC).replace(second=0, microsecond=0)
    return list(_runs_after_minute(schedule, timezone, minute, count))


@lru_cache(maxsize=4096)
def _runs_after_minute(schedule: str, timezone: str, minute: datetime, count: int):
    return tuple(next_runs(schedule, timezone, minute, count))
