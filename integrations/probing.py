"""The toolkit of probes: what a probe receives, returns, and how it reads answers.

Each integration type's probe lives next to its template in integrations/providers/ and
uses only this module and the outbound client, so templates never import the machinery
that runs them.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings

from integrations.outbound import OutboundClient, OutboundError, Stage


@dataclass
class Outcome:
    """What a probe found; `status` is one of STATUSES."""

    status: str
    message: str
    hint: str | None = None
    http_status: int | None = None
    details: dict[str, Any] = field(default_factory=dict)


class ProbeFailed(Exception):
    """Raised by a probe to stop with a failed outcome."""

    def __init__(self, outcome: Outcome):
        super().__init__(outcome.message)
        self.outcome = outcome


@dataclass
class Check:
    """Everything a probe needs: the config, its secrets and a safe HTTP client."""

    integration_type: str
    config: dict[str, Any]
    secrets: dict[str, str]
    client: OutboundClient
    save_secret: Callable[[str, str], None]
    stages: list[Stage] = field(default_factory=list)

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        """Time a probe stage (auth, verify); it counts as failed if it raises."""
        started = time.perf_counter()
        try:
            yield
        except OutboundError:
            # The client's own stages (dns, connect, tls, http) show where it failed.
            raise
        except BaseException:
            self.stages.append(Stage(name, False, elapsed_ms(started)))
            raise
        self.stages.append(Stage(name, True, elapsed_ms(started)))

    def secret(self, name: str) -> str:
        value = self.secrets.get(name)
        if not value:
            raise ProbeFailed(
                Outcome(
                    "invalid_config",
                    f"{name} is not set, so the probe cannot sign in.",
                    f"Enter {name} in the config and test again.",
                )
            )
        return value


def elapsed_ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 1)


def http_failure(response, system: str, expect_json: bool = True) -> Outcome | None:
    """The outcome for an HTTP answer that is not a success, or None when it is one."""
    code = response.status_code
    by_status = {
        401: ("auth_failed", f"{system} rejected the credentials (HTTP 401)."),
        403: ("forbidden", f"{system} refused access to this call (HTTP 403)."),
        404: ("not_found", f"{system} answered 404 Not Found at {response.url}."),
        429: ("rate_limited", f"{system} is limiting requests (HTTP 429)."),
    }
    if code in by_status:
        status, message = by_status[code]
        if code == 429 and response.headers.get("Retry-After"):
            message += (
                f" It asks to retry after {response.headers['Retry-After'][:20]} s."
            )
        return Outcome(status, message, http_status=code)
    if code >= 500:
        return Outcome(
            "server_error",
            f"{system} had an internal error (HTTP {code}).",
            http_status=code,
        )
    if code >= 300:
        return Outcome(
            "unexpected_response",
            f"{system} answered HTTP {code}, which is not a success.",
            http_status=code,
        )
    if expect_json and not looks_like_json(response):
        return Outcome(
            "unexpected_response",
            f"The address answered HTTP {code} with {describe_body(response)}, not "
            f"{system}'s JSON API.",
            http_status=code,
        )
    return None


def looks_like_json(response) -> bool:
    if response.truncated:
        return False
    try:
        response.json()
    except ValueError:
        return False
    return True


def describe_body(response) -> str:
    kind = response.content_type or "no content type"
    if "html" in kind or response.body.lstrip()[:1] == b"<":
        return "an HTML page (a login page or a proxy?)"
    return f"a {kind} body"


def json_of(response, system: str) -> Any:
    """The response's JSON, or a ProbeFailed saying the answer was not JSON."""
    failure = http_failure(response, system)
    if failure:
        raise ProbeFailed(failure)
    return response.json()


def service_urls(slug: str, defaults: dict[str, str]) -> dict[str, str]:
    """The fixed addresses of a hosted system (token and API endpoints).

    INTEGRATION_SERVICE_URLS = {"xero": {"api": "...", "token": "..."}} overrides them;
    the tests use it to point probes at fake servers on loopback.
    """
    overrides = getattr(settings, "INTEGRATION_SERVICE_URLS", {}).get(slug, {})
    return {**defaults, **overrides}


def keys_folded(value: Any) -> Any:
    """The same JSON with every object key in lower case, at every depth.

    Vendors spell keys differently between versions (Fault/fault, Detail/detail), so
    probes compare keys case-insensitively by reading this copy.
    """
    if isinstance(value, dict):
        return {str(k).lower(): keys_folded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [keys_folded(item) for item in value]
    return value


def folded_json(response) -> Any:
    """The response's JSON with lower-case keys, or None when it is not JSON."""
    return keys_folded(response.json()) if looks_like_json(response) else None
