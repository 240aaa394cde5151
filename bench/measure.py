"""Measurements: the product's SQL per request, request timings, plans, bulk tests."""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Callable
from typing import Any

import httpx
from django.db import connection
from django.test import Client as DjangoClient

from bench import baseline
from integrations.connection_tests import WORKER_NAME


class Capture:
    """The statements one request runs in this process, as (sql, params) pairs."""

    def __init__(self) -> None:
        self.statements: list[tuple[str, list | None]] = []

    def __call__(self, execute, sql, params, many, context):
        self.statements.append((sql, None if params is None else list(params)))
        return execute(sql, params, many, context)


def in_process_client(token: str = "", session: str = "") -> DjangoClient:
    """A test client that reaches the product as the servers do (ALLOWED_HOSTS)."""
    client = DjangoClient(SERVER_NAME="127.0.0.1")
    if token:
        client.defaults["HTTP_AUTHORIZATION"] = f"Token {token}"
    if session:
        client.cookies["sessionid"] = session
    return client


def capture(client: DjangoClient, url: str) -> tuple[int, list]:
    """Warm the request once, then record the statements of a second run."""
    client.get(url)
    recorder = Capture()
    with connection.execute_wrapper(recorder):
        response = client.get(url)
    return response.status_code, recorder.statements


def plan_entry(statements: list) -> list:
    return [(sql, baseline.encode_param(params)) for sql, params in statements]


def timed(action: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = action()
    return (time.perf_counter() - started) * 1000, result


def time_side_by_side(
    product: httpx.Client,
    floor: httpx.Client,
    url: str,
    statements: list,
    raw_connection,
    repeats: int,
) -> dict[str, float]:
    """Median milliseconds of the product and the baseline (in turn), and the bare SQL."""
    timings = time_interleaved(
        {"product": (product, url), "baseline": (floor, url)}, repeats
    )
    sql = [
        timed(lambda: execute_only(raw_connection, statements))[0]
        for _ in range(repeats)
    ]
    return {**timings, "sql": round(statistics.median(sql), 2)}


def time_interleaved(sides: dict[str, tuple[httpx.Client, str]], repeats: int) -> dict:
    """Median milliseconds of each (client, url), requested in turn, order alternating.

    Alternating means a burst of load from elsewhere hits every side alike.
    """
    # A fresh worker imports and caches on its first requests: not timed.
    for client, url in sides.values():
        client.get(url)
        client.get(url)
    times: dict[str, list[float]] = {name: [] for name in sides}
    order = list(sides)
    for _ in range(repeats):
        for name in order:
            client, url = sides[name]
            elapsed, response = timed(lambda client=client, url=url: client.get(url))
            if response.status_code != 200:
                raise RuntimeError(f"{name} answered {response.status_code} for {url}")
            times[name].append(elapsed)
        order.reverse()
    return {name: round(statistics.median(values), 2) for name, values in times.items()}


def execute_only(raw_connection, statements: list) -> None:
    """Run and fetch, with no conversion: the database's share of a request."""
    sqlite = raw_connection.__class__.__module__.startswith("sqlite3")
    for sql, params in statements:
        cursor = raw_connection.cursor()
        if params is None:
            cursor.execute(sql)
        else:
            cursor.execute(baseline.for_sqlite(sql) if sqlite else sql, params)
        if cursor.description is not None:
            cursor.fetchall()
        cursor.close()


def explain(raw_connection, statements: list) -> list[str]:
    """Plans of the statements that read integrations or their history."""
    sqlite = raw_connection.__class__.__module__.startswith("sqlite3")
    plans = []
    for sql, params in statements:
        if not sql.lstrip().upper().startswith("SELECT") or "integration" not in sql:
            continue
        cursor = raw_connection.cursor()
        if sqlite:
            cursor.execute(
                "EXPLAIN QUERY PLAN " + baseline.for_sqlite(sql), params or ()
            )
            lines = [" ".join(str(part) for part in row) for row in cursor.fetchall()]
        else:
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
            lines = [row[0] for row in cursor.fetchall()]
        cursor.close()
        plans.append(sql[:300] + "\n" + "\n".join(lines))
    return plans


class PeakThreads:
    """Samples how many connection-test worker threads are alive while a block runs.

    Threads of the fake servers are not counted: they stand for the remote systems.
    """

    def __init__(self) -> None:
        self.peak = 0
        self.running = False

    def __enter__(self) -> PeakThreads:
        self.running = True
        self.sampler = threading.Thread(target=self.sample, daemon=True)
        self.sampler.start()
        return self

    def sample(self) -> None:
        while self.running:
            workers = sum(
                thread.name.startswith(WORKER_NAME) for thread in threading.enumerate()
            )
            self.peak = max(self.peak, workers)
            time.sleep(0.005)

    def __exit__(self, *exc) -> None:
        self.running = False
        self.sampler.join()
