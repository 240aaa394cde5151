"""What every API endpoint shares: parsing, errors, paging, team access, change records.

The viewsets of both apps inherit ChangeLoggedViewSet, so the rules below hold for every
resource: a user sees only their teams' objects, every write is recorded with the acting
user, the reason and the request id, and a write that fails leaves nothing behind.
"""

from __future__ import annotations

import hashlib
import json
import logging
from functools import partial

from django.core import signing
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.paginator import Paginator
from django.db import IntegrityError, InterfaceError, OperationalError, transaction
from django.db.models import ProtectedError, Q
from django.http import JsonResponse
from rest_framework import (
    exceptions,
    pagination,
    permissions,
    serializers,
    status,
    viewsets,
)
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param
from rest_framework.views import exception_handler

from taxpoynt.changelog import VersionConflict
from taxpoynt.validation import unstorable

logger = logging.getLogger(__name__)

MAX_REASON_LENGTH = 500


class ServiceUnavailable(exceptions.APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = "The database is unavailable; try again in a minute."
    default_code = "service_unavailable"


class Problem(exceptions.APIException):
    """An error whose body carries typed extras, e.g. {"current_version": 4}."""

    def __init__(self, detail: str, **extra):
        super().__init__(detail)
        self.extra = extra


class PreconditionFailed(Problem):
    status_code = status.HTTP_412_PRECONDITION_FAILED
    default_code = "precondition_failed"


class Conflict(Problem):
    status_code = status.HTTP_409_CONFLICT
    default_code = "conflict"


def api_exception_handler(error, context):
    """DRF's handler, plus the domain errors that have a natural HTTP answer."""
    if isinstance(error, ProtectedError):
        error = Conflict(
            f"It is still used by {len(error.protected_objects)} other object(s); "
            "delete or move them first."
        )
    elif isinstance(error, VersionConflict):
        error = Conflict(
            "Someone else changed it while you were saving; "
            "load it again and reapply your change.",
            current_version=error.current_version,
        )
    elif isinstance(error, OperationalError | InterfaceError):
        # The database is unreachable or went away: a temporary condition, said in JSON.
        logger.warning(
            "database unavailable during an API request: %s", type(error).__name__
        )
        error = ServiceUnavailable()
    elif isinstance(error, DjangoValidationError):
        error = exceptions.ValidationError(
            error.message_dict if hasattr(error, "error_dict") else error.messages
        )
    response = exception_handler(error, context)
    if response is not None and isinstance(error, Problem):
        response.data.update(error.extra)
    if response is not None and isinstance(error, ServiceUnavailable):
        response["Retry-After"] = "30"
    return response


class ShapedPaginator(Paginator):
    """Counts the rows it is given, and reads each page through `shape`."""

    def __init__(self, object_list, per_page, shape, **kwargs):
        super().__init__(object_list, per_page, **kwargs)
        self.shape = shape

    def _get_page(self, object_list, number, paginator):
        return super()._get_page(self.shape(object_list), number, paginator)


def unshaped(rows):
    return rows


class Pages(pagination.PageNumberPagination):
    """Numbered pages (?page=N); in a view's default order, `next` is a keyset cursor.

    An OFFSET costs as much as the rows it skips, so deep pages of a large table get
    slower and slower. Following `next` links instead continues after the last row
    shown (?cursor=...), which costs the same on every page. ?page=N still jumps.
    Views opt in with `keyset`, the unique default order as field paths.

    A view's list may also name `shape_page`, which adds to a page's query what only
    the shown rows need (a related name as a column, say). The count is taken without
    it, so that it scans one table rather than a join.
    """

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500

    def paginate_queryset(self, queryset, request, view=None):
        self.request = request
        self.cursor_rows = None
        # A custom ?ordering= has no cursor: its rows need not be unique or indexed.
        # Only the view's own list is in its keyset order (not, say, its history).
        custom_order = "ordering" in request.query_params
        own_list = getattr(view, "action", None) == "list"
        keyset = tuple(getattr(view, "keyset", ())) if own_list else ()
        self.keyset = () if custom_order else keyset
        self.shape = getattr(view, "shape_page", unshaped) if own_list else unshaped
        if "cursor" not in request.query_params:
            self.django_paginator_class = partial(ShapedPaginator, shape=self.shape)
            return super().paginate_queryset(queryset, request, view)

        if not keyset:
            raise exceptions.ValidationError(
                {"cursor": ["This list has no cursors: use ?page=N."]}
            )
        if not self.keyset or "page" in request.query_params:
            raise exceptions.ValidationError(
                {
                    "cursor": [
                        "A cursor follows the default order: drop ordering and page."
                    ]
                }
            )
        return self.rows_after_cursor(queryset, request)

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        if getattr(view, "keyset", None) and getattr(view, "action", None) == "list":
            parameters.append(
                {
                    "name": "cursor",
                    "required": False,
                    "in": "query",
                    "description": "Where the page starts, as the `next` link of the "
                    "previous page gives it (in the default order only).",
                    "schema": {"type": "string"},
                }
            )
        return parameters

    def rows_after_cursor(self, queryset, request) -> list:
        cursor = decode_cursor(request.query_params["cursor"], len(self.keyset))
        after = cursor["after"]
        size = self.get_page_size(request)
        # Counting costs as much as the rows counted, on every page. A walk counts on
        # its first page and carries that count in its cursors, while the user and the
        # filters stay the same.
        carried = cursor["count"] if cursor["scope"] == self.scope() else None
        self.count = queryset.count() if carried is None else carried
        rows = list(after_key(self.shape(queryset), self.keyset, after)[: size + 1])
        self.cursor_rows, self.has_more = rows[:size], len(rows) > size
        return self.cursor_rows

    def get_paginated_response(self, data):
        if self.cursor_rows is not None:
            count, previous = self.count, None
        else:
            count, previous = self.page.paginator.count, self.get_previous_link()
        return Response(
            {
                "count": count,
                "next": self.next_link(),
                "previous": previous,
                "results": data,
            }
        )

    def next_link(self) -> str | None:
        rows = self.cursor_rows if self.cursor_rows is not None else list(self.page)
        more = self.has_more if self.cursor_rows is not None else self.page.has_next()
        if not more:
            return None
        if not self.keyset:
            return self.get_next_link()
        url = self.request.build_absolute_uri()
        count = (
            self.count if self.cursor_rows is not None else self.page.paginator.count
        )
        cursor = encode_cursor(key_of(rows[-1], self.keyset), count, self.scope())
        return replace_query_param(remove_query_param(url, "page"), "cursor", cursor)

    def scope(self) -> str:
        """Who is reading which filtered list: what a count depends on."""
        user = getattr(self.request.user, "pk", None)
        params = sorted(
            (name, value)
            for name, values in self.request.query_params.lists()
            if name not in ("cursor", "page", "page_size")
            for value in values
        )
        return hashlib.sha256(json.dumps([user, params]).encode()).hexdigest()[:16]


def key_of(row, keyset) -> list:
    values = []
    for path in keyset:
        value = row
        for part in path.split("__"):
            value = getattr(value, part)
        values.append(value)
    return values


def after_key(queryset, keyset, after: list):
    """Rows strictly after `after` in the keyset order (all ascending)."""
    condition = Q()
    for position, field in enumerate(keyset):
        equal = {keyset[i]: after[i] for i in range(position)}
        condition |= Q(**equal, **{f"{field}__gt": after[position]})
    # Repeating the first column as a range lets the database use its index.
    return (
        queryset.filter(**{f"{keyset[0]}__gte": after[0]})
        .filter(condition)
        .order_by(*keyset)
    )


# Cursors are signed: they carry a count that a client must not be able to dictate.
CURSOR_SALT = "taxpoynt.api.cursor"


def encode_cursor(after: list, count: int, scope: str) -> str:
    return signing.dumps(
        {"after": after, "count": count, "scope": scope}, salt=CURSOR_SALT
    )


def decode_cursor(cursor: str, length: int) -> dict:
    try:
        content = signing.loads(cursor, salt=CURSOR_SALT)
    except (signing.BadSignature, ValueError, TypeError, UnicodeDecodeError):
        content = None
    if not usable_cursor(content, length):
        raise exceptions.ValidationError(
            {"cursor": ["Invalid cursor: use the `next` link of a previous page."]}
        )
    return content


def usable_cursor(content, length: int) -> bool:
    if not isinstance(content, dict):
        return False
    after, count = content.get("after"), content.get("count")
    return (
        isinstance(after, list)
        and len(after) == length
        and all(isinstance(v, str | int) and not isinstance(v, bool) for v in after)
        and isinstance(count, int)
        and not isinstance(count, bool)
        and count >= 0
        and isinstance(content.get("scope"), str)
    )


class ModelPermissionsOrReadOnly(permissions.DjangoModelPermissions):
    """Reads need only a login (team access narrows what is seen); writes need perms."""

    perms_map = {
        **permissions.DjangoModelPermissions.perms_map,
        "GET": [],
        "HEAD": [],
        "OPTIONS": [],
    }


def change_reason(request) -> str:
    """The reason for a write, from the body's `reason` or the X-Change-Reason header."""
    reason = None
    if isinstance(request.data, dict):
        reason = request.data.get("reason")
    if reason is None:
        reason = request.headers.get("X-Change-Reason", "")
    if not isinstance(reason, str):
        raise exceptions.ValidationError({"reason": ["Must be a string."]})
    if len(reason) > MAX_REASON_LENGTH:
        raise exceptions.ValidationError(
            {"reason": [f"Must be at most {MAX_REASON_LENGTH} characters."]}
        )
    if unstorable(reason):
        raise exceptions.ValidationError({"reason": [UNSTORABLE_TEXT]})
    return reason


# DRF quietly turns 42 into "42" and "1" into True. API clients sending the wrong JSON
# type have a bug; telling them is kinder than storing a guess.
# Databases store ids and versions in 64 bits at most; SQLite overflows beyond.
LARGEST_ID = 2**63 - 1

EXPECTED_JSON_TYPES = [
    (serializers.BooleanField, (bool,), "true or false"),
    (serializers.CharField, (str,), "a string"),
    (serializers.IntegerField, (int,), "an integer"),
    (serializers.PrimaryKeyRelatedField, (int,), "an integer id"),
]


def json_type_errors(fields, data: dict) -> dict[str, list[str]]:
    """Fields whose JSON value has the wrong type (null is left to allow_null)."""
    errors = {}
    for name, value in data.items():
        field = fields.get(name)
        if field is None:
            # Read-only fields are known and ignored, so a GET body can be PUT back.
            errors[name] = [f"Unknown field; known fields are: {', '.join(fields)}."]
            continue
        if field.read_only or value is None:
            continue
        if isinstance(value, str) and unstorable(value):
            errors[name] = [UNSTORABLE_TEXT]
            continue
        for field_class, types, expected in EXPECTED_JSON_TYPES:
            if isinstance(field, field_class):
                wrong = not isinstance(value, types) or (
                    bool not in types and isinstance(value, bool)
                )
                if wrong:
                    errors[name] = [f"Must be {expected}, not {type(value).__name__}."]
                elif int in types and not -LARGEST_ID <= value <= LARGEST_ID:
                    errors[name] = [f"Must be between {-LARGEST_ID} and {LARGEST_ID}."]
                break
        if name not in errors and not_all_integers(field, value):
            errors[name] = ["Must be a list of integers such as [1, 2], not of text."]
    return errors


def not_all_integers(field, value) -> bool:
    """A list of integers sent with other items ("6" too, which DRF would accept)."""
    integers = isinstance(field, serializers.ListField) and isinstance(
        field.child, serializers.IntegerField
    )
    return (
        integers
        and isinstance(value, list)
        and any(not isinstance(item, int) or isinstance(item, bool) for item in value)
    )


UNSTORABLE_TEXT = "Contains a NUL character or half a surrogate pair; remove it."
NAME_TAKEN = "This name is already taken (names are compared ignoring case)."


class StrictTypes:
    """Serializer mixin: refuse unknown fields and JSON values of the wrong type."""

    def to_internal_value(self, data):
        if isinstance(data, dict):
            errors = json_type_errors(self.fields, data)
            if errors:
                raise exceptions.ValidationError(errors)
        return super().to_internal_value(data)


class ChangeLoggedSerializer(StrictTypes, serializers.ModelSerializer):
    """Saves through record_change(), so history names the user and the reason.

    A unique name taken by a concurrent request surfaces as an IntegrityError at the
    database; it is answered like the same error found during validation.
    """

    reason = serializers.CharField(
        write_only=True,
        required=False,
        allow_blank=True,
        max_length=MAX_REASON_LENGTH,
        help_text="Why you make this change; kept in the history. "
        "The X-Change-Reason header works too.",
    )

    def validate(self, attrs):
        # The reason is read by the view (body or header) and passed to save().
        attrs.pop("reason", None)
        return attrs

    def create(self, validated_data):
        user, reason = validated_data.pop("recorded_as")
        instance = self.Meta.model(**validated_data)
        return self.save_recorded(instance, user, reason)

    def update(self, instance, validated_data):
        user, reason = validated_data.pop("recorded_as")
        for name, value in validated_data.items():
            setattr(instance, name, value)
        return self.save_recorded(instance, user, reason)

    def save_recorded(self, instance, user, reason):
        try:
            instance.record_change(user, reason).save()
        except IntegrityError as error:
            if "name_unique" in str(error):
                raise exceptions.ValidationError({"name": [NAME_TAKEN]}) from None
            raise Conflict(
                "Something this change refers to changed meanwhile (was its client "
                "deleted?); load it again and retry."
            ) from None
        return instance


class ChangeLoggedViewSet(viewsets.ModelViewSet):
    """Base viewset: team-scoped querysets and recorded, all-or-nothing writes."""

    permission_classes = [permissions.IsAuthenticated, ModelPermissionsOrReadOnly]
    pagination_class = Pages

    def get_queryset(self):
        return self.queryset.visible_to(self.request.user)

    @transaction.atomic
    def create(self, request, *args, **kwargs):
        return super().create(request, *args, **kwargs)

    @transaction.atomic
    def update(self, request, *args, **kwargs):
        return super().update(request, *args, **kwargs)

    @transaction.atomic
    def destroy(self, request, *args, **kwargs):
        return super().destroy(request, *args, **kwargs)

    def perform_create(self, serializer):
        serializer.save(recorded_as=(self.request.user, change_reason(self.request)))

    def perform_update(self, serializer):
        serializer.save(recorded_as=(self.request.user, change_reason(self.request)))

    def perform_destroy(self, instance):
        instance.record_change(self.request.user, change_reason(self.request))
        instance.delete()


def api_not_found(request) -> JsonResponse:
    """Unknown paths under /api answer in JSON too, as API clients expect."""
    return JsonResponse(
        {"detail": "No such API endpoint; see /api/docs for the ones there are."},
        status=404,
    )
