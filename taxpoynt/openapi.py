"""Schema postprocessing: document the error answers every API operation can give.

drf-spectacular documents the success answer of each operation. Clients (and the
schemathesis run of `make check-api`) also need the errors: which statuses an operation
can answer, each with the small JSON body the API sends. They follow from the rules in
taxpoynt/api.py and taxpoynt/json_bodies.py, so they are added here, in one place,
rather than repeated on every view.
"""

from __future__ import annotations

import re
from typing import Any

SAFE_METHODS = {"get", "head", "options"}
WRITE_METHODS = {"post", "put", "patch", "delete"}

# Paths whose detail routes load the integration through IntegrationViewSet.get_object,
# which checks If-Match on every write, the POST actions included.
IF_MATCH_PATHS = re.compile(r"^/api/integrations/\{id\}/")

PROBLEM = {
    "type": "object",
    "description": "One sentence saying what went wrong and what to do.",
    "properties": {
        "detail": {"type": "string"},
        "current_version": {
            "type": "integer",
            "description": "409 and 412 only: the version now stored.",
        },
    },
    "required": ["detail"],
}

MESSAGES = {"type": "array", "items": {"type": "string"}}

FIELD_ERRORS = {
    "type": "object",
    "description": "Messages keyed by field, or by JSON path inside config "
    '(e.g. "config.schedule"); a body that could not be read answers {"detail": ...}.',
    "properties": {"detail": {"type": "string"}, "non_field_errors": MESSAGES},
    "additionalProperties": {
        "anyOf": [MESSAGES, {"type": "object"}, {"type": "string"}]
    },
}

DESCRIPTIONS = {
    "400": "Bad input: a field error object naming what to fix.",
    "401": "Not logged in: send `Authorization: Token <key>`.",
    "403": "Logged in, but without the permission this needs.",
    "404": "No such object among those you may see (or no such page).",
    "409": "Conflict: a stale `version` in the body, or objects still depend on it.",
    "412": "`If-Match` names an older version than the one stored.",
    "413": "The body is larger than 1 MB.",
    "415": "The body is not JSON.",
    "429": "Too many connection tests; wait for the time in Retry-After.",
}


def document_error_responses(result: dict, generator, request, public) -> dict:
    """Add the 4xx answers each operation can give, with their JSON bodies."""
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas.setdefault("Problem", PROBLEM)
    schemas.setdefault("FieldErrors", FIELD_ERRORS)
    throttled = throttled_operations(generator)

    for path, operations in result.get("paths", {}).items():
        for method, operation in operations.items():
            if method not in SAFE_METHODS | WRITE_METHODS:
                continue
            unpaginate_write_answers(operation, method, schemas)
            statuses = error_statuses(path, method, operation, throttled)
            responses = operation.setdefault("responses", {})
            for status in statuses:
                responses.setdefault(status, error_response(status))
    return result


def error_statuses(
    path: str, method: str, operation: dict, throttled: set[tuple[str, str]]
) -> list[str]:
    """The error statuses one operation can answer, by the rules every view shares."""
    parameters = operation.get("parameters", [])
    in_query = [p for p in parameters if p.get("in") == "query"]
    in_path = [p for p in parameters if p.get("in") == "path"]
    has_body = "requestBody" in operation

    statuses = ["401"]
    if has_body or in_query:
        statuses.append("400")
    if method in WRITE_METHODS:
        statuses.append("403")
    if in_path or any(p.get("name") == "page" for p in in_query):
        statuses.append("404")
    if method in {"put", "patch", "delete"} or path.endswith("/rollback/"):
        statuses.append("409")
    if method in WRITE_METHODS and IF_MATCH_PATHS.match(path):
        statuses.append("412")
    if has_body:
        statuses += ["413", "415"]
    if (shape(path), method) in throttled:
        statuses.append("429")
    return statuses


def error_response(status: str) -> dict:
    schema = "FieldErrors" if status == "400" else "Problem"
    return {
        "description": DESCRIPTIONS[status],
        "content": {
            "application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}
        },
    }


def unpaginate_write_answers(operation: dict, method: str, schemas: dict) -> None:
    """Only GET lists are paginated; a POST action answering many items sends a list.

    drf-spectacular wraps any many=True answer of a paginated viewset in a page.
    """
    if method == "get":
        return
    for answer in operation.get("responses", {}).values():
        for media in answer.get("content", {}).values():
            name = media.get("schema", {}).get("$ref", "").rsplit("/", 1)[-1]
            page = schemas.get(name, {})
            if name.startswith("Paginated") and "results" in page.get("properties", {}):
                media["schema"] = page["properties"]["results"]


def throttled_operations(generator) -> set[tuple[str, str]]:
    """(path, method) of the operations whose view has a throttle."""
    found = set()
    for path, _regex, method, view in getattr(generator, "endpoints", None) or []:
        if view_throttles(view, method.lower()):
            found.add((shape(path), method.lower()))
    return found


def shape(path: str) -> str:
    """The path with its parameters unnamed: the generator says {pk} where it means {id}."""
    return re.sub(r"\{[^}]*\}", "{}", path)


def view_throttles(view: Any, method: str) -> bool:
    view_class = getattr(view, "cls", None)
    if view_class is None:
        return False
    action = (getattr(view, "actions", None) or {}).get(method)
    handler = getattr(view_class, action, None) if action else None
    overrides = getattr(handler, "kwargs", {}) or {}
    throttles = overrides.get("throttle_classes", view_class.throttle_classes)
    return bool(throttles)
