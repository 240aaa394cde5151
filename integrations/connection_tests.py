"""Connection tests: run an integration type's probe and explain the outcome.

A probe speaks the system's real protocol with read-only calls. It returns an Outcome or
raises ProbeFailed; network failures surface as OutboundError from the outbound client.
Either way the result says which stage failed, why, and what to do about it.
"""

from __future__ import annotations

import logging
import queue
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import connections, transaction
from django.utils import timezone

from integrations import providers, secrets
from integrations.outbound import OutboundClient, OutboundError, Stage
from integrations.probing import Check, Outcome, ProbeFailed, elapsed_ms

logger = logging.getLogger(__name__)

STATUSES = [
    "ok",
    "invalid_config",
    "blocked_address",
    "dns_error",
    "connection_refused",
    "timeout",
    "tls_error",
    "auth_failed",
    "forbidden",
    "not_found",
    "rate_limited",
    "server_error",
    "unexpected_response",
    "verification_failed",
]


# Names of the bulk test's worker threads (the bench counts them).
WORKER_NAME = "connection-test"

STAGE_ORDER = ["url", "dns", "connect", "tls", "http", "auth", "verify"]

# What to do, when the system's probe has nothing more specific to say.
GENERAL_HINTS = {
    "invalid_config": "Correct the fields named above and test again.",
    "blocked_address": "The address is internal or reserved, so it is refused. Use the "
    "system's public address, or ask an administrator to allow its network in "
    "INTEGRATION_ALLOWED_NETWORKS.",
    "dns_error": "Check the host name in the URL for typos; it does not resolve.",
    "connection_refused": "Nothing accepted the connection at that address and port. "
    "Check the port, and that the server is running and reachable from the internet.",
    "timeout": "The server did not answer in time. Check that the address is right and "
    "that a firewall lets this service through.",
    "tls_error": "The server's certificate could not be trusted.",
    "auth_failed": "The credentials were rejected. Enter them again.",
    "forbidden": "The credentials work but lack permission for this call. Grant the "
    "API user read access.",
    "not_found": "The address answered but the API was not there. Check the base URL "
    "and its path.",
    "rate_limited": "The system is limiting requests. Wait a minute and test again.",
    "server_error": "The system had an internal error. Try again later; if it lasts, "
    "contact its administrator.",
    "unexpected_response": "The address answered with something other than this "
    "system's API. Check that the URL is the API's address, not a web page.",
    "verification_failed": "The system answered, but the account details did not "
    "match. Check the identifiers in the config.",
}

TLS_HINTS = {
    "expired": "The server's certificate has expired: its administrator must renew it.",
    "self_signed": "The server uses a self-signed certificate. Install a certificate "
    "from a public authority, or for an on-premise server turn TLS verification off "
    "(where the type allows it) or add its CA.",
    "untrusted": "The certificate was issued by an authority this service does not "
    "trust. Install one from a public authority, or add the CA.",
    "hostname_mismatch": "The certificate was issued for another host name: use the "
    "host name it names, or have the certificate reissued.",
}


def run_check(
    integration_type: str,
    config: dict[str, Any],
    stored_secrets: dict[str, str],
    save_secret: Callable[[str, str], None] = lambda name, value: None,
) -> dict[str, Any]:
    """Run the probe of a type against a config; return the result as a dict."""
    started = time.perf_counter()
    tested_at = timezone.now()
    errors = providers.config_errors(integration_type, {**config, **stored_secrets})
    template = providers.get_template(integration_type)
    if errors or template is None or template.probe is None:
        outcome = invalid_config_outcome(errors, integration_type)
        stages = merge_stages([Stage("url", False, 0.0)])
        return result_of(outcome, stages, {}, tested_at, started)

    verify_tls = config.get("verify_tls", True) is not False
    with (
        trusted_authority(config.get("ca_certificate")) as ca_bundle,
        OutboundClient(verify_tls=verify_tls, ca_bundle=ca_bundle) as client,
    ):
        check = Check(integration_type, config, stored_secrets, client, save_secret)
        outcome = outcome_of_probe(template, check)
        stages = merge_stages(client.stages, check.stages)
        target = target_of(client, config.get("api_url"))
    return result_of(outcome, stages, target, tested_at, started)


def target_of(client: OutboundClient, url: Any) -> dict[str, Any]:
    """Scheme, host and port of the config's URL, when it has a usable one."""
    if not isinstance(url, str) or not url:
        return {}
    try:
        return client.target(url)
    except OutboundError:
        return {}


def unexpected_failure() -> Outcome:
    """A bug of ours, told plainly; the traceback goes to the log for the operators."""
    return Outcome(
        "unexpected_response",
        "The connection test itself failed unexpectedly; the operators have the "
        "details in the logs.",
        "Try again later. If it keeps happening, tell support.",
    )


