"""Request ids: one per request, taken from X-Request-ID or generated, echoed back.

The id is kept in a context variable so that log lines and history rows written while the
request runs can carry it without passing it through every call.
"""

from __future__ import annotations

import logging
import re
import uuid
from contextvars import ContextVar

current_request_id: ContextVar[str | None] = ContextVar("request_id", default=None)

# Ids from callers end up in logs and history rows: accept only short, printable tokens.
ACCEPTABLE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,100}$")


def request_id_from(header_value: str | None) -> str:
    if header_value and ACCEPTABLE_REQUEST_ID.match(header_value):
        return header_value
    return uuid.uuid4().hex


class RequestIdMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request_id = request_id_from(request.headers.get("X-Request-ID"))
        request.request_id = request_id
        token = current_request_id.set(request_id)
        try:
            response = self.get_response(request)
        finally:
            current_request_id.reset(token)
        response["X-Request-ID"] = request_id
        return response


class RequestIdLogFilter(logging.Filter):
    """Give every log record a request_id attribute ("-" outside a request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        # django.request logs after the middleware has returned; its records carry the
        # request itself, which still knows its id.
        request = getattr(record, "request", None)
        record.request_id = (
            getattr(request, "request_id", None) or current_request_id.get() or "-"
        )
        return True
