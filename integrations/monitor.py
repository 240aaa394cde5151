"""The health monitor: re-test active integrations when their schedule says so.

Each cycle claims the integrations that are due and moves their due time on to the
next run after now, in one transaction. On PostgreSQL the claim uses
SELECT ... FOR UPDATE SKIP LOCKED, so several monitor processes share the work and no
integration is tested twice for one due time. SQLite has no row locks: run one monitor.

Due times that passed while no monitor ran are coalesced: the next due time is always
the first one after now, so a restarted monitor does not test in a burst.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from integrations import connection_tests, schedules
from integrations.models import Integration

logger = logging.getLogger(__name__)

BATCH_SIZE = 50


def due_integrations(now: datetime):
    """Active, scheduled integrations whose due time has come (or was never set)."""
    return (
        Integration.objects.filter(status=Integration.Status.ACTIVE)
        .filter(Q(next_due_at__isnull=True) | Q(next_due_at__lte=now))
        # A missing schedule means the default (daily); SQL's NULL needs saying so.
        .filter(Q(config__schedule__isnull=True) | ~Q(config__schedule="manual"))
        .order_by("next_due_at", "pk")
    )


def next_due_time(integration: Integration, now: datetime) -> datetime | None:
    schedule, zone = schedules.schedule_of(integration.config)
    try:
        return schedules.next_run(schedule, zone, now)
    except schedules.ScheduleError:
        return None


def claim(now: datetime, limit: int = BATCH_SIZE) -> list[Integration]:
    """Take up to `limit` due integrations for this worker and move their due times on."""
    with transaction.atomic():
        locked = due_integrations(now).select_for_update(
            skip_locked=connection.features.has_select_for_update_skip_locked,
            of=("self",),
        )
        claimed = list(locked[:limit])
        for integration in claimed:
            # A schedule that no longer parses is not retried every cycle: a day later.
            following = next_due_time(integration, now) or now + timedelta(days=1)
            Integration.objects.filter(pk=integration.pk).update(next_due_at=following)
    return claimed


def run_cycle(now: datetime | None = None, should_stop=lambda: False) -> int:
    """Test every integration due at `now`, batch by batch; return how many were tested."""
    now = now or timezone.now()
    tested = 0
    while not should_stop():
        batch = claim(now)
        if not batch:
            break
        for integration, result in zip(
            batch, connection_tests.test_many(batch), strict=True
        ):
            logger.info(
                "monitor tested integration %s (%s): %s in %s ms",
                integration.pk,
                integration.integration_type,
                result["status"],
                result["latency_ms"] if result["latency_ms"] is not None else "-",
            )
        tested += len(batch)
    return tested
