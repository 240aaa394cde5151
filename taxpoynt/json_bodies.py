"""How the API reads request bodies: JSON only, strictly, and at most 1 MB."""

from __future__ import annotations

import json
from typing import Any

from rest_framework import exceptions, status
from rest_framework.parsers import JSONParser

MAX_BODY_BYTES = 1024 * 1024


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = f"The request body is larger than {MAX_BODY_BYTES} bytes."
    default_code = "payload_too_large"


def refuse_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict:
    keys = [key for key, _ in pairs]
    duplicates = sorted({key for key in keys if keys.count(key) > 1})
    if duplicates:
        raise ValueError(f"duplicate keys in a JSON object: {', '.join(duplicates)}")
    return dict(pairs)


def refuse_constant(name: str):
    raise ValueError(f"{name} is not valid JSON")


class StrictJSONParser(JSONParser):
    """JSON bodies up to 1 MB, valid UTF-8, without duplicate keys, NaN or Infinity.

    DRF reads the request stream itself, bypassing Django's DATA_UPLOAD_MAX_MEMORY_SIZE,
    so the size limit is enforced here.
    """

    def parse(self, stream, media_type=None, parser_context=None):
        raw = stream.read(MAX_BODY_BYTES + 1) if stream is not None else b""
        if len(raw) > MAX_BODY_BYTES:
            raise PayloadTooLarge()
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise exceptions.ParseError(
                "The request body is not valid UTF-8."
            ) from None
        try:
            data = json.loads(
                text,
                object_pairs_hook=refuse_duplicate_keys,
                parse_constant=refuse_constant,
            )
        except RecursionError:
            raise exceptions.ParseError("The JSON is nested too deeply.") from None
        except ValueError as error:
            raise exceptions.ParseError(f"Malformed JSON: {error}") from None
        return data
