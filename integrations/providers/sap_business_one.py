"""SAP Business One: the Service Layer REST API with a company user and password."""

from __future__ import annotations

from contextlib import suppress
from http.cookies import CookieError, SimpleCookie
from typing import Any

from integrations.outbound import OutboundError
from integrations.probing import (
    Check,
    Outcome,
    ProbeFailed,
    describe_body,
    folded_json,
    http_failure,
)
from integrations.providers.common import (
    PEM_CERTIFICATE_FORMAT,
    Template,
    config_schema,
    secret,
    text,
    url,
)

SCHEMA = config_schema(
    "SAP Business One",
    {
        "api_url": url(
            "Service Layer URL",
            "Base URL of the Service Layer, including /b1s/v1 or /b1s/v2.",
            ["https://sap.example.com:50000/b1s/v2"],
        ),
        "company_db": text(
            "Company database",
            "Name of the company database to log in to.",
            ["SBODEMOUS"],
        ),
        "username": text("User name", "SAP Business One user.", ["manager"]),
        "password": secret("Password", "Password of the SAP Business One user."),
        "verify_tls": {
            "type": "boolean",
            "title": "Verify TLS certificate",
            "description": "Turn off only for an on-premise server with a self-signed "
            "certificate; the connection is then open to interception.",
            "default": True,
            "examples": [True],
        },
        "ca_certificate": {
            "type": "string",
            "title": "CA certificate",
            "description": "PEM certificate of the authority that signed the Service "
            "Layer's certificate (or the self-signed certificate itself), to trust it "
            "while keeping TLS verification on.",
            "format": PEM_CERTIFICATE_FORMAT,
            "maxLength": 20000,
            "examples": [
                "-----BEGIN CERTIFICATE-----\nMIIB...\n-----END CERTIFICATE-----"
            ],
        },
    },
    ["api_url", "company_db", "username"],
)


HINTS = {
    "auth_failed": "The Service Layer rejected the user name or password. Use a "
    "SAP Business One user (not a database or Windows user) and its current "
    "password; a locked user must be unlocked by an administrator in B1.",
    "verification_failed": "The Service Layer could not open this company database. "
    "Check company_db (names are case-sensitive, such as SBODEMOUS) and that the "
    "company is bound to this Service Layer in the System Landscape Directory (SLD). "
    "Some servers answer a wrong user name or password the same way: check those "
    "too if the name is right.",
    "not_found": "This address is not the Service Layer root. Use the URL ending in "
    "/b1s/v1 or /b1s/v2, usually on port 50000; paths are case-sensitive.",
    "server_error": "The Service Layer had an internal error. Check its logs and that "
    "the B1 server and its database are running, then test again.",
    "unexpected_response": "The address did not answer like the Service Layer. Use "
    "its root URL, such as https://sap.example.com:50000/b1s/v1.",
}

TLS_HINTS = {
    "self_signed": "The Service Layer uses a self-signed certificate, as it does out "
    "of the box. Paste that certificate (or the CA that signed a replacement) into "
    "ca_certificate, or, for an on-premise server you control, set verify_tls to "
    "false in this integration.",
    "untrusted": "The Service Layer's certificate comes from an authority this "
    "service does not trust. Paste that CA's certificate into ca_certificate, or, "
    "for an on-premise server you control, set verify_tls to false.",
}

WRONG_COMPANY_WORDS = ("sld", "company", "database")
BAD_LOGIN = 100000027
LOCKED_USER = 100000055
INVALID_SESSION = 301


def probe(check: Check) -> Outcome:
    base = check.config["api_url"].rstrip("/")
    company_db = check.config["company_db"]
    login = {
        "CompanyDB": company_db,
        "UserName": check.config["username"],
        "Password": check.secret("password"),
    }

    try:
        with check.stage("auth"):
            response = check.client.post(
                f"{base}/Login", json=login, headers={"Accept": "application/json"}
            )
            session = session_of(response, check)
    except OutboundError as error:
        if error.status == "tls_error" and error.tls_problem in TLS_HINTS:
            raise ProbeFailed(tls_outcome(error)) from None
        raise

    cookie = "; ".join(f"{name}={value}" for name, value in session["cookies"].items())
    try:
        with check.stage("verify"):
            company = company_name(check, base, cookie)
    finally:
        logout(check, base, cookie)

    version = session["version"]
    return Outcome(
        "ok",
        f"Logged in to SAP Business One {version} as {check.config['username']} "
        f"on {company_db}, and logged out again.",
        http_status=response.status_code,
        details={
            "company": company or company_db,
            "company_db": company_db,
            "server_version": version,
        },
    )


