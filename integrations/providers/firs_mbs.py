"""FIRS MBS: the Nigerian e-invoicing gateway, with an API key and secret."""

from __future__ import annotations

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
            pattern=r"^(\d{8}-\d{4}|\d{10})$",
            maxLength=13,
        ),
    },
    ["environment", "api_url", "business_id", "service_id", "tin"],
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
)
