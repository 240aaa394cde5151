"""QuickBooks Online: the Intuit accounting API over OAuth 2.0."""

from __future__ import annotations

import re
from typing import Any

from integrations.probing import (
    Check,
    Outcome,
    ProbeFailed,
    describe_body,
    folded_json,
    http_failure,
    service_urls,
)
from integrations.providers.common import (
    OAUTH_EXAMPLE,
    OAUTH_SECRETS,
    Template,
    config_schema,
    environment,
    oauth_client,
    text,
)
from integrations.providers.oauth import (
    TokenEndpoint,
    bearer,
    refresh_access_token,
)

SCHEMA = config_schema(
    "QuickBooks Online",
    {
        "environment": environment(
            "Intuit sandbox companies or live ones; the API host follows from it."
        ),
        **oauth_client("Intuit"),
        "realm_id": text(
            "Company ID (realm ID)",
            "Number of the QuickBooks company, shown after connecting the app.",
            ["9130000000000000"],
            pattern=r"^[0-9]+$",
            maxLength=32,
        ),
    },
    # client_id stays optional: rows created before it was asked for lack it.
    ["environment", "realm_id"],
)


DEFAULT_URLS = {
    "token": "https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer",
    "production": "https://quickbooks.api.intuit.com",
    "sandbox": "https://sandbox-quickbooks.api.intuit.com",
}

# Intuit retired the minor versions below 75; without one the oldest API answers.
MINOR_VERSION = "75"

HINTS = {
    "auth_failed": "Intuit rejected the app or its token. Check the client ID and "
    "secret under the app's Keys & credentials (development keys work only with "
    "environment sandbox, production keys only with production), or reconnect "
    "QuickBooks to get a new refresh token.",
    "forbidden": "The app may not read this company. Reconnect it with the "
    "com.intuit.quickbooks.accounting scope, as a user with admin access.",
    "rate_limited": "Intuit allows 500 requests a minute per company and 10 a second "
    "per app. Wait 60 seconds and test again.",
    "server_error": "Intuit had a service problem. Test again in a few minutes, and "
    "check status.developer.intuit.com if it lasts.",
    "unexpected_response": "The answer was not QuickBooks' JSON API. Test again; if "
    "it lasts, an outbound proxy may be rewriting the traffic.",
}

TOKEN_HINTS = {
    "invalid_grant": "The refresh token is expired, revoked or superseded (each "
    "refresh may issue a new one). Reconnect QuickBooks from the app to authorise "
    "it again, then save the new refresh token.",
    "invalid_client": "Intuit did not accept the client ID and client secret. Copy "
    "both again from the app's Keys & credentials page, from the keys of the same "
    "environment (development for sandbox, production for production).",
}

ERROR_CODE = re.compile(r"errorCode=0*(\d+)")


def probe(check: Check) -> Outcome:
    urls = service_urls("quickbooks_online", DEFAULT_URLS)
    environment = check.config.get("environment", "production")
    realm = check.config["realm_id"]
    endpoint = TokenEndpoint(urls["token"], "Intuit", "basic", TOKEN_HINTS)

    with check.stage("auth"):
        token = refresh_access_token(check, endpoint)

    api = urls["sandbox" if environment == "sandbox" else "production"].rstrip("/")
    url = f"{api}/v3/company/{realm}/companyinfo/{realm}?minorversion={MINOR_VERSION}"
    with check.stage("verify"):
        response = check.client.get(url, headers=bearer(token))
        info = company_info(response, check)

    name = str(info.get("companyname") or info.get("legalname") or "")
    details: dict[str, Any] = {
        "company": name,
        "realm_id": realm,
        "environment": environment,
        "country": str(info.get("country", "")),
    }
    if response.headers.get("intuit_tid"):
        details["intuit_tid"] = response.headers["intuit_tid"][:100]
    return Outcome(
        "ok",
        f"Connected to the QuickBooks Online {environment} company {name} "
        f"(realm {realm}).",
        http_status=response.status_code,
        details=details,
    )


def company_info(response, check: Check) -> dict[str, Any]:
    """The CompanyInfo object of a 200 answer; anything else stops the probe."""
    body = folded_json(response)
    fault = fault_of(body)
    if response.status_code != 200 or fault is not None:
        raise ProbeFailed(failure_outcome(response, fault, check))

    info = body.get("companyinfo") if isinstance(body, dict) else None
    if not isinstance(info, dict) or not info.get("companyname"):
        found = "JSON without CompanyInfo" if body is not None else None
        raise ProbeFailed(
            Outcome(
                "unexpected_response",
                f"QuickBooks answered HTTP 200 with "
                f"{found or describe_body(response)}, not the company's details.",
                http_status=200,
            )
        )
    return info