def session_of(response, check: Check) -> dict[str, Any]:
    """The session cookies and version of a successful Login answer."""
    body = folded_json(response)
    if response.status_code != 200:
        raise ProbeFailed(failure_outcome(response, body, check))
    if not isinstance(body, dict) or not body.get("sessionid"):
        found = "JSON without a SessionId" if body is not None else None
        raise ProbeFailed(
            Outcome(
                "unexpected_response",
                f"The Login answered HTTP 200 with {found or describe_body(response)}, "
                "not a Service Layer session.",
                http_status=200,
            )
        )

    cookies = session_cookies(response)
    # SessionId is the B1SESSION value; some proxies drop Set-Cookie headers.
    cookies.setdefault("B1SESSION", str(body["sessionid"]))
    return {"cookies": cookies, "version": str(body.get("version", ""))}


def session_cookies(response) -> dict[str, str]:
    """B1SESSION and ROUTEID from Set-Cookie: the HTTP client keeps no cookies."""
    cookies: dict[str, str] = {}
    for header in response.headers.get_list("set-cookie"):
        jar = SimpleCookie()
        try:
            jar.load(header)
        except CookieError:
            continue
        for name in ("B1SESSION", "ROUTEID"):
            if name in jar:
                cookies[name] = jar[name].value
    return cookies


def error_of(body: Any) -> tuple[int | None, str]:
    """The code and message of an OData error; v1 nests the text under value."""
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return None, ""
    message = error.get("message")
    if isinstance(message, dict):
        message = message.get("value")
    try:
        code = int(error.get("code"))
    except (TypeError, ValueError):
        code = None
    return code, str(message or "").lower()


def failure_outcome(response, body: Any, check: Check) -> Outcome:
    """Classify a failed Login by the error code first, its text second."""
    status = response.status_code
    code, message = error_of(body)
    shown = f" (error {code})" if code is not None else ""
    company_db = check.config["company_db"]

    if status == 405 or code == INVALID_SESSION:
        return Outcome(
            "not_found",
            f"The address did not accept a Service Layer login{shown}: it is not the "
            "Service Layer root.",
            http_status=status,
        )
    if code == LOCKED_USER:
        return Outcome(
            "auth_failed",
            f"The SAP Business One user {check.config['username']} is locked{shown}.",
            "Ask a B1 administrator to unlock the user, then test again.",
            status,
        )
    if code == BAD_LOGIN:
        return Outcome(
            "auth_failed",
            f"The Service Layer rejected the user name or password{shown}.",
            http_status=status,
        )
    if status < 500 and any(word in message for word in WRONG_COMPANY_WORDS):
        return Outcome(
            "verification_failed",
            f"The Service Layer could not open the company database {company_db}"
            f"{shown}.",
            http_status=status,
        )
    if status == 401:
        return Outcome(
            "auth_failed",
            f"The Service Layer refused the login{shown}.",
            http_status=status,
        )
    return http_failure(response, "The Service Layer") or Outcome(
        "unexpected_response",
        f"The Service Layer answered HTTP {status}{shown}.",
        http_status=status,
    )


def company_name(check: Check, base: str, cookie: str) -> str | None:
    """The company's name, for the result; the login alone proves the connection."""
    response = check.client.post(
        f"{base}/CompanyService_GetCompanyInfo",
        json={},
        headers={"Cookie": cookie, "Accept": "application/json"},
    )
    body = folded_json(response)
    if response.status_code != 200 or not isinstance(body, dict):
        return None
    name = body.get("companyname")
    return str(name) if name else None


def logout(check: Check, base: str, cookie: str) -> None:
    """End the session so the probe does not hold one of the server's licences."""
    # The session times out on its own; the test result stands either way.
    with suppress(OutboundError):
        check.client.post(f"{base}/Logout", headers={"Cookie": cookie})


def tls_outcome(error: OutboundError) -> Outcome:
    return Outcome(
        "tls_error",
        error.message,
        TLS_HINTS[error.tls_problem or ""],
        details={"tls_problem": error.tls_problem},
    )


TEMPLATE = Template(
    slug="sap_business_one",
    name="SAP Business One",
    description="Reads A/R invoices from SAP Business One through its Service Layer.",
    schema=SCHEMA,
    secret_fields=("password",),
    example={
        "api_url": "https://sap.kano-textiles.example:50000/b1s/v2",
        "company_db": "KANO_TEXTILES",
        "username": "einvoice",
        "password": "example-password-not-real",
        "verify_tls": True,
        "schedule": "daily",
        "timezone": "Africa/Lagos",
    },
    origin_fields=("api_url",),
    probe=probe,
    hints=HINTS,
    endpoints=(
        "POST {api_url}/Login (CompanyDB, UserName, Password)",
        "POST {api_url}/CompanyService_GetCompanyInfo",
        "POST {api_url}/Logout",
        "GET {api_url}/Invoices",
    ),
)
