"""Xero: the Xero accounting API over OAuth 2.0."""

from __future__ import annotations

from integrations.providers.common import Template, config_schema, oauth_client, uuid

SCHEMA = config_schema(
    "Xero",
    {
        **oauth_client("Xero"),
        "tenant_id": uuid(
            "Tenant ID",
            "ID of the Xero organisation, from the connections endpoint.",
            "00000000-0000-0000-0000-000000000000",
        ),
    },
    ["client_id", "tenant_id"],
)

TEMPLATE = Template(
    slug="xero",
    name="Xero",
    description="Reads invoices from one Xero organisation.",
    schema=SCHEMA,
    secret_fields=("client_secret", "refresh_token"),
    example={
        "client_id": "example-client-id",
        "client_secret": "example-client-secret-not-real",
        "refresh_token": "example-refresh-token-not-real",
        "tenant_id": "00000000-0000-0000-0000-000000000000",
        "schedule": "daily",
        "timezone": "Africa/Lagos",
    },
)
