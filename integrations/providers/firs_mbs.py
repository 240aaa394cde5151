"""FIRS MBS: the Nigerian e-invoicing gateway, with an API key and secret."""

from __future__ import annotations

from urllib.parse import urljoin

from integrations.probing import Check, Outcome, ProbeFailed, json_of
from integrations.providers.common import (
    LETTERS_AND_DIGITS,
    Template,
    config_schema,
    environment,
    secret,
    text,
    url,
)

SCHEMA = config_schema(
    "FIRS MBS",
    {
        "environment": environment(
            "Sandbox for testing, production for real invoices."
        ),
        "api_url": url(
            "Gateway URL",
            "Base URL of the gateway for the chosen environment, as given by FIRS "
            "or the access point provider. It is never guessed: credentials go only "
            "to the address written here.",
            ["https://sandbox.einvoice.example"],
        ),
        "api_key": secret("API key", "API key issued by FIRS to the access point."),
        "api_secret": secret("API secret", "API secret issued with the API key."),
        "business_id": text(
            "Business ID",
            "ID of the taxpayer's business on the gateway.",
            ["demo-business-0001"],
            maxLength=100,
        ),
        "service_id": text(
            "Service ID",
            "Eight-character service ID that starts every invoice reference (IRN).",
            ["DEMO0001"],
            minLength=8,
            maxLength=8,
            pattern=LETTERS_AND_DIGITS,
        ),
        "tin": text(
            "TIN",
            "Nigerian Tax Identification Number of the business.",
            ["12345678-0001", "1234567890"],
            pattern=r"^([0-9]{8}-[0-9]{4}|[0-9]{10})$",
            maxLength=13,
        ),
    },
    ["environment", "api_url", "business_id", "service_id", "tin"],
)

HINTS = {
    "auth_failed": "The gateway rejected the API key or secret. Generate them again in "
    "the MBS dashboard; sandbox and production keys are different.",
    "not_found": "This address does not answer like the e-invoicing gateway. Use the "
    "gateway's base URL for the chosen environment, without /api.",
}

# A read-only call that needs the API key: the list of currencies. The probe never calls
# an endpoint that signs, validates or submits an invoice.
AUTHENTICATED_PATH = "api/v1/invoice/resources/currencies"


def probe(check: Check) -> Outcome:
    base = check.config["api_url"].rstrip("/") + "/"
    with check.stage("http"):
        health = json_of(check.client.get(urljoin(base, "api")), "The gateway")
        if not (isinstance(health, dict) and health.get("healthy") is True):
            raise ProbeFailed(
                Outcome(
                    "unexpected_response",
                    "The gateway's health check did not say healthy.",
                )
            )

    headers = {
        "x-api-key": check.secret("api_key"),
        "x-api-secret": check.secret("api_secret"),
    }
    with check.stage("auth"):
        response = check.client.get(urljoin(base, AUTHENTICATED_PATH), headers=headers)
        if rejected_key(response):
            raise ProbeFailed(
                Outcome(
                    "auth_failed",
                    "The gateway could not validate the API key and secret.",
                    http_status=response.status_code,
                )
            )
        json_of(response, "The gateway")
    environment = check.config.get("environment", "")
    return Outcome(
        "ok",
        f"The {environment} gateway accepted the API key and secret.",
        http_status=response.status_code,
        details={"environment": environment},
    )


def rejected_key(response) -> bool:
    """The gateway answers a bad key with HTTP 400 (sometimes 401) and says so in the body."""
    if response.status_code not in (400, 401):
        return False
    try:
        error = response.json().get("error") or {}
    except (ValueError, AttributeError):
        return response.status_code == 401
    return (
        "api key" in str(error.get("public_message", "")).lower()
        or response.status_code == 401
    )


TEMPLATE = Template(
    slug="firs_mbs",
    name="FIRS MBS e-invoicing",
    description="Submits invoices to the FIRS MBS e-invoicing gateway in Nigeria.",
    schema=SCHEMA,
    secret_fields=("api_key", "api_secret"),
    example={
        "environment": "sandbox",
        "api_url": "https://sandbox.einvoice.example",
        "api_key": "example-api-key-not-real",
        "api_secret": "example-api-secret-not-real",
        "business_id": "demo-business-0001",
        "service_id": "DEMO0001",
        "tin": "12345678-0001",
        "schedule": "daily",
        "timezone": "Africa/Lagos",
    },
    origin_fields=("api_url",),
    probe=probe,
    hints=HINTS,
    endpoints=(
        "GET /api (health)",
        f"GET /{AUTHENTICATED_PATH}",
        "POST /api/v1/invoice/validate, /api/v1/invoice/sign (never called by tests)",
    ),
)
