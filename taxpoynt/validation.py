"""Validation shared by the models of both apps."""

from __future__ import annotations

import re
from collections.abc import Callable
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


def unstorable(text: str) -> bool:
    """NUL or half a surrogate pair: text PostgreSQL cannot store."""
    if "\x00" in text:
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def find_string(
    value: Any,
    path: str,
    bad_value: Callable[[str], bool],
    bad_key: Callable[[str], bool],
) -> str | None:
    """The JSON path of the first string in a JSON value that is bad, keys included.

    A bad key is reported at the path of the object holding it.
    """
    if isinstance(value, str):
        return path if bad_value(value) else None
    if isinstance(value, dict):
        for key, item in value.items():
            if bad_key(str(key)):
                return path
            found = find_string(item, f"{path}.{key}", bad_value, bad_key)
            if found:
                return found
    if isinstance(value, list):
        for index, item in enumerate(value):
            found = find_string(item, f"{path}[{index}]", bad_value, bad_key)
            if found:
                return found
    return None


def find_unstorable_text(value: Any, path: str) -> str | None:
    """Return the JSON path of the first string (key or value) PostgreSQL cannot store.

    Its jsonb and text columns refuse U+0000 and lone surrogates, so such input is
    refused up front on every database instead of failing at the database on one.
    """
    return find_string(value, path, unstorable, unstorable)


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


# C0 and C1 control characters, DEL, and the bidirectional overrides that make text
# display in another order than it is stored (names that lie about themselves).
CONTROL_CHARACTERS = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
MULTILINE_CONTROL_CHARACTERS = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]"
)


def validate_single_line(value: str) -> None:
    if CONTROL_CHARACTERS.search(value or ""):
        raise ValidationError(
            "Remove control characters (such as tabs, line breaks or direction "
            "overrides): this field is one line of plain text.",
            code="control_characters",
        )


def validate_plain_text(value: str) -> None:
    if MULTILINE_CONTROL_CHARACTERS.search(value or ""):
        raise ValidationError(
            "Remove control characters other than line breaks and tabs.",
            code="control_characters",
        )


def nesting_depth(value: Any) -> int:
    """How deeply lists and objects nest in a JSON value (counted without recursion)."""
    deepest, pending = 0, [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, depth)
            children = item.values() if isinstance(item, dict) else item
            pending.extend((child, depth + 1) for child in children)
    return deepest


def find_control_characters(value: Any, path: str) -> str | None:
    """The JSON path of the first string holding a control character other than
    tab and line breaks (which certificates and notes need); keys allow none."""
    return find_string(
        value,
        path,
        lambda text: bool(MULTILINE_CONTROL_CHARACTERS.search(text)),
        lambda key: bool(CONTROL_CHARACTERS.search(key)),
    )
