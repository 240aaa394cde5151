"""OAuth 2.0 token requests shared by the hosted systems' probes.

A probe exchanges the stored refresh token (or, for Business Central, the app's client
credentials) for an access token, uses it for its read-only calls and forgets it:
access tokens are never stored. A refresh token the system replaces is stored at once,
before anything else happens, because the one we hold may already be invalid.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from integrations.probing import Check, Outcome, ProbeFailed, describe_body, keys_folded

# OAuth error codes are short ASCII words; anything else is not repeated to the user.
ERROR_CODE = re.compile(r"^[A-Za-z_ ]{1,40}$")
AADSTS = re.compile(r"AADSTS(\d{4,8})")


@dataclass(frozen=True)
class TokenEndpoint:
    """Where a system issues tokens, how it wants the client to identify itself.

    `client_auth` is "basic" (client ID and secret in an Authorization header) or
    "body" (both as form fields). `hints` say what to do per OAuth error code, in the
    system's own terms; "invalid_grant" and "invalid_client" should always be there.
    `directory_codes` maps Microsoft Entra AADSTS numbers to (status, hint).
    """

    url: str
    system: str
    client_auth: str = "basic"
    hints: dict[str, str] = field(default_factory=dict)
    directory_codes: dict[str, tuple[str, str]] = field(default_factory=dict)


def config_value(check: Check, name: str) -> str:
    """A config field the probe needs although the schema keeps it optional."""
    value = check.config.get(name)
    if not value:
        raise ProbeFailed(
            Outcome(
                "invalid_config",
                f"{name} is not set, so the probe cannot sign in.",
                f"Enter {name} in the config and test again.",
            )
        )
    return str(value)


def refresh_access_token(check: Check, endpoint: TokenEndpoint) -> dict[str, Any]:
    """Exchange the stored refresh token, keeping a rotated one; return the answer."""
    current = check.secret("refresh_token")
    form = {"grant_type": "refresh_token", "refresh_token": current}
    answer = token_request(check, endpoint, form)

    rotated = answer.get("refresh_token")
    if isinstance(rotated, str) and rotated and rotated != current:
        check.save_secret("refresh_token", rotated)
    return require_access_token(answer, endpoint)


def client_credentials_token(
    check: Check, endpoint: TokenEndpoint, scope: str
) -> dict[str, Any]:
    """Get an app-only access token with the client credentials grant."""
    form = {"grant_type": "client_credentials", "scope": scope}
    return require_access_token(token_request(check, endpoint, form), endpoint)


def token_request(
    check: Check, endpoint: TokenEndpoint, form: dict[str, str]
) -> dict[str, Any]:
    """POST a token request; return its JSON, or stop with a classified outcome."""
    client_id = config_value(check, "client_id")
    client_secret = check.secret("client_secret")
    auth = None
    if endpoint.client_auth == "basic":
        auth = (client_id, client_secret)
    else:
        form = {**form, "client_id": client_id, "client_secret": client_secret}

    response = check.client.post(
        endpoint.url, data=form, auth=auth, headers={"Accept": "application/json"}
    )
    answer = token_json(response)
    if answer is not None and answer.get("error"):
        # Zoho reports token errors with HTTP 200, so the body decides, not the status.
        raise ProbeFailed(token_error_outcome(response, answer, endpoint))
    if response.status_code != 200 or answer is None:
        raise ProbeFailed(token_http_outcome(response, endpoint))
    return answer


def token_json(response) -> dict[str, Any] | None:
    if response.truncated:
        return None
    try:
        answer = response.json()
    except ValueError:
        return None
    return keys_folded(answer) if isinstance(answer, dict) else None


def require_access_token(answer: dict[str, Any], endpoint: TokenEndpoint) -> dict:
    if not isinstance(answer.get("access_token"), str) or not answer["access_token"]:
        raise ProbeFailed(
            Outcome(
                "unexpected_response",
                f"{endpoint.system}'s token endpoint answered without an access token.",
                http_status=200,
            )
        )
    return answer


def token_error_outcome(
    response, answer: dict[str, Any], endpoint: TokenEndpoint
) -> Outcome:
    """Explain an OAuth error answer: its code decides the status and the hint."""
    code = str(answer.get("error", "")).strip()
    shown = code if ERROR_CODE.match(code) else "an error"
    description = str(answer.get("error_description", ""))
    directory_code = AADSTS.search(description)
    system = endpoint.system
    http_status = response.status_code

    if code.lower() == "access denied" and "too many" in description.lower():
        return Outcome(
            "rate_limited",
            f"{system} refused to issue more tokens for now (too many requests).",
            endpoint.hints.get("rate_limited"),
            http_status,
        )
    if directory_code:
        shown = f"{shown}, AADSTS{directory_code.group(1)}"
        known = endpoint.directory_codes.get(directory_code.group(1))
        if known:
            status, hint = known
            message = f"{system} refused to issue a token ({shown})."
            return Outcome(status, message, hint, http_status)

    kind = code.lower()
    if kind in ("invalid_grant", "invalid_code"):
        message = f"{system} no longer accepts the stored refresh token ({shown})."
    elif kind in ("invalid_client", "unauthorized_client"):
        message = f"{system} did not recognise the client ID and secret ({shown})."
    elif kind == "invalid_scope":
        return Outcome(
            "forbidden",
            f"{system} refused the requested scope ({shown}).",
            endpoint.hints.get("invalid_scope"),
            http_status,
        )
    else:
        message = f"{system}'s token endpoint refused the request ({shown})."
    hint = endpoint.hints.get(kind) or endpoint.hints.get("invalid_grant")
    return Outcome("auth_failed", message, hint, http_status)


def token_http_outcome(response, endpoint: TokenEndpoint) -> Outcome:
    """Explain a token answer that is not an OAuth error object."""
    code = response.status_code
    where = f"{endpoint.system}'s token endpoint"
    if code == 429:
        return Outcome(
            "rate_limited",
            f"{where} is limiting requests (HTTP 429).",
            http_status=code,
        )
    if code >= 500:
        return Outcome(
            "server_error", f"{where} had an internal error (HTTP {code}).", None, code
        )
    if code in (401, 403):
        return Outcome(
            "auth_failed",
            f"{where} refused the client ID and secret (HTTP {code}).",
            endpoint.hints.get("invalid_client"),
            code,
        )
    return Outcome(
        "unexpected_response",
        f"{where} answered HTTP {code} with {describe_body(response)}, not a token.",
        http_status=code,
    )


def bearer(token: dict[str, Any], scheme: str = "Bearer") -> dict[str, str]:
    """Headers of an API call made with the access token, asking for JSON."""
    return {
        "Authorization": f"{scheme} {token['access_token']}",
        "Accept": "application/json",
    }