def fault_of(body: Any) -> dict[str, str] | None:
    """The type and code of a Fault, in either of Intuit's two spellings."""
    fault = body.get("fault") if isinstance(body, dict) else None
    if not isinstance(fault, dict):
        return None
    errors = fault.get("error")
    first = errors[0] if isinstance(errors, list) and errors else {}
    first = first if isinstance(first, dict) else {}
    code = str(first.get("code") or "").lstrip("0")
    in_message = ERROR_CODE.search(str(first.get("message", "")))
    if not code and in_message:
        code = in_message.group(1)
    return {
        "type": str(fault.get("type", "")).lower(),
        "code": code,
        "message": str(first.get("message", "")).lower(),
    }


def failure_outcome(response, fault: dict[str, str] | None, check: Check) -> Outcome:
    """Classify a failure by status and the Fault's code: Intuit reuses statuses."""
    status = response.status_code
    code = (fault or {}).get("code", "")
    kind = (fault or {}).get("type", "")
    realm = check.config["realm_id"]
    shown = f" (error {code})" if code.isdigit() else ""

    if status == 429 or code == "3001":
        return Outcome(
            "rate_limited",
            f"Intuit is throttling requests for this company{shown}.",
            http_status=status,
        )
    if code == "120" or ("authoriz" in kind and status != 403):
        return Outcome(
            "forbidden",
            f"Intuit refused access: the connecting user no longer has access to "
            f"QuickBooks company {realm}{shown}.",
            "Ask an admin of the company to reconnect the app.",
            status,
        )
    if status == 403 and code == "3100":
        return Outcome(
            "verification_failed",
            f"Intuit did not authorise this app's token for company {realm} on the "
            f"{check.config.get('environment')} API{shown}.",
            environment_hint(check),
            status,
        )
    if status == 404:
        return Outcome(
            "verification_failed",
            f"QuickBooks does not recognise company {realm} on the "
            f"{check.config.get('environment')} API (HTTP 404).",
            environment_hint(check),
            status,
        )
    if status == 400 and (code == "500" or "unsupported operation" in str(fault)):
        return Outcome(
            "not_found",
            f"QuickBooks does not offer company info at this address{shown}.",
            environment_hint(check),
            status,
        )
    if status == 401 or code in ("3200", "100") or "authentic" in kind:
        return Outcome(
            "auth_failed",
            f"Intuit rejected the access token it had just issued{shown}.",
            http_status=status,
        )
    failure = http_failure(response, "QuickBooks")
    if failure is not None:
        return failure
    return Outcome(
        "unexpected_response",
        f"QuickBooks answered HTTP {status} with a fault{shown} instead of the "
        "company's details.",
        http_status=status,
    )


def environment_hint(check: Check) -> str:
    """Sandbox companies exist only on the sandbox API, live ones only in production."""
    environment = check.config.get("environment", "production")
    other = "production" if environment == "sandbox" else "sandbox"
    realm = check.config["realm_id"]
    return (
        f"Company {realm} is not reachable with these keys on the {environment} API. "
        f"A sandbox company answers only on the sandbox API and a live one only in "
        f"production: if {realm} is a {other} company, set environment to {other} "
        f"and use that environment's keys. Otherwise reconnect the app, choose the "
        f"company, and copy the realm ID shown after connecting."
    )


TEMPLATE = Template(
    slug="quickbooks_online",
    name="QuickBooks Online",
    description="Reads invoices and credit notes from a QuickBooks Online company.",
    schema=SCHEMA,
    secret_fields=OAUTH_SECRETS,
    example={
        "environment": "sandbox",
        **OAUTH_EXAMPLE,
        "realm_id": "9130000000000000",
        "schedule": "daily",
        "timezone": "Africa/Lagos",
    },
    probe=probe,
    hints=HINTS,
    endpoints=(
        "POST https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer "
        "(refresh_token grant)",
        "GET /v3/company/{realm_id}/companyinfo/{realm_id}",
        "GET /v3/company/{realm_id}/query (Invoice, CreditMemo)",
    ),
)