def failed_unexpectedly() -> dict[str, Any]:
    started = time.perf_counter()
    return result_of(unexpected_failure(), [], {}, timezone.now(), started)


@contextmanager
def trusted_authority(pem: Any) -> Iterator[str | None]:
    """A file holding a config's own CA certificate, for the duration of one test."""
    if not isinstance(pem, str) or not pem.strip():
        yield None
        return
    with tempfile.NamedTemporaryFile("w", suffix=".pem") as bundle:
        bundle.write(pem)
        bundle.flush()
        yield bundle.name


def outcome_of_probe(template, check: Check) -> Outcome:
    try:
        outcome = template.probe(check)
    except ProbeFailed as failure:
        outcome = failure.outcome
    except OutboundError as error:
        outcome = Outcome(error.status, error.message)
        if error.status == "tls_error":
            outcome.hint = TLS_HINTS.get(error.tls_problem or "")
    except Exception:
        # A bug in a probe must not hide the other results of a bulk test or the
        # monitor's cycle; operators see the traceback, users a plain sentence.
        logger.exception("the %s probe failed unexpectedly", template.slug)
        outcome = unexpected_failure()
    if outcome.status != "ok" and not outcome.hint:
        outcome.hint = template.hints.get(outcome.status) or GENERAL_HINTS.get(
            outcome.status
        )
    return outcome


def invalid_config_outcome(
    errors: dict[str, list[str]], integration_type: str
) -> Outcome:
    if not errors:
        return Outcome(
            "invalid_config",
            f"There is no connection test for the type {integration_type!r}.",
            "Choose one of the built-in integration types.",
        )
    path, messages = next(iter(errors.items()))
    more = (
        f" ({len(errors) - 1} more field(s) need attention)" if len(errors) > 1 else ""
    )
    return Outcome(
        "invalid_config",
        f"{path} {messages[0]}{more}.",
        GENERAL_HINTS["invalid_config"],
    )


def merge_stages(*stage_lists: list[Stage]) -> list[dict[str, Any]]:
    """One entry per stage name, in protocol order: ok only if every attempt was."""
    merged: dict[str, dict[str, Any]] = {}
    for stage in (stage for stages in stage_lists for stage in stages):
        entry = merged.setdefault(
            stage.name,
            {"name": stage.name, "ok": True, "duration_ms": 0.0, "detail": ""},
        )
        entry["ok"] = entry["ok"] and stage.ok
        entry["duration_ms"] = round(entry["duration_ms"] + stage.duration_ms, 1)
        entry["detail"] = stage.detail or entry["detail"]
    return sorted(merged.values(), key=lambda entry: stage_rank(entry["name"]))


def stage_rank(name: str) -> int:
    return STAGE_ORDER.index(name) if name in STAGE_ORDER else len(STAGE_ORDER)


def result_of(outcome, stages, target, tested_at, started) -> dict[str, Any]:
    http_ms = sum(stage["duration_ms"] for stage in stages if stage["name"] == "http")
    return {
        "ok": outcome.status == "ok",
        "status": outcome.status,
        "message": outcome.message,
        "hint": None if outcome.status == "ok" else outcome.hint,
        "stages": stages,
        "target": target,
        "http_status": outcome.http_status,
        "latency_ms": round(http_ms, 1) if http_ms else None,
        "duration_ms": elapsed_ms(started),
        "tested_at": tested_at.isoformat(),
        "details": outcome.details,
    }


def test_integration(integration, user=None) -> dict[str, Any]:
    """Test a saved integration with its stored secrets, and record the result."""
    result = run_check(
        integration.integration_type,
        integration.config,
        integration.secret_values(),
        integration.store_rotated_secret,
    )
    record_results([(integration, result)], user)
    return result


def test_draft(integration_type, config, user, based_on=None) -> dict[str, Any]:
    """Test an unsaved config; stored secrets of `based_on` fill in what it leaves out.

    They are used only while the target is unchanged: stored credentials are never
    sent to another host, not even for a test.
    """
    plain, writes = secrets.split_secrets(integration_type, config)
    stored: dict[str, str] = {}
    if based_on is not None and not secrets.moved_origin_fields(
        integration_type, based_on.config, plain
    ):
        stored = based_on.secret_values()
        save_secret = based_on.store_rotated_secret
    else:
        save_secret = lambda name, value: None  # noqa: E731 - nowhere to keep it
    sent = {name: value for name, value in writes.items() if isinstance(value, str)}
    cleared = {name for name, value in writes.items() if value is None}
    usable = {k: v for k, v in {**stored, **sent}.items() if k not in cleared}
    return run_check(integration_type, plain, usable, save_secret)


