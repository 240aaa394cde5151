"""The bench's own database: created next to the one DATABASE_URL names, then dropped."""

from __future__ import annotations

import os
import shutil
import subprocess  # noqa: S404 - runs manage.py of this project only
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

PROJECT = Path(__file__).resolve().parent.parent


@dataclass
class BenchDatabase:
    url: str
    engine: str  # "postgresql" or "sqlite"
    server_url: str = ""
    name: str = ""
    folder: str = ""


def create(server_url: str) -> BenchDatabase:
    """Create an empty database for the bench on the server DATABASE_URL names."""
    if server_url.startswith("sqlite"):
        folder = tempfile.mkdtemp(prefix="taxpoynt-bench-")
        path = Path(folder) / "bench.sqlite3"
        return BenchDatabase(f"sqlite:///{path}", "sqlite", folder=folder)

    import psycopg
    from psycopg import sql

    name = f"taxpoynt_bench_{os.getpid()}"
    with psycopg.connect(server_url, autocommit=True) as connection:
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    parts = urlsplit(server_url)
    url = urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, ""))
    return BenchDatabase(url, "postgresql", server_url=server_url, name=name)


def copy(database: BenchDatabase, suffix: str) -> BenchDatabase:
    """A copy of the bench database as it is now; nothing may be connected to it."""
    if database.engine == "sqlite":
        import sqlite3

        folder = tempfile.mkdtemp(prefix="taxpoynt-bench-")
        path = Path(folder) / f"bench-{suffix}.sqlite3"
        with (
            sqlite3.connect(database.url.removeprefix("sqlite:///")) as source,
            sqlite3.connect(path) as target,
        ):
            source.backup(target)
        return BenchDatabase(f"sqlite:///{path}", "sqlite", folder=folder)

    import psycopg
    from psycopg import sql

    name = f"{database.name}_{suffix}"
    statement = sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
        sql.Identifier(name), sql.Identifier(database.name)
    )
    with psycopg.connect(database.server_url, autocommit=True) as connection:
        connection.execute(statement)
    parts = urlsplit(database.url)
    url = urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, ""))
    return BenchDatabase(url, "postgresql", server_url=database.server_url, name=name)


def migrate(database: BenchDatabase, environment: dict[str, str]) -> None:
    subprocess.run(  # noqa: S603 - fixed arguments, this project's manage.py
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
        cwd=PROJECT,
        env={**environment, "DATABASE_URL": database.url},
        check=True,
    )


def drop(database: BenchDatabase) -> None:
    if database.engine == "sqlite":
        shutil.rmtree(database.folder, ignore_errors=True)
        return

    import psycopg
    from psycopg import sql

    statement = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
    with psycopg.connect(database.server_url, autocommit=True) as connection:
        connection.execute(statement.format(sql.Identifier(database.name)))


def close_django_connections() -> None:
    """Close this process's Django connections, if Django is loaded at all."""
    if "django.db" in sys.modules:
        from django.db import connections

        connections.close_all()
