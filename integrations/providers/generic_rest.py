"""Any REST API that answers a health check, with a choice of authentication."""

from __future__ import annotations

from urllib.parse import urljoin

from integrations.probing import (
    Check,
    Outcome,
    ProbeFailed,
    describe_body,
    http_failure,
)
from integrations.providers.common import (
    ABSOLUTE_PATH,
    HEADER_NAME,
    Template,
    choice,
    config_schema,
    secret,
    text,
    url,
)

SCHEMA = config_schema(
    "Generic REST API",
    {
        "api_url": url(
            "API URL", "Base URL of the API.", ["https://ledger.example.com/api"]
        ),
        "auth_method": choice(
            "Authentication",
            "api_key sends the key in a header, bearer sends a token, basic sends "
            "a user name and password, none sends nothing.",
            ["api_key", "bearer", "basic", "none"],
            "api_key",
        ),
        "api_key_header": {
            **text(
                "API key header",
                "Header that carries the API key.",
                ["X-API-Key"],
                pattern=HEADER_NAME,
                maxLength=100,
            ),
            "default": "X-API-Key",
        },
        "api_key": secret("API key", "Key sent when authentication is api_key."),
        "bearer_token": secret("Bearer token", "Token sent when it is bearer."),
        "username": text(
            "User name", "User sent when authentication is basic.", ["einvoice"]
        ),
        "password": secret("Password", "Password sent when authentication is basic."),
        "openapi_url": {
            "type": "string",
            "title": "OpenAPI document",
            "description": "Where the API's OpenAPI or Swagger description is, absolute "
            "or relative to the API URL. Discovery finds it without this when it is in a "
            "usual place.",
            "minLength": 1,
            "maxLength": 2000,
            "examples": ["/openapi.json"],
        },
        "health_path": {
            **text(
                "Health check path",
                "Path, below the API URL, that a connection test requests.",
                ["/", "/health"],
                pattern=ABSOLUTE_PATH,
            ),
            "default": "/",
        },
        "retries": {
            "type": "integer",
            "title": "Retries",
            "description": "How many times a failed request is tried again.",
            "minimum": 0,
            "maximum": 10,
            "default": 3,
            "examples": [3],
        },
        "verify_tls": {
            "type": "boolean",
            "title": "Verify TLS certificate",
            "description": "Turn off only for a server with a self-signed certificate.",
            "default": True,
            "examples": [True],
        },
    },
    ["api_url", "auth_method"],
    # The password may already be stored, but a user name is needed to use it.
    condition={
        "if": {
            "properties": {"auth_method": {"const": "basic"}},
            "required": ["auth_method"],
        },
        "then": {"required": ["username"]},
    },
)

HINTS = {
    "auth_failed": "The API rejected the credentials. Check the authentication method "
    "and enter the key, token or password again.",
    "forbidden": "The credentials are accepted but may not read the health path. Grant "
    "read access, or choose a health path they may read.",
    "not_found": "The health path does not exist on this API. Set health_path to a path "
    "that answers GET, such as /health or /status.",
}


def credentials(check: Check) -> tuple[dict[str, str], tuple[str, str] | None]:
    """Headers and basic auth for the chosen method; unused secrets are never sent."""
    method = check.config.get("auth_method", "none")
    if method == "api_key":
        header = check.config.get("api_key_header") or "X-API-Key"
        return {header: check.secret("api_key")}, None
    if method == "bearer":
        return {"Authorization": f"Bearer {check.secret('bearer_token')}"}, None
    if method == "basic":
        return {}, (check.config.get("username", ""), check.secret("password"))
    return {}, None


def probe(check: Check) -> Outcome:
    base = check.config["api_url"].rstrip("/") + "/"
    health_url = urljoin(base, check.config.get("health_path", "/").lstrip("/"))
    headers, auth = credentials(check)
    headers["Accept"] = "application/json, text/plain;q=0.9"

    with check.stage("auth"):
        response = check.client.get(health_url, headers=headers, auth=auth)
        if response.status_code in (401, 403):
            raise ProbeFailed(http_failure(response, "The API"))
    with check.stage("verify"):
        failure = http_failure(response, "The API", expect_json=False)
        if failure is None and "html" in response.content_type:
            failure = Outcome(
                "unexpected_response",
                f"The health path answered with {describe_body(response)}, not the API.",
                http_status=response.status_code,
            )
        if failure:
            raise ProbeFailed(failure)
    return Outcome(
        "ok",
        f"The API answered HTTP {response.status_code} at {check.config.get('health_path', '/')}.",
        http_status=response.status_code,
    )


TEMPLATE = Template(
    slug="generic_rest",
    name="Generic REST API",
    description="Connects to any REST API with an API key, a bearer token or a password.",
    schema=SCHEMA,
    secret_fields=("api_key", "bearer_token", "password"),
    example={
        "api_url": "https://ledger.enugu-agro.example/api",
        "auth_method": "api_key",
        "api_key_header": "X-API-Key",
        "api_key": "example-api-key-not-real",
        "health_path": "/health",
        "retries": 3,
        "verify_tls": True,
        "schedule": "daily",
        "timezone": "Africa/Lagos",
    },
    origin_fields=("api_url",),
    probe=probe,
    hints=HINTS,
    endpoints=("GET {api_url}{health_path}",),
)
