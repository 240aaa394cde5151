"""Many writers at once on PostgreSQL: no lost update, and a history that stays whole.

Each writer is a thread with its own database connection, released together by a
barrier. SQLite serialises every writer on its file lock, so these tests need the row
locks of PostgreSQL; test_api_concurrency.py has the smaller race for both databases.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable

import pytest
from django.db import connection

from conftest import api_as
from integrations.models import Integration

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="needs PostgreSQL row locks: SQLite serialises writers on one file "
        "lock (set DATABASE_URL=postgres://... to run these)",
    ),
]

WRITERS = 20


def at_once(jobs: list[Callable[[], object]]) -> list[object]:
    """Run the jobs in threads released at the same moment; return their results."""
    barrier = threading.Barrier(len(jobs))
    results: list[object] = [None] * len(jobs)

    def run(index: int, job: Callable[[], object]) -> None:
        try:
            barrier.wait()
            results[index] = job()
        except Exception as error:  # noqa: BLE001 - reported by the test's asserts
            results[index] = error
        finally:
            connection.close()

    threads = [
        threading.Thread(target=run, args=(index, job))
        for index, job in enumerate(jobs)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a writer hung"
    return results


def url(pk: int, suffix: str = "") -> str:
    return f"/api/integrations/{pk}{suffix}"


def assert_history_is_whole(pk: int) -> list[str]:
    """Versions 1..n without gaps or repeats; one deleted entry at most, and last."""
    entries = list(
        Integration.history.filter(id=pk)
        .order_by("history_date", "history_id")
        .values_list("version", "history_type")
    )
    kinds = [kind for _, kind in entries]
    changes = [version for version, kind in entries if kind != "-"]
    assert changes == list(range(1, len(changes) + 1)), entries
    assert kinds.count("-") <= 1, entries
    if "-" in kinds:
        assert kinds[-1] == "-", entries
    return kinds


def test_twenty_writers_with_if_match_lose_no_update(member, integration):
    def writer(number: int) -> list[int]:
        """Append this writer's mark, reloading and retrying whenever it was stale."""
        api = api_as(member)
        won: list[int] = []
        for _ in range(WRITERS * 3):
            current = api.get(url(integration.pk))
            description = current.json()["description"]
            response = api.patch(
                url(integration.pk),
                {"description": f"{description} w{number}."},
                format="json",
                HTTP_IF_MATCH=current["ETag"],
            )
            assert response.status_code in (200, 412), response.content
            if response.status_code == 200:
                won.append(response.json()["version"])
                return won
        return won

    results = at_once([lambda number=number: writer(number) for number in range(20)])

    errors = [result for result in results if isinstance(result, BaseException)]
    assert not errors, errors
    versions = [version for won in results for version in won]
    assert sorted(versions) == list(range(2, WRITERS + 2)), "one winner per version"
    integration.refresh_from_db()
    assert integration.version == WRITERS + 1
    marks = set(integration.description.split())
    assert marks == {f"w{number}." for number in range(WRITERS)}, "an update was lost"
    assert_history_is_whole(integration.pk)


def test_twenty_writers_from_the_same_version_exactly_one_wins(member, integration):
    def writer(number: int) -> int:
        response = api_as(member).patch(
            url(integration.pk),
            {"description": f"writer {number}"},
            format="json",
            HTTP_IF_MATCH='"v1"',
        )
        return response.status_code

    statuses = at_once([lambda number=number: writer(number) for number in range(20)])

    assert Counter(statuses) == {200: 1, 412: WRITERS - 1}
    integration.refresh_from_db()
    assert integration.version == 2
    assert_history_is_whole(integration.pk)


def test_clones_rollbacks_and_deletes_at_once_keep_history_whole(member, integration):
    api = api_as(member)
    for number in range(3):
        api.patch(url(integration.pk), {"description": f"v{number + 2}"}, format="json")
    pk = integration.pk

    def clone(number: int):
        return api_as(member).post(
            url(pk, "/clone"), {"name": f"Copy {number}"}, format="json"
        )

    def roll_back(version: int):
        return api_as(member).post(
            url(pk, "/rollback"), {"version": version}, format="json"
        )

    def patch(number: int):
        return api_as(member).patch(
            url(pk), {"description": f"edit {number}"}, format="json"
        )

    def delete():
        return api_as(member).delete(url(pk))

    jobs = [lambda n=n: clone(n) for n in range(6)]
    jobs += [lambda n=n: roll_back(1 + n % 4) for n in range(6)]
    jobs += [lambda n=n: patch(n) for n in range(4)]
    jobs += [delete for _ in range(4)]
    responses = at_once(jobs)

    errors = [result for result in responses if isinstance(result, BaseException)]
    assert not errors, errors
    statuses = [response.status_code for response in responses]
    assert all(status < 500 for status in statuses), statuses
    # A PATCH losing to the delete may answer 400 today, wrongly saying the name is
    # taken (the history's unique version is read as the unique name): a known gap,
    # reported; what the contract needs is no 500 and a whole history.
    for response in responses:
        if response.status_code >= 400:
            assert response["Content-Type"].startswith("application/json")
    # Every delete may lose to a writer that saved first (409, load it again): when
    # none won, the integration is still there and deleting it now must work.
    deletes_won = [r.status_code for r in responses[-4:]].count(204)
    assert deletes_won <= 1
    if not deletes_won:
        assert "-" not in assert_history_is_whole(pk)
        assert api.delete(url(pk)).status_code == 204
    kinds = assert_history_is_whole(pk)
    assert kinds[-1] == "-", "the delete is the last entry"
    assert not Integration.objects.filter(pk=pk).exists()
    for copy in Integration.objects.filter(name__startswith="Copy "):
        assert assert_history_is_whole(copy.pk) == ["+"]
        assert copy.version == 1
