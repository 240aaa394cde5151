"""The health monitor: what is due, health states, shared work and clean stops."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection

from integrations import monitor
from integrations.models import ConnectionTest, Integration
from integrations.tests.fakes import FakeServer, Reply

PROJECT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def loopback_allowed(settings):
    settings.INTEGRATION_ALLOWED_NETWORKS = ["127.0.0.0/8"]


def add(client_record, url, name, status="active", schedule="daily", **fields):
    integration = Integration(
        client=client_record,
        name=name,
        integration_type="generic_rest",
        status=status,
        config={"api_url": url, "auth_method": "none", "schedule": schedule},
        **fields,
    )
    integration.save()
    return integration


@pytest.mark.django_db
class TestWhatIsDue:
    def test_active_never_tested_integrations_are_due_at_once(self, client_record):
        due = add(client_record, "http://127.0.0.1:9", "Active")
        add(client_record, "http://127.0.0.1:9", "Draft", status="draft")
        add(client_record, "http://127.0.0.1:9", "Paused", status="paused")
        add(client_record, "http://127.0.0.1:9", "Manual", schedule="manual")

        assert list(monitor.due_integrations(datetime.now(UTC))) == [due]

    def test_missed_due_times_are_coalesced_into_the_next_one(self, client_record):
        now = datetime(2025, 6, 10, 12, 0, tzinfo=UTC)
        integration = add(client_record, "http://127.0.0.1:9", "Late")
        Integration.objects.filter(pk=integration.pk).update(
            next_due_at=now - timedelta(days=3)
        )

        claimed = monitor.claim(now)

        assert claimed == [integration]
        integration.refresh_from_db()
        # daily runs at midnight in Lagos: 23:00 UTC the same day.
        assert integration.next_due_at == datetime(2025, 6, 10, 23, 0, tzinfo=UTC)
        assert monitor.claim(now) == []


# The monitor tests in worker threads with their own connections: commit for them.
@pytest.mark.django_db(transaction=True)
class TestHealth:
    def test_one_failure_degrades_three_in_a_row_fail_and_a_success_heals(
        self, client_record
    ):
        replies = iter([200, 500, 500, 500, 200])
        with FakeServer(lambda seen: Reply(next(replies), {})) as fake:
            integration = add(client_record, fake.url, "ERP")
            seen = [integration.health]
            for _ in range(5):
                Integration.objects.filter(pk=integration.pk).update(next_due_at=None)
                monitor.run_cycle()
                integration.refresh_from_db()
                seen.append(integration.health)

        assert seen == [
            "unknown",
            "healthy",
            "degraded",
            "degraded",
            "failing",
            "healthy",
        ]
        assert integration.version == 1

    def test_it_logs_one_line_per_test_without_secrets(self, client_record, caplog):
        caplog.set_level(logging.INFO, logger="integrations.monitor")
        with FakeServer(lambda seen: Reply(body={})) as fake:
            integration = Integration(
                client=client_record,
                name="Keyed",
                integration_type="generic_rest",
                status="active",
                config={"api_url": fake.url, "auth_method": "api_key"},
            )
            integration.write_secrets({"api_key": "monitor-canary-not-real"})
            integration.save()
            monitor.run_cycle()

        lines = [
            r.getMessage() for r in caplog.records if r.name == "integrations.monitor"
        ]
        assert len(lines) == 1
        assert f"integration {integration.pk}" in lines[0] and ": ok in " in lines[0]
        assert "monitor-canary-not-real" not in caplog.text


@pytest.mark.django_db(transaction=True)
def test_several_workers_test_each_due_integration_exactly_once(client_record):
    with FakeServer(lambda seen: Reply(body={}, delay=0.05)) as fake:
        for number in range(40):
            add(client_record, f"{fake.url}/{number}", f"ERP {number}")
        now = datetime.now(UTC)
        barrier = threading.Barrier(4)

        def worker():
            try:
                barrier.wait()
                monitor.run_cycle(now)
            finally:
                connection.close()

        threads = [threading.Thread(target=worker) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)

    per_integration = Counter(
        ConnectionTest.objects.values_list("integration_id", flat=True)
    )
    assert len(per_integration) == 40
    assert set(per_integration.values()) == {1}
    assert len(fake.requests) == 40


@pytest.mark.django_db(transaction=True)
def test_run_monitor_once_runs_one_cycle(client_record, capsys):
    with FakeServer(lambda seen: Reply(body={})) as fake:
        add(client_record, fake.url, "ERP")
        call_command("run_monitor", "--once")

    output = capsys.readouterr().out
    assert "Tested 1 integration(s)." in output
    assert "Monitor stopped." in output


def test_sigterm_stops_the_monitor_cleanly(tmp_path):
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'monitor.sqlite3'}",
        "DJANGO_SETTINGS_MODULE": "taxpoynt.settings",
        "PYTHONUNBUFFERED": "1",
    }
    manage = [sys.executable, str(PROJECT / "manage.py")]
    subprocess.run([*manage, "migrate", "-v0"], env=env, check=True, timeout=120)
    process = subprocess.Popen(
        [*manage, "run_monitor", "--interval", "60"],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert "Monitor started" in process.stdout.readline()
        time.sleep(0.5)
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=20)
    finally:
        process.kill()

    assert process.returncode == 0
    assert "Monitor stopped." in output