def record_results(tested: list[tuple[Any, dict[str, Any]]], user=None) -> None:
    """Keep test results and update each integration's health, in one transaction.

    Results are readings, not changes: no new version, no history row. An integration
    deleted while it was being tested simply gets no result stored.
    """
    from integrations.models import ConnectionTest, Integration, health_after

    tester = user if getattr(user, "is_authenticated", False) else None
    with transaction.atomic():
        # Locked in id order, so that two bulk tests never wait for each other in a
        # circle; a delete that comes meanwhile waits for this commit.
        failures = dict(
            Integration.objects.select_for_update()
            .filter(pk__in={integration.pk for integration, _ in tested})
            .order_by("pk")
            .values_list("pk", "consecutive_failures")
        )
        present = [(i, result) for i, result in tested if i.pk in failures]
        ConnectionTest.objects.bulk_create(
            stored_result(integration, tester, result)
            for integration, result in present
        )

        updated = {}
        for integration, result in present:
            count = 0 if result["ok"] else failures[integration.pk] + 1
            failures[integration.pk] = count
            updated[integration.pk] = Integration(
                pk=integration.pk,
                last_test_status=result["status"],
                last_tested_at=datetime.fromisoformat(result["tested_at"]),
                consecutive_failures=count,
                health=health_after(count),
            )
        Integration.objects.bulk_update(updated.values(), HEALTH_FIELDS)


# What a test result changes on its integration (and nothing else).
HEALTH_FIELDS = ["last_test_status", "last_tested_at", "consecutive_failures", "health"]


def stored_result(integration, tester, result: dict[str, Any]):
    from integrations.models import ConnectionTest

    return ConnectionTest(
        integration_id=integration.pk,
        user=tester,
        tested_at=datetime.fromisoformat(result["tested_at"]),
        status=result["status"],
        message=result["message"],
        hint=result["hint"] or "",
        stages=result["stages"],
        target=result["target"],
        http_status=result["http_status"],
        latency_ms=result["latency_ms"],
        details=result["details"],
    )


# How many finished results the calling thread stores in one transaction at most.
RECORD_BATCH = 50


def test_many(integrations, user=None, progress=None) -> list[dict[str, Any]]:
    """Test many integrations at once, at most CONNECTION_TEST_CONCURRENCY at a time.

    Results come back in the order of `integrations`, each with its integration id.
    The worker threads only talk to the remote systems. This thread reads the secrets
    before they start and stores the results as they finish, a batch per transaction,
    so a bulk test holds one database connection however wide its bound. (A worker
    touches the database only to keep an OAuth refresh token the system rotated, at
    once, because the old one no longer works.)
    """
    from integrations.models import secret_values_of

    integrations = list(integrations)
    bound = max(1, int(getattr(settings, "CONNECTION_TEST_CONCURRENCY", 32)))
    secrets_by_id = secret_values_of(integrations)
    pending: queue.SimpleQueue = queue.SimpleQueue()
    for index, integration in enumerate(integrations):
        pending.put((index, integration))
    finished: queue.SimpleQueue = queue.SimpleQueue()
    stopping = threading.Event()

    def work() -> None:
        try:
            while not stopping.is_set():
                try:
                    index, integration = pending.get_nowait()
                except queue.Empty:
                    return
                finished.put((index, check_saved(integration, secrets_by_id)))
        finally:
            connections.close_all()

    workers = [
        threading.Thread(target=work, name=f"{WORKER_NAME}-{number}")
        for number in range(min(bound, len(integrations)))
    ]
    for worker in workers:
        worker.start()
    try:
        return collect_results(integrations, finished, user, progress)
    finally:
        # When storing fails (the database went away), the workers stop taking tests.
        stopping.set()
        for worker in workers:
            worker.join()


def check_saved(integration, secrets_by_id: dict[int, dict[str, str]]) -> dict:
    try:
        return run_check(
            integration.integration_type,
            integration.config,
            secrets_by_id[integration.pk],
            integration.store_rotated_secret,
        )
    except Exception:
        # One broken row must not leave the others without a result.
        logger.exception("testing integration %s failed", integration.pk)
        return failed_unexpectedly()


def collect_results(integrations, finished, user, progress) -> list[dict[str, Any]]:
    """Store results as the workers finish them; return them in the original order."""
    results: list[dict[str, Any]] = [{} for _ in integrations]
    received = 0
    while received < len(integrations):
        batch = [finished.get()]
        while len(batch) < RECORD_BATCH and not finished.empty():
            batch.append(finished.get())
        received += len(batch)

        record_results([(integrations[index], result) for index, result in batch], user)
        for index, result in batch:
            integration = integrations[index]
            results[index] = {
                "integration": integration.pk,
                "name": integration.name,
                **result,
            }
            if progress:
                progress(integration, result)
    return results
