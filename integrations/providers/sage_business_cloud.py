"""Sage Business Cloud Accounting: the Sage accounting API over OAuth 2.0."""

from __future__ import annotations

from integrations.providers.common import Template, config_schema, oauth_client, text

SCHEMA = config_schema(
    "Sage Business Cloud Accounting",
    {
        **oauth_client("Sage"),
        "business_id": text(
            "Business ID",
            "ID of the Sage business to read, from the businesses endpoint.",
            ["example-business-id"],
        ),
    },
    ["client_id", "business_id"],
)

TEMPLATE = Template(
    slug="sage_business_cloud",
    name="Sage Business Cloud Accounting",
    description="Reads sales invoices from one Sage Business Cloud Accounting business.",
    schema=SCHEMA,
    secret_fields=("client_secret", "refresh_token"),
    example={
        "client_id": "example-client-id",
        "client_secret": "example-client-secret-not-real",
        "refresh_token": "example-refresh-token-not-real",
        "business_id": "example-business-id",
        "schedule": "daily",
        "timezone": "Africa/Lagos",
    },
)
