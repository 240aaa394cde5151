"""`make bench`: fill a database of its own, time the product against a floor, report.

    python -m bench.run                       # full scale on DATABASE_URL's server
    SCALE=small python -m bench.run           # a tenth of the data, for CI
    KEEP=1 python -m bench.run                # keep the bench database afterwards

Prints a table, writes bench/results.json and exits 1 when a target is missed. See
bench/README.md for what each figure means.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import shutil
import subprocess  # noqa: S404 - runs manage.py of this project only
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench import database
from bench.database import PROJECT

RESULTS_PATH = PROJECT / "bench" / "results.json"


class Results:
    """Every figure with its target; a figure without a target is for information."""

    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []
        self.explain: dict[str, list[str]] = {}
        self.context: dict[str, Any] = {}

    def add(
        self,
        section: str,
        name: str,
        value: Any,
        unit: str = "",
        target: str = "",
        ok: bool | None = None,
        note: str = "",
    ) -> None:
        self.rows.append(
            {
                "section": section,
                "name": name,
                "value": value,
                "unit": unit,
                "target": target,
                "ok": ok,
                "note": note,
            }
        )

    @property
    def missed(self) -> list[dict[str, Any]]:
        return [row for row in self.rows if row["ok"] is False]

    def print_table(self) -> None:
        print()
        print(f"{'figure':58} {'value':>12} {'target':>14}  result")
        section = None
        for row in self.rows:
            if row["section"] != section:
                section = row["section"]
                print(f"-- {section}")
            value = f"{row['value']}{' ' + row['unit'] if row['unit'] else ''}"
            verdict = {True: "ok", False: "MISSED", None: ""}[row["ok"]]
            note = f"  ({row['note']})" if row["note"] else ""
            print(
                f"  {row['name']:56} {value:>12} {row['target']:>14}  {verdict}{note}"
            )

    def write(self) -> None:
        document = {
            "context": self.context,
            "figures": self.rows,
            "missed": [row["name"] for row in self.missed],
            "explain": self.explain,
        }
        RESULTS_PATH.write_text(json.dumps(document, indent=2, default=str) + "\n")


def bench_environment(database_url: str, work: Path) -> dict[str, str]:
    """What the product processes run with: production mode, generated keys."""
    from cryptography.fernet import Fernet

    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "FIELD_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "ALLOWED_HOSTS": "127.0.0.1",
        "DJANGO_SETTINGS_MODULE": "bench.settings",
        "BENCH_STATIC_ROOT": str(work / "static"),
    }


def collect_static(environment: dict[str, str]) -> None:
    subprocess.run(  # noqa: S603 - fixed arguments, this project's manage.py
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v", "0"],
        cwd=PROJECT,
        env=environment,
        check=True,
    )


def main() -> int:
    scale = os.environ.get("SCALE", "full").strip().lower() or "full"
    if scale not in ("full", "small"):
        print(f"SCALE must be full or small, not {scale!r}.", file=sys.stderr)
        return 2
    keep = os.environ.get("KEEP", "") not in ("", "0")
    server_url = os.environ.get("DATABASE_URL") or f"sqlite:///{PROJECT / 'db.sqlite3'}"

    work = Path(tempfile.mkdtemp(prefix="taxpoynt-bench-work-"))
    started = time.monotonic()
    bench_db = database.create(server_url)
    print(
        f"bench database: {bench_db.name or bench_db.url} (scale {scale})", flush=True
    )
    try:
        environment = bench_environment(bench_db.url, work)
        os.environ.update(environment)
        database.migrate(bench_db, environment)
        collect_static(environment)

        import django

        django.setup()
        # The product logs each outbound request; the bench makes thousands.
        logging.getLogger("httpx").setLevel(logging.WARNING)
        logging.getLogger("django.request").setLevel(logging.ERROR)
        from bench import scenario

        results = Results()
        results.context = {
            "scale": scale,
            "engine": bench_db.engine,
            "started": time.strftime("%Y-%m-%d %H:%M:%S"),
        }
        scenario.run(results, scale, bench_db, environment, work)
    finally:
        database.close_django_connections()
        if keep:
            print(f"kept the bench database: {bench_db.url} (and {work})")
        else:
            database.drop(bench_db)
            shutil.rmtree(work, ignore_errors=True)

    results.context["seconds"] = round(time.monotonic() - started, 1)
    results.print_table()
    results.write()
    print(
        f"\nwrote {RESULTS_PATH.relative_to(PROJECT)} in {results.context['seconds']} s"
    )
    if results.missed:
        print(f"{len(results.missed)} target(s) missed.")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
