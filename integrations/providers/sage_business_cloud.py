"""Sage Business Cloud Accounting: the Sage accounting API over OAuth 2.0."""

from __future__ import annotations

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
    oauth_client,
    text,
)
from integrations.providers.oauth import (
    TokenEndpoint,
    bearer,
    refresh_access_token,
)

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


DEFAULT_URLS = {
    "token": "https://oauth.accounting.sage.com/token",
    "api": "https://api.accounting.sage.com/v3.1",
}

# A user rarely has more than a handful of businesses; one page of the largest size
# holds them all, so the probe makes a single call.
PAGE_SIZE = 200

HINTS = {
    "auth_failed": "Sage rejected the access token. Reconnect Sage to authorise the "
    "app again, and check the client ID and secret in the Sage Developer Portal.",
    "forbidden": "The Sage business has no active subscription: its trial ended or "
    "the subscription was cancelled. Renew it in Sage, then test again.",
    "verification_failed": "The business is not among those this Sage user can "
    "reach. Copy its ID from the businesses the result lists, or reconnect Sage as "
    "a user of that business.",
    "rate_limited": "Sage is throttling requests. Wait a minute and test again.",
    "server_error": "Sage had a service problem (it asks to retry later). Test again "
    "in a few minutes.",
    "unexpected_response": "The answer was not Sage's JSON API. Test again; if it "
    "lasts, an outbound proxy may be rewriting the traffic.",
}

TOKEN_HINTS = {
    "invalid_grant": "Sage no longer accepts the stored refresh token: it expired "
    "(31 days unused), was revoked, or was replaced by a newer one. Reconnect Sage "
    "to authorise the app again.",
    "invalid_client": "Sage did not accept the client ID and client secret. Copy "
    "them again from the app in the Sage Developer Portal.",
}


def probe(check: Check) -> Outcome:
    urls = service_urls("sage_business_cloud", DEFAULT_URLS)
    business_id = str(check.config["business_id"])
    endpoint = TokenEndpoint(urls["token"], "Sage", "body", TOKEN_HINTS)

    with check.stage("auth"):
        token = refresh_access_token(check, endpoint)

    with check.stage("verify"):
        response = check.client.get(
            f"{urls['api'].rstrip('/')}/businesses?items_per_page={PAGE_SIZE}",
            headers=bearer(token),
        )
        business = business_in(businesses_of(response), business_id)

    name = str(business.get("displayed_as") or business.get("name") or "")
    return Outcome(
        "ok",
        f"Connected to the Sage business {name}.",
        http_status=response.status_code,
        details={"company": name, "business_id": business_id},
    )


def businesses_of(response) -> list:
    body = folded_json(response)
    if response.status_code != 200:
        raise ProbeFailed(failure_outcome(response, body))
    items = body.get("$items") if isinstance(body, dict) else None
    if not isinstance(items, list):
        found = "JSON without $items" if body is not None else None
        raise ProbeFailed(
            Outcome(
                "unexpected_response",
                f"Sage answered HTTP 200 with {found or describe_body(response)}, "
                "not its list of businesses.",
                http_status=200,
            )
        )
    return items


def business_in(businesses: list, business_id: str) -> dict[str, Any]:
    for business in businesses:
        if isinstance(business, dict) and str(business.get("id", "")) == business_id:
            return business
    listed = [
        f"{item.get('displayed_as', '')} ({item.get('id', '')})"
        for item in businesses[:5]
        if isinstance(item, dict)
    ]
    raise ProbeFailed(
        Outcome(
            "verification_failed",
            f"Business {business_id} is not among the {len(businesses)} business(es) "
            f"this Sage user can reach"
            + (f": {', '.join(listed)}." if listed else "."),
            http_status=200,
        )
    )


def failure_outcome(response, body: Any) -> Outcome:
    """Classify by status and the error's $dataCode and $message."""
    status = response.status_code
    first = body[0] if isinstance(body, list) and body else {}
    first = first if isinstance(first, dict) else {}
    data_code = str(first.get("$datacode", ""))
    message = str(first.get("$message", "")).lower()

    if status == 401 and ("(mse)" in message or "no active subscription" in message):
        return Outcome(
            "forbidden",
            "Sage refused access: the business has no active subscription (MSE).",
            http_status=status,
        )
    if status == 401:
        shown = " (AuthorizationFailure)" if data_code == "AuthorizationFailure" else ""
        return Outcome(
            "auth_failed",
            f"Sage rejected the access token it had just issued{shown}.",
            http_status=status,
        )
    return http_failure(response, "Sage") or Outcome(
        "unexpected_response", f"Sage answered HTTP {status}.", http_status=status
    )


TEMPLATE = Template(
    slug="sage_business_cloud",
    name="Sage Business Cloud Accounting",
    description="Reads sales invoices from one Sage Business Cloud Accounting business.",
    schema=SCHEMA,
    secret_fields=OAUTH_SECRETS,
    example={
        **OAUTH_EXAMPLE,
        "business_id": "example-business-id",
        "schedule": "daily",
        "timezone": "Africa/Lagos",
    },
    probe=probe,
    hints=HINTS,
    endpoints=(
        "POST https://oauth.accounting.sage.com/token (refresh_token grant)",
        "GET https://api.accounting.sage.com/v3.1/businesses",
        "GET /v3.1/sales_invoices (X-Business)",
    ),
)
