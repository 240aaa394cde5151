"""The floor for request timings: a WSGI app without Django that runs the product's SQL.

For each URL the bench captured, from a warm request to the product, the statements the
product ran. This app runs exactly those statements through the same driver, turns the
rows into dicts and JSON-encodes them. Whatever the product spends above this is the cost
of the framework, the serializers and the templates.

Serve it like the product: `gunicorn bench.baseline:app`, with BENCH_DATABASE_URL naming
the database and BENCH_PLAN naming the JSON file of captured statements.
"""

from __future__ import annotations

import datetime
import json
import os
import re
import sqlite3
from collections.abc import Callable, Iterable
from typing import Any

# Django writes placeholders as %s; sqlite3 wants ?. Django converts the same way.
SQLITE_PLACEHOLDER = re.compile(r"(?<!%)%s")


def encode_param(value: Any) -> Any:
    """A statement parameter as JSON, keeping dates and times recognisable."""
    if isinstance(value, datetime.datetime | datetime.date):
        return {"$datetime": value.isoformat()}
    if isinstance(value, list | tuple):
        return [encode_param(item) for item in value]
    return value


def decode_param(value: Any) -> Any:
    if isinstance(value, dict) and "$datetime" in value:
        return datetime.datetime.fromisoformat(value["$datetime"])
    if isinstance(value, list):
        return [decode_param(item) for item in value]
    return value


def for_sqlite(sql: str) -> str:
    return SQLITE_PLACEHOLDER.sub("?", sql).replace("%%", "%")


def connect(database_url: str):
    """A plain driver connection: psycopg with client-side binding, as Django uses."""
    if database_url.startswith("sqlite:///"):
        connection = sqlite3.connect(
            database_url.removeprefix("sqlite:///"), check_same_thread=False
        )
        connection.isolation_level = None
        return connection

    import psycopg

    return psycopg.connect(
        database_url, autocommit=True, cursor_factory=psycopg.ClientCursor
    )


def run_statements(connection, statements: Iterable[tuple[str, list]]) -> list:
    """Run each statement; return its rows as dicts keyed by column name."""
    sqlite = isinstance(connection, sqlite3.Connection)
    results = []
    for sql, params in statements:
        cursor = connection.cursor()
        if params is None:
            # Django leaves statements without parameters untouched, so do we.
            cursor.execute(sql)
        else:
            cursor.execute(for_sqlite(sql) if sqlite else sql, params)
        if cursor.description is None:
            results.append([])
            continue
        columns = [column[0] for column in cursor.description]
        results.append([dict(zip(columns, row, strict=True)) for row in cursor])
        cursor.close()
    return results


def load_plan(path: str) -> dict[str, list[tuple[str, list]]]:
    with open(path, encoding="utf-8") as plan_file:
        plan = json.load(plan_file)
    return {
        url: [(sql, decode_param(params)) for sql, params in statements]
        for url, statements in plan.items()
    }


class Baseline:
    """The WSGI application: one persistent connection, one plan of statements."""

    def __init__(self, database_url: str, plan_path: str):
        self.database_url = database_url
        self.plan = load_plan(plan_path)
        self.connection = None

    def __call__(self, environ: dict, start_response: Callable) -> list[bytes]:
        url = environ.get("PATH_INFO", "")
        if environ.get("QUERY_STRING"):
            url += "?" + environ["QUERY_STRING"]
        if url == "/healthz":
            return answer(start_response, "200 OK", b'{"status": "ok"}')

        statements = self.plan.get(url)
        if statements is None:
            return answer(start_response, "404 Not Found", b'{"detail": "unknown"}')

        # Connect lazily: gunicorn forks the worker after importing this module.
        if self.connection is None:
            self.connection = connect(self.database_url)
        rows = run_statements(self.connection, statements)
        body = json.dumps(rows, default=str).encode()
        return answer(start_response, "200 OK", body)


def answer(start_response: Callable, status: str, body: bytes) -> list[bytes]:
    start_response(
        status,
        [("Content-Type", "application/json"), ("Content-Length", str(len(body)))],
    )
    return [body]


def make_app() -> Baseline | None:
    if "BENCH_PLAN" not in os.environ:
        return None
    return Baseline(os.environ["BENCH_DATABASE_URL"], os.environ["BENCH_PLAN"])


app = make_app()
