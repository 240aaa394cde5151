"""The rules for writing an integration's secrets.

Secrets arrive as fields of config, like any other field, and are taken out of it before
anything is stored: config, history rows and diffs never hold them. For each secret a
write may leave it out (keep), send a string (replace) or send null (clear). Masked
placeholders are refused, and stored credentials never follow a change of target host.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from django.views.decorators.debug import sensitive_variables

from integrations.providers import TEMPLATES, config_errors, get_template
from integrations.schedules import schedule_errors

# What a form or a copied API response shows in place of a secret. Storing one would
# silently replace a working credential with asterisks.
PLACEHOLDER = re.compile(
    r"^\s*([*•●·∙⁕xX]{3,}|[<\[(]?(redacted|hidden|secret|masked)[>\])]?)\s*$",
    re.IGNORECASE,
)

# Key names that are secrets whatever the type: used to clean configs written before
# templates existed, and for types without a template.
SECRET_NAME = re.compile(r"(secret|password|passwd|token|api_?key|private_?key)", re.I)


def secret_names(integration_type: str) -> tuple[str, ...]:
    template = get_template(integration_type)
    return template.secret_fields if template else ()


def all_secret_names() -> set[str]:
    return {name for template in TEMPLATES.values() for name in template.secret_fields}


def is_secret_name(integration_type: str, key: str) -> bool:
    """Whether a config key holds a secret; unknown types fall back to the key's name."""
    if get_template(integration_type) is not None:
        return key in secret_names(integration_type)
    return bool(SECRET_NAME.search(key))


@sensitive_variables()
def split_secrets(
    integration_type: str, config: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, str | None]]:
    """Separate config into its plain part and the secret writes it carries."""
    plain, writes = {}, {}
    for key, value in config.items():
        if is_secret_name(integration_type, key):
            writes[key] = value
        else:
            plain[key] = value
    return plain, writes


def origin(url: Any) -> tuple[str, str, int | None] | None:
    """Scheme, host and port of a URL: where credentials would be sent."""
    if not isinstance(url, str):
        return None
    try:
        parts = urlsplit(url.strip())
        port = parts.port or {"http": 80, "https": 443}.get(parts.scheme.lower())
    except ValueError:
        return None
    return parts.scheme.lower(), (parts.hostname or "").lower(), port


def moved_origin_fields(
    integration_type: str, before: dict[str, Any], after: dict[str, Any]
) -> list[str]:
    template = get_template(integration_type)
    fields = template.origin_fields if template else ("api_url",)
    return [
        name for name in fields if origin(before.get(name)) != origin(after.get(name))
    ]


@sensitive_variables()
def write_errors(
    integration_type: str,
    plain_config: Any,
    writes: dict[str, Any],
    stored_config: dict[str, Any] | None,
    stored_secrets: set[str],
) -> dict[str, list[str]]:
    """Everything wrong with a config write, keyed by JSON path; empty when it is fine.

    stored_config and stored_secrets describe the integration before this write (None
    and an empty set for a new one).
    """
    errors: dict[str, list[str]] = {}
    for name, value in writes.items():
        if value is not None and not isinstance(value, str):
            errors[f"config.{name}"] = ["must be a string, or null to clear it"]
        elif isinstance(value, str) and PLACEHOLDER.match(value):
            errors[f"config.{name}"] = [
                "looks like a masked placeholder, not the secret itself; send the real "
                "value, leave the field out to keep the stored one, or null to clear it"
            ]
    if errors:
        return errors

    sent = {name: value for name, value in writes.items() if isinstance(value, str)}
    errors.update(config_errors(integration_type, {**plain_config, **sent}))
    for path, messages in schedule_errors(plain_config).items():
        # The schedule parser's sentence says more than the schema's "must be a string".
        errors[path] = messages
    if errors or stored_config is None:
        return errors

    moved = moved_origin_fields(integration_type, stored_config, plain_config)
    left_behind = sorted(stored_secrets - set(writes))
    if moved and left_behind:
        fields = ", ".join(f"config.{name}" for name in moved)
        for name in left_behind:
            errors[f"config.{name}"] = [
                f"{fields} now points to another host; enter {name} again (or send "
                "null to clear it). Stored credentials are never sent to a new host."
            ]
    return errors
