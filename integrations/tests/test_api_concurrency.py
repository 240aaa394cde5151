"""Races: writers that start from the same version, and creates with the same name.

Each writer runs in its own thread with its own database connection, released together
by a barrier, against the real database (SQLite or PostgreSQL, whichever the run uses).
"""

from __future__ import annotations

import threading
from collections import Counter

import pytest
from django.db import connection

from conftest import api_as
from integrations.models import Integration

pytestmark = pytest.mark.django_db(transaction=True)

WRITERS = 8


def race(requests) -> list[int]:
    """Run the request functions at the same moment; return their status codes."""
    barrier = threading.Barrier(len(requests))
    statuses: list[int] = []

    def run(request):
        try:
            barrier.wait()
            statuses.append(request().status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(request,)) for request in requests]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return statuses


def test_writers_with_the_same_if_match_exactly_one_wins(member, integration):
    def writer(number):
        return lambda: api_as(member).patch(
            f"/api/integrations/{integration.pk}",
            {"description": f"writer {number}"},
            format="json",
            HTTP_IF_MATCH='"v1"',
        )

    statuses = race([writer(number) for number in range(WRITERS)])

    assert Counter(statuses) == {200: 1, 412: WRITERS - 1}
    integration.refresh_from_db()
    assert integration.version == 2
    assert integration.history.count() == 2


def test_writers_with_the_same_body_version_exactly_one_wins(member, integration):
    def writer(number):
        return lambda: api_as(member).patch(
            f"/api/integrations/{integration.pk}",
            {"description": f"writer {number}", "version": 1},
            format="json",
        )

    statuses = race([writer(number) for number in range(WRITERS)])

    assert Counter(statuses) == {200: 1, 409: WRITERS - 1}
    integration.refresh_from_db()
    assert integration.version == 2


def test_two_creates_with_the_same_name_one_wins(member, client_record):
    def creator(name):
        return lambda: api_as(member).post(
            "/api/integrations",
            {
                "client": client_record.pk,
                "name": name,
                "integration_type": "generic_rest",
                "config": {"api_url": "http://127.0.0.1:9/api", "auth_method": "none"},
            },
            format="json",
        )

    statuses = race([creator("Odoo"), creator("ODOO")])

    assert sorted(statuses) == [201, 400]
    assert Integration.objects.filter(client=client_record).count() == 1
    assert Integration.history.count() == 1
