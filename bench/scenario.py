"""The steps of the bench, in order: fill, grow, compare with the floor, count, test."""

from __future__ import annotations

import json
import math
import os
import time
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from bench import baseline, database, fill, measure
from bench.bulk import measure_bulk_tests
from bench.servers import Server

PAGE = 50
LIST_RATIO_TARGET = 3.0
GROWTH_TARGET = 1.5


def deep_page(count: int) -> int:
    """A page 90% of the way down the list."""
    return max(1, math.ceil(count / PAGE) * 9 // 10)


class Bench:
    """The product server, the bench's staff token and a raw driver connection."""

    def __init__(self, results, bench_db, environment: dict, work: Path, token: str):
        self.results = results
        self.bench_db = bench_db
        self.environment = environment
        self.work = work
        self.token = token
        self.repeats = int(os.environ.get("REPEATS", "0")) or (
            9 if results.context["scale"] == "small" else 31
        )
        self.raw = baseline.connect(bench_db.url)
        self.product = Server("taxpoynt.wsgi:application", environment, work / "log")
        self.api = measure.in_process_client(token=token)

    def close(self) -> None:
        self.product.stop()
        self.raw.close()

    def http(self, url: str, **headers: str) -> httpx.Client:
        return httpx.Client(base_url=url, headers=headers, trust_env=False, timeout=120)

    def compare(self, cases: dict[str, str], label: str) -> dict[str, dict]:
        """Time each URL on the product and on a baseline serving the same SQL."""
        plan, statements = {}, {}
        for name, url in cases.items():
            status, captured = measure.capture(self.api, url)
            if status != 200:
                raise RuntimeError(f"{url} answered {status} in process")
            statements[name] = captured
            plan[url] = measure.plan_entry(captured)
            self.results.explain[f"{label}: {name} {url}"] = measure.explain(
                self.raw, captured
            )

        plan_path = self.work / f"plan-{label}.json"
        plan_path.write_text(json.dumps(plan))
        floor = Server(
            "bench.baseline:app",
            {
                **self.environment,
                "BENCH_PLAN": str(plan_path),
                "BENCH_DATABASE_URL": self.bench_db.url,
            },
            self.work / "log",
        )
        timings = {}
        try:
            with (
                self.http(self.product.url, Authorization=f"Token {self.token}") as api,
                self.http(floor.url) as floor_client,
            ):
                for name, url in cases.items():
                    timings[name] = measure.time_side_by_side(
                        api, floor_client, url, statements[name], self.raw, self.repeats
                    )
                    timings[name]["queries"] = len(statements[name])
        finally:
            floor.stop()
        return timings


def run(results, scale: str, bench_db, environment: dict, work: Path) -> None:
    sizes = fill.FULL if scale == "full" else fill.SMALL
    tenth = sizes.integrations // 10
    results.context["sizes"] = sizes.__dict__

    started = time.monotonic()
    user, token = fill.staff_with_token()
    client_ids = fill.fill_clients(sizes.clients)
    long_id = fill.fill_integrations(
        client_ids, 0, tenth, sizes.history // 10, sizes.long_versions
    )
    fill.analyze()
    results.context["fill_seconds_first_tenth"] = round(time.monotonic() - started, 1)
    print(f"filled {tenth} integrations", flush=True)

    bench = Bench(results, bench_db, environment, work, token)
    try:
        small_cases = growth_cases(bench, tenth)
        small = bench.compare(small_cases, f"{tenth} integrations")
    finally:
        bench.close()
    # The list at its first size stays available, to time it beside the full one.
    database.close_django_connections()
    small_db = database.copy(bench_db, "small")

    try:
        started = time.monotonic()
        fill.fill_integrations(
            client_ids, tenth, sizes.integrations - tenth, sizes.history * 9 // 10
        )
        fill.analyze()
        results.context["fill_seconds_rest"] = round(time.monotonic() - started, 1)
        print(f"filled {sizes.integrations} integrations", flush=True)

        bench = Bench(results, bench_db, environment, work, token)
        try:
            large_cases, large = measure_full_size(
                results, bench, sizes, client_ids, long_id
            )
            measure_growth(results, bench, small_db, small_cases, large_cases, tenth)
            report_growth_apart(results, small, large, tenth)
            measure_pages(results, bench, user, client_ids)
            tested = measure_bulk_tests(results, client_ids[0], scale)
            count_queries(results, bench, client_ids, long_id, tested)
        finally:
            bench.close()
    finally:
        database.drop(small_db)


def measure_full_size(results, bench: Bench, sizes, client_ids, long_id):
    """Lists, filters and history at full size against the floor: (cases, timings)."""
    cases = {
        **growth_cases(bench, sizes.integrations),
        **filter_cases(client_ids),
        **history_cases(long_id, sizes.long_versions),
    }
    large = bench.compare(cases, f"{sizes.integrations} integrations")
    report_lists(results, large)
    report_history(results, large, sizes.long_versions)
    return cases, large


def measure_growth(
    results, bench: Bench, small_db, small_cases: dict, large_cases: dict, few: int
) -> None:
    """The first and the deep page at both sizes, requested in turn on two servers.

    Both sizes then share whatever load the machine has at the time.
    """
    many = few * 10
    section = f"5. Growth from {few} to {many} integrations (product, median ms)"
    small_server = Server(
        "taxpoynt.wsgi:application",
        {**bench.environment, "DATABASE_URL": small_db.url},
        bench.work / "log",
    )
    token = f"Token {bench.token}"
    try:
        with (
            bench.http(small_server.url, Authorization=token) as small,
            bench.http(bench.product.url, Authorization=token) as large,
        ):
            for name in ["first page", "deep page"]:
                timing = measure.time_interleaved(
                    {
                        "small": (small, small_cases[name]),
                        "large": (large, large_cases[name]),
                    },
                    bench.repeats,
                )
                value = round(timing["large"] / timing["small"], 2)
                results.add(
                    section,
                    f"{name}: time at {many} / time at {few}",
                    value,
                    "x",
                    f"<= {GROWTH_TARGET}",
                    value <= GROWTH_TARGET,
                    note=f"{timing['small']} -> {timing['large']} ms, in turn",
                )
    finally:
        small_server.stop()


def growth_cases(bench: Bench, count: int) -> dict[str, str]:
    """The first page, and the page 90% down the list as a client reaches it.

    Clients walk a long list by following `next`, which in the default order is a
    keyset cursor; the deep page is the `next` link of the page before it.
    """
    before = bench.api.get(f"/api/integrations?page={deep_page(count) - 1}")
    if before.status_code != 200:
        raise RuntimeError(
            f"the page before the deep page answered {before.status_code}"
        )
    deep = urlsplit(before.json()["next"])
    return {"first page": "/api/integrations", "deep page": f"{deep.path}?{deep.query}"}


def filter_cases(client_ids: list[int]) -> dict[str, str]:
    return {
        "by client": f"/api/integrations?client={client_ids[len(client_ids) // 2]}",
        "by type": "/api/integrations?integration_type=odoo",
        "by search text": "/api/integrations?search=Kano",
    }


def history_cases(long_id: int, versions: int) -> dict[str, str]:
    return {
        "history page": f"/api/integrations/{long_id}/history",
        "diff": f"/api/integrations/{long_id}/diff?from=1&to={versions}",
    }


def ratio(timing: dict) -> float:
    return round(timing["product"] / timing["baseline"], 2)


def report_lists(results, timings: dict[str, dict]) -> None:
    section = "1. GET /api/integrations, pages of 50 (median ms)"
    for name in ["first page", "deep page", "by client", "by type", "by search text"]:
        add_ratio(results, section, name, timings[name])


def add_ratio(results, section: str, name: str, timing: dict) -> None:
    value = ratio(timing)
    results.add(
        section,
        f"{name}: product / baseline",
        value,
        "x",
        f"<= {LIST_RATIO_TARGET}",
        value <= LIST_RATIO_TARGET,
        note=f"product {timing['product']} ms, baseline {timing['baseline']} ms, "
        f"bare SQL {timing['sql']} ms, {timing['queries']} queries",
    )


def report_growth_apart(results, small: dict, large: dict, few: int) -> None:
    """For information: the floor's growth, from timings taken before and after the
    fill (the product's own growth is timed with both sizes side by side)."""
    section = f"5. Growth from {few} to {few * 10} integrations (product, median ms)"
    for name in ["first page", "deep page"]:
        for side, label in [("sql", "bare SQL"), ("baseline", "baseline")]:
            results.add(
                section,
                f"{name}: {label}, measured apart",
                round(large[name][side] / small[name][side], 2),
                "x",
                note=f"{small[name][side]} -> {large[name][side]} ms",
            )


def report_history(results, timings: dict, versions: int) -> None:
    section = f"3. History of the integration with {versions} versions"
    add_ratio(results, section, "history page of 50", timings["history page"])
    diff = timings["diff"]
    results.add(
        section,
        f"diff of version 1 and version {versions}",
        diff["product"],
        "ms",
        note=f"baseline {diff['baseline']} ms, bare SQL {diff['sql']} ms, "
        f"{diff['queries']} queries",
    )


def measure_pages(results, bench: Bench, user, client_ids: list[int]) -> None:
    """The /integrations page, signed in with a session: time and query count."""
    section = "4. The /integrations page (median ms)"
    client = measure.in_process_client()
    client.force_login(user)
    session = client.cookies["sessionid"].value
    urls = {
        "no filter": "/integrations",
        "search, type and status": "/integrations?q=Kano&type=odoo&status=active",
        "client": f"/integrations?client={client_ids[len(client_ids) // 2]}",
        "deep page": "/integrations?page=1000",
    }
    for name, url in urls.items():
        status, statements = measure.capture(client, url)
        if status != 200:
            results.add(section, name, "not available yet", note=f"HTTP {status}")
            continue
        timing = time_page(bench, session, url)
        results.add(
            section,
            f"{name}",
            timing,
            "ms",
            note=f"{len(statements)} queries, {url}",
        )
        results.explain[f"page: {name} {url}"] = measure.explain(bench.raw, statements)


def time_page(bench: Bench, session: str, url: str) -> float:
    with bench.http(bench.product.url, Cookie=f"sessionid={session}") as pages:
        return measure.time_interleaved({"page": (pages, url)}, bench.repeats)["page"]


def count_queries(
    results, bench: Bench, client_ids: list[int], long_id: int, tested: int
) -> None:
    """Queries per request at page sizes 1 and 100; detail reads, small and large."""
    section = "2. SQL queries per request (page_size=1 vs 100; small vs large object)"
    lists = {
        "/api/integrations": "/api/integrations",
        "/api/clients": "/api/clients",
        "/api/integrations/{id}/history": f"/api/integrations/{long_id}/history",
        "/api/integrations/{id}/tests": f"/api/integrations/{tested}/tests",
        "/api/integration-types": "/api/integration-types",
    }
    for name, url in lists.items():
        counts = [queries_of(bench, f"{url}?page_size={size}") for size in (1, 100)]
        add_counts(results, section, f"{name} list", counts)

    few = fewest_versions_integration()
    details = {
        "/api/integrations/{id}": ("/api/integrations/{}", few, long_id),
        "/api/clients/{id}": ("/api/clients/{}", client_ids[-1], client_ids[0]),
        "/api/integrations/{id}/history/{v}": (
            "/api/integrations/{}/history/1",
            few,
            long_id,
        ),
        "/api/integrations/{id}/diff": (
            "/api/integrations/{}/diff?from=1&to=1",
            few,
            long_id,
        ),
        "/api/integration-types/{slug}": (
            "/api/integration-types/{}",
            "odoo",
            "generic_rest",
        ),
    }
    for name, (pattern, small, large) in details.items():
        counts = [queries_of(bench, pattern.format(key)) for key in (small, large)]
        add_counts(results, section, f"{name} detail", counts)


def add_counts(results, section: str, name: str, counts: list[int | str]) -> None:
    equal = counts[0] == counts[1] and isinstance(counts[0], int)
    results.add(
        section,
        name,
        f"{counts[0]} / {counts[1]}",
        target="equal",
        ok=equal,
    )


def queries_of(bench: Bench, url: str) -> int | str:
    status, statements = measure.capture(bench.api, url)
    return len(statements) if status == 200 else f"HTTP {status}"


def fewest_versions_integration() -> int:
    from integrations.models import Integration

    synthetic = Integration.objects.exclude(name__startswith="Bulk test")
    return synthetic.order_by("version", "pk").values_list("pk", flat=True)[0]
