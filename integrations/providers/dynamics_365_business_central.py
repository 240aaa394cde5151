"""Dynamics 365 Business Central: its API with an Azure AD app (client credentials)."""

from __future__ import annotations

from integrations.providers.common import (
    Template,
    config_schema,
    secret,
    text,
    uuid,
)

SCHEMA = config_schema(
    "Dynamics 365 Business Central",
    {
        "tenant_id": text(
            "Tenant",
            "Azure AD tenant of the client, as its ID or its domain name.",
            ["00000000-0000-0000-0000-000000000000", "contoso.onmicrosoft.com"],
            pattern=r"^([0-9A-Fa-f]{8}(-[0-9A-Fa-f]{4}){3}-[0-9A-Fa-f]{12}"
            r"|[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+)$",
            maxLength=255,
        ),
        "environment": text(
            "Environment",
            "Name of the Business Central environment, as in the admin centre.",
            ["production", "sandbox"],
            pattern=r"^[A-Za-z0-9_-]+$",
            maxLength=100,
        ),
        "client_id": uuid(
            "Client ID",
            "Application (client) ID of the app registered in Azure AD.",
            "22222222-2222-2222-2222-222222222222",
        ),
        "client_secret": secret(
            "Client secret", "Client secret of the app registered in Azure AD."
        ),
        "company_id": uuid(
            "Company ID",
            "ID of the company inside the environment, from the companies endpoint.",
            "11111111-1111-1111-1111-111111111111",
        ),
    },
    # client_id stays optional: rows created before it was asked for lack it.
    ["tenant_id", "environment", "company_id"],
)

TEMPLATE = Template(
    slug="dynamics_365_business_central",
    name="Dynamics 365 Business Central",
    description="Reads posted sales invoices from a Business Central company.",
    schema=SCHEMA,
    secret_fields=("client_secret",),
    example={
        "tenant_id": "00000000-0000-0000-0000-000000000000",
        "environment": "production",
        "client_id": "22222222-2222-2222-2222-222222222222",
        "client_secret": "example-client-secret-not-real",
        "company_id": "11111111-1111-1111-1111-111111111111",
        "schedule": "weekly",
        "timezone": "Africa/Lagos",
    },
)
