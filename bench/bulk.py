"""Bulk connection tests of 200 integrations against slow fake servers on loopback."""

from __future__ import annotations

import json
import math
import subprocess  # noqa: S404 - starts bench.slow_servers only
import sys

import httpx
from django.conf import settings
from django.test import override_settings

from bench import measure
from bench.database import PROJECT
from integrations import connection_tests
from integrations.models import Integration

COUNT = 200
SERVERS = 4
DELAY = 0.2
SPEEDUP_TARGET = 20.0
# Concurrency tried besides the configured bound, for information.
WIDER_BOUND = 64


class SlowServers:
    """The fake systems' process, and the peak of requests they served at once."""

    def __init__(self) -> None:
        self.process = subprocess.Popen(  # noqa: S603 - fixed arguments
            [sys.executable, "-m", "bench.slow_servers", str(SERVERS), str(DELAY)],
            cwd=PROJECT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.urls = json.loads(self.process.stdout.readline())

    def peak(self) -> int:
        """The most requests answered at once since the last call."""
        with httpx.Client(trust_env=False) as client:
            return client.get(f"{self.urls[0]}/bench-peak").json()["peak"]

    def stop(self) -> None:
        self.process.stdin.close()
        self.process.wait(timeout=10)


def make_integrations(client_id: int, urls: list[str]) -> list[Integration]:
    rows = [
        Integration(
            client_id=client_id,
            name=f"Bulk test target {number:03d}",
            integration_type="generic_rest",
            config={
                "api_url": urls[number % len(urls)],
                "auth_method": "none",
                "health_path": "/health",
                "retries": 0,
            },
            status="active",
        )
        for number in range(COUNT)
    ]
    Integration.objects.bulk_create(rows)
    return list(
        Integration.objects.filter(client_id=client_id, name__startswith="Bulk test")
        .select_related("client")
        .order_by("name")
    )


def run_bulk(integrations: list[Integration], bound: int, servers) -> dict:
    servers.peak()
    with (
        override_settings(CONNECTION_TEST_CONCURRENCY=bound),
        measure.PeakThreads() as threads,
    ):
        elapsed, outcome = measure.timed(
            lambda: connection_tests.test_many(integrations)
        )
    failed = [result["status"] for result in outcome if not result["ok"]]
    if failed:
        raise RuntimeError(f"{len(failed)} bulk tests failed, e.g. {failed[0]}")
    return {
        "seconds": round(elapsed / 1000, 2),
        "threads": threads.peak,
        "connections": servers.peak(),
    }


def measure_bulk_tests(results, client_id: int, scale: str) -> int:
    """Concurrent against one-at-a-time time; returns the id of a tested integration."""
    section = f"6. Bulk connection test of {COUNT} integrations, servers answer in {DELAY * 1000:.0f} ms"
    servers = SlowServers()
    try:
        with override_settings(INTEGRATION_ALLOWED_NETWORKS=["127.0.0.0/8"]):
            integrations = make_integrations(client_id, servers.urls)
            sample = integrations if scale == "full" else integrations[:20]
            one_at_a_time = run_bulk(sample, 1, servers)
            sequential = one_at_a_time["seconds"] * COUNT / len(sample)

            bound = max(1, int(settings.CONNECTION_TEST_CONCURRENCY))
            concurrent = run_bulk(integrations, bound, servers)
            wider = None
            if bound < WIDER_BOUND:
                wider = run_bulk(integrations, WIDER_BOUND, servers)
    finally:
        servers.stop()

    how = "measured" if len(sample) == COUNT else f"estimated from {len(sample)}"
    results.add(section, f"one at a time ({how})", round(sequential, 2), "s")
    add_speedup(results, section, sequential, concurrent, bound, "configured")
    if wider:
        add_speedup(results, section, sequential, wider, WIDER_BOUND, "for information")
    return integrations[0].pk


def add_speedup(results, section, sequential: float, run: dict, bound: int, kind: str):
    speedup = round(sequential / run["seconds"], 1)
    ceiling = round(COUNT / math.ceil(COUNT / bound), 1)
    within = run["connections"] <= bound and run["threads"] <= bound
    measured = kind == "configured"
    results.add(
        section,
        f"concurrent, bound {bound} ({kind}): speed-up",
        speedup,
        "x",
        f">= {SPEEDUP_TARGET}" if measured else "",
        speedup >= SPEEDUP_TARGET if measured else None,
        note=f"{run['seconds']} s; at most {ceiling}x possible with this bound",
    )
    results.add(
        section,
        f"concurrent, bound {bound}: peak threads / connections",
        f"{run['threads']} / {run['connections']}",
        target=f"<= {bound}",
        ok=within,
    )
