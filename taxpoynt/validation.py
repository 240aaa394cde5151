"""Validation shared by the models of both apps."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError


def attach_constraint_errors(error: ValidationError, field_by_code: dict[str, str]):
    """Move constraint errors from the non-field list onto the field they are about.

    Django reports a failed UniqueConstraint over an expression such as Lower("name") as a
    non-field error; users expect to see it next to the name they typed.
    """
    errors = error.update_error_dict({})
    unattached = []
    for item in errors.pop(NON_FIELD_ERRORS, []):
        field = field_by_code.get(item.code)
        if field:
            errors.setdefault(field, []).append(item)
        else:
            unattached.append(item)
    if unattached:
        errors[NON_FIELD_ERRORS] = unattached
    return ValidationError(errors)


def find_nul_character(value: Any, path: str) -> str | None:
    """Return the JSON path of the first string (key or value) holding a NUL character.

    PostgreSQL's jsonb and text columns cannot store U+0000, so such input is refused up
    front on every database instead of failing at the database on one of them.
    """
    if isinstance(value, str):
        return path if "\x00" in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            if "\x00" in str(key):
                return path
            found = find_nul_character(item, f"{path}.{key}")
            if found:
                return found
    if isinstance(value, list):
        for index, item in enumerate(value):
            found = find_nul_character(item, f"{path}[{index}]")
            if found:
                return found
    return None


def without_nul_characters(value: Any) -> Any:
    """A copy of a JSON value with U+0000 removed from every string, keys included.

    For text that comes from outside (another system's documents) and is stored as is.
    """
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, dict):
        return {
            without_nul_characters(key): without_nul_characters(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [without_nul_characters(item) for item in value]
    return value
