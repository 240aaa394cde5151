"""Preview of a draft schedule: when it would run next, before anything is saved."""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    inline_serializer,
)
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from integrations.schedules import (
    ScheduleError,
    next_runs,
    parse_schedule,
    parse_timezone,
)

PREVIEW_COUNT = 5

preview_response = inline_serializer(
    "SchedulePreview",
    {
        "schedule": serializers.CharField(),
        "timezone": serializers.CharField(),
        "next_runs": serializers.ListField(child=serializers.DateTimeField()),
    },
)
preview_errors = inline_serializer(
    "SchedulePreviewErrors",
    {
        name: serializers.ListField(child=serializers.CharField(), required=False)
        for name in ("schedule", "timezone", "after")
    },
)


def parse_after(text: str | None) -> datetime:
    """Read an ISO 8601 instant with an offset; none at all means now."""
    if text is None:
        return timezone.now()
    try:
        after = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ScheduleError(
            "after",
            "after must be an ISO 8601 instant such as 2025-03-09T00:00:00Z; "
            "in a URL, write + as %2B.",
        ) from None
    if after.utcoffset() is None:
        raise ScheduleError(
            "after",
            "after has no offset: add one, such as Z or +01:00 "
            "(2025-03-09T00:00:00+01:00).",
        )
    return after


class SchedulePreviewView(APIView):
    """When a schedule would run next, in its own time zone, for a draft."""

    permission_classes = [IsAuthenticated]

    @extend_schema(
        summary="Preview a schedule's next runs",
        description=(
            "The next five runs of a draft schedule (a preset such as `daily 02:30` "
            "or a five-field cron expression) in an IANA time zone, as ISO 8601 "
            "times in that zone's own offset. A wall time skipped by daylight "
            "saving runs once at the end of the gap; a repeated one runs once, "
            "at its first occurrence. `manual` has no runs."
        ),
        parameters=[
            OpenApiParameter(
                "schedule",
                OpenApiTypes.STR,
                required=True,
                description="A preset (manual, hourly, daily, weekdays, weekly, "
                "monthly, with an optional HH:MM) or a five-field cron expression.",
                examples=[OpenApiExample("Daily", value="daily 02:30")],
            ),
            OpenApiParameter(
                "timezone",
                OpenApiTypes.STR,
                required=True,
                description="IANA time zone, such as Africa/Lagos.",
            ),
            OpenApiParameter(
                "after",
                OpenApiTypes.DATETIME,
                required=False,
                description="Count runs strictly after this ISO 8601 instant, "
                "which must carry an offset or Z. Defaults to now.",
            ),
        ],
        responses={
            200: preview_response,
            400: OpenApiResponse(
                preview_errors, description="What to fix, keyed by parameter."
            ),
        },
    )
    def get(self, request: Request) -> Response:
        errors: dict[str, list[str]] = {}
        readers = [
            ("schedule", parse_schedule),
            ("timezone", parse_timezone),
            ("after", parse_after),
        ]
        values = {}
        for name, read in readers:
            try:
                values[name] = read(request.query_params.get(name))
            except ScheduleError as error:
                errors[name] = [str(error)]
        if errors:
            return Response(errors, status=400)

        schedule, zone, after = values["schedule"], values["timezone"], values["after"]
        try:
            runs = next_runs(schedule.text, zone.key, after, PREVIEW_COUNT)
        except OverflowError:
            return Response({"after": ["after is too far from today."]}, status=400)
        return Response(
            {
                "schedule": schedule.text,
                "timezone": zone.key,
                "next_runs": [run.isoformat() for run in runs],
            }
        )
