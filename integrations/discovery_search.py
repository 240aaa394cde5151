"""Find an integration's machine-readable API description and read it.

The places looked at, in order: the config's openapi_url, a Link header with
rel="service-desc" on api_url (from HEAD, else GET), the RFC 9727 catalogue at
/.well-known/api-catalog, then the usual file locations, each resolved as a relative
reference against api_url and against the host root. Every place tried is reported with
what it answered. Requests go through the outbound client, without credentials: API
descriptions are public documents, and credentials never go where they were not meant.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urljoin, urlsplit

from integrations.discovery import (
    MAX_DOCUMENT_BYTES,
    DiscoveryError,
    parse_document,
    sorted_for_display,
)
from integrations.outbound import OutboundClient, OutboundError

COMMON_LOCATIONS = [
    "openapi.json",
    "openapi.yaml",
    "swagger.json",
    "v3/api-docs",
    "v2/api-docs",
    "swagger/v1/swagger.json",
    "api-docs",
]

# Several slow or silent servers in a row should not hold a request for minutes.
TIME_BUDGET_SECONDS = 45
ACCEPT = "application/json, application/yaml;q=0.9, application/vnd.oai.openapi;q=0.9, */*;q=0.1"
LINK = re.compile(r"<([^>]*)>\s*((?:;\s*[^;,]+)*)")


def discover(config: dict[str, Any]) -> dict[str, Any]:
    """Look for an API description for a config; the result says what was found or why not."""
    api_url = config.get("api_url")
    if not isinstance(api_url, str) or not api_url:
        return failure("The config has no api_url to look at.", [])

    attempts: list[dict[str, Any]] = []
    started = time.monotonic()
    with OutboundClient(max_body=MAX_DOCUMENT_BYTES + 1) as client:
        for url in candidates(client, config, api_url, attempts):
            if time.monotonic() - started > TIME_BUDGET_SECONDS:
                attempts.append({"url": url, "outcome": "not tried: time budget spent"})
                break
            description = fetch(client, url, attempts)
            if description is not None:
                return {
                    "ok": True,
                    "source_url": url,
                    "error": None,
                    **description.as_dict(),
                    "attempts": attempts,
                }
    return failure("No API description was found at any of the places tried.", attempts)


def failure(message: str, attempts: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "ok": False,
        "error": message,
        "source_url": None,
        "operations": [],
        "attempts": attempts,
    }


def candidates(client, config, api_url: str, attempts) -> Iterator[str]:
    """The places to look, in order, without repeats; later ones are found lazily."""
    base = api_url if api_url.endswith("/") else api_url + "/"
    seen: set[str] = set()

    def fresh(urls):
        for url in urls:
            if url and url not in seen and usable(url):
                seen.add(url)
                yield url

    if isinstance(config.get("openapi_url"), str) and config["openapi_url"]:
        yield from fresh([joined(base, config["openapi_url"])])
    yield from fresh(service_desc_links(client, api_url, attempts))
    catalogue = joined(base, "/.well-known/api-catalog")
    if catalogue:
        yield from fresh(catalogue_entries(client, catalogue, attempts))
    for location in COMMON_LOCATIONS:
        yield from fresh([joined(base, location), joined(base, "/" + location)])


def usable(url: str) -> bool:
    try:
        return urlsplit(url).scheme in ("http", "https")
    except ValueError:
        return False


def joined(base: str, reference: str) -> str | None:
    """A reference resolved against base, or None when either cannot be read."""
    try:
        return urljoin(base, reference)
    except ValueError:
        return None


def service_desc_links(client, api_url: str, attempts) -> list[str]:
    """Targets of Link: <...>; rel="service-desc" on api_url, read from HEAD then GET."""
    for method in ("HEAD", "GET"):
        try:
            response = client.request(method, api_url, headers={"Accept": ACCEPT})
        except OutboundError as error:
            attempts.append(
                {"url": api_url, "method": method, "outcome": error.message}
            )
            return []
        links = links_with_rel(response.headers.get_list("link"), "service-desc")
        attempts.append(
            {
                "url": api_url,
                "method": method,
                "http_status": response.status_code,
                "outcome": f"{len(links)} service-desc link(s)",
            }
        )
        if links:
            return [url for link in links if (url := joined(response.url, link))]
    return []


def links_with_rel(values: list[str], rel: str) -> list[str]:
    targets = []
    for value in values:
        for target, params in LINK.findall(value):
            rels = re.findall(r'rel\s*=\s*"?([^";]+)"?', params, re.IGNORECASE)
            if any(rel in item.lower().split() for item in rels):
                targets.append(target.strip())
    return targets


def catalogue_entries(client, url: str, attempts) -> list[str]:
    """service-desc links of an RFC 9727 API catalogue (a linkset document)."""
    try:
        response = client.get(url, headers={"Accept": "application/linkset+json"})
    except OutboundError as error:
        attempts.append({"url": url, "method": "GET", "outcome": error.message})
        return []
    entries: list[str] = []
    if response.status_code == 200:
        try:
            linkset = response.json().get("linkset", [])
            for item in linkset:
                for link in item.get("service-desc", []):
                    entries.append(joined(response.url, str(link["href"])))
        except (ValueError, AttributeError, TypeError, KeyError, RecursionError):
            entries = []
    entries = [entry for entry in entries if entry]
    attempts.append(
        {
            "url": url,
            "method": "GET",
            "http_status": response.status_code,
            "outcome": f"{len(entries)} catalogue entr{'y' if len(entries) == 1 else 'ies'}",
        }
    )
    return entries


def fetch(client, url: str, attempts):
    """Fetch and parse one candidate; record what happened; None unless it is usable."""
    try:
        response = client.get(url, headers={"Accept": ACCEPT})
    except OutboundError as error:
        attempts.append({"url": url, "method": "GET", "outcome": error.message})
        return None
    attempt = {"url": url, "method": "GET", "http_status": response.status_code}
    attempts.append(attempt)
    if response.status_code != 200:
        attempt["outcome"] = f"HTTP {response.status_code}"
        return None
    if response.truncated:
        attempt["outcome"] = "refused: the document is larger than 5 MB"
        return None
    try:
        description = parse_document(response.body, response.content_type)
    except DiscoveryError as error:
        attempt["outcome"] = f"refused: {error}"
        return None
    attempt["outcome"] = (
        f"OpenAPI {description.spec_version} with {len(description.operations)} operations"
    )
    description.operations = sorted_for_display(description.operations)
    return description
