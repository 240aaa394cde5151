from __future__ import annotations

from django import forms
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.http import Http404
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.filters import OrderingFilter
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.throttling import UserRateThrottle

from clients.models import Client
from integrations import (
    connection_tests,
    discovery_search,
    providers,
    secrets,
    versions,
)
from integrations.api.serializers import (
    BulkTestRequestSerializer,
    BulkTestResultSerializer,
    CloneRequestSerializer,
    DiffSerializer,
    DiscoveryResultSerializer,
    DraftTestRequestSerializer,
    HistoryEntrySerializer,
    IntegrationSerializer,
    IntegrationTypeDetailSerializer,
    IntegrationTypeSerializer,
    RollbackRequestSerializer,
    StoredDiscoverySerializer,
    StoredTestSerializer,
    TestResultSerializer,
    VersionStateSerializer,
)
from integrations.models import ApiDiscovery, Integration
from taxpoynt.api import (
    LARGEST_ID,
    ChangeLoggedViewSet,
    Conflict,
    PreconditionFailed,
    change_reason,
)
from taxpoynt.changelog import VersionConflict


class ConnectionTestThrottle(UserRateThrottle):
    """Connection tests per user and minute (CONNECTION_TEST_RATE); a bulk test counts once.

    The counts live in Django's cache: with the default in-process cache each worker
    process counts on its own. Configure a shared cache (CACHES) when several run.
    """

    scope = "connection_tests"

    def get_rate(self) -> str:
        return getattr(settings, "CONNECTION_TEST_RATE", "30/min")


class CanTestConnections(IsAuthenticated):
    message = "You may not test connections (permission integrations.test_integration)."

    def has_permission(self, request, view) -> bool:
        return super().has_permission(request, view) and request.user.has_perm(
            "integrations.test_integration"
        )


TEST_ACTION = {
    "methods": ["post"],
    "permission_classes": [CanTestConnections],
    "throttle_classes": [ConnectionTestThrottle],
}


class IdFilter(filters.Filter):
    field_class = forms.IntegerField

    def __init__(self, *args, **kwargs):
        super().__init__(*args, min_value=1, max_value=LARGEST_ID, **kwargs)


class IntegrationFilters(filters.FilterSet):
    # An id, not a choice of clients: checking that the client exists would cost a
    # query on every filtered list, so the view checks it only when nothing matched.
    client = IdFilter(field_name="client_id", label="The client's id")
    search = filters.CharFilter(
        method="search_names", label="Text in the integration's or its client's name"
    )

    def search_names(self, queryset, name, value):
        return queryset.matching(value.strip()) if value.strip() else queryset

    class Meta:
        model = Integration
        fields = ["client", "integration_type", "status", "health"]


def etag_for(integration: Integration) -> str:
    return f'"v{integration.version}"'


def if_match_allows(header: str, integration: Integration) -> bool:
    """Strong comparison as RFC 9110 asks for If-Match: weak tags never match."""
    tags = [tag.strip() for tag in header.split(",")]
    return "*" in tags or etag_for(integration) in tags


class IntegrationViewSet(ChangeLoggedViewSet):
    """Integrations: one client's connection to one accounting or ERP system.

    Reads carry the version and an ETag. PUT, PATCH, DELETE and rollback honour
    If-Match (412 when stale); PUT and PATCH also honour `version` in the body (409).
    """

    queryset = Integration.objects.all()
    serializer_class = IntegrationSerializer
    lookup_value_regex = "[0-9]{1,18}"
    filter_backends = [filters.DjangoFilterBackend, OrderingFilter]
    filterset_class = IntegrationFilters
    ordering_fields = [
        "name",
        "client__name",
        "integration_type",
        "status",
        "version",
        "created_at",
        "updated_at",
        "last_tested_at",
    ]
    ordering = ["client__name", "name", "id"]
    # The default order, unique, for keyset pages (see taxpoynt.api.Pages); the
    # client's name is the column shape_page adds.
    keyset = ("client_name", "name", "id")

    def get_queryset(self):
        queryset = super().get_queryset()
        if self.action == "list":
            return queryset  # see shape_page
        return queryset.select_related("client")

    def shape_page(self, rows):
        """A list page shows only the client's name: read it as one column.

        That costs far less than building a client object for every row, and the
        list's count does not pay for the join. Secrets are read per page by the
        serializer (see IntegrationListSerializer).
        """
        return rows.annotate(client_name=F("client__name"))

    def list(self, request, *args, **kwargs):
        response = super().list(request, *args, **kwargs)
        if response.data["count"] == 0:
            self.refuse_unknown_client()
        return response

    def refuse_unknown_client(self) -> None:
        """A ?client= that names no client the user may see is an error, not a filter.

        Checked only when nothing matched, so a filtered list costs no extra query.
        """
        value = self.request.query_params.get("client")
        if not value:
            return
        # The filter has accepted the value already; read it the way it did ("7.0").
        client_id = IntegrationFilters.base_filters["client"].field.clean(value)
        visible = Client.objects.visible_to(self.request.user)
        if not visible.filter(pk=client_id).exists():
            raise exceptions.ValidationError(
                {"client": [f"No client with id {client_id} that you may see."]}
            )

    def get_object(self):
        # One load per request: the If-Match check and the save must see the same row.
        if not hasattr(self, "loaded_object"):
            self.loaded_object = super().get_object()
            if self.request.method not in ("GET", "HEAD", "OPTIONS"):
                self.check_if_match(self.loaded_object)
        return self.loaded_object

    def check_if_match(self, integration: Integration) -> None:
        header = self.request.headers.get("If-Match")
        if header is not None and not if_match_allows(header, integration):
            raise PreconditionFailed(
                "The integration changed since you read it; load it again and "
                "send its new ETag in If-Match.",
                current_version=integration.version,
            )

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        integration = getattr(self, "loaded_object", None)
        if integration is not None and response.status_code < 300 and integration.pk:
            response["ETag"] = etag_for(integration)
        return response

    def handle_exception(self, error):
        # A concurrent writer won between our read and our save. With If-Match the
        # client asked for precondition semantics, so the answer is 412.
        if isinstance(error, VersionConflict) and "If-Match" in self.request.headers:
            error = PreconditionFailed(
                "The integration changed while you were saving; load it again.",
                current_version=error.current_version,
            )
        return super().handle_exception(error)

    def perform_create(self, serializer):
        super().perform_create(serializer)
        self.loaded_object = serializer.instance

    @extend_schema(
        responses=HistoryEntrySerializer(many=True),
        summary="The versions of an integration, newest first",
    )
    @action(detail=True, methods=["get"], url_path="history")
    def history(self, request, pk=None):
        entries = self.history_or_404()
        page = self.paginate_queryset(entries)
        return self.get_paginated_response(HistoryEntrySerializer(page, many=True).data)

    @extend_schema(
        responses=VersionStateSerializer,
        summary="The full state of one version",
        parameters=[
            OpenApiParameter("version", OpenApiTypes.INT, OpenApiParameter.PATH)
        ],
    )
    @action(detail=True, methods=["get"], url_path=r"history/(?P<version>[0-9]+)")
    def history_version(self, request, pk=None, version=None):
        entry = self.history_or_404().filter(version=int(version)).first()
        if entry is None:
            raise Http404
        return Response(VersionStateSerializer(entry).data)

    @extend_schema(
        responses=DiffSerializer,
        summary="Field-level differences between two versions",
        parameters=[
            OpenApiParameter("from", OpenApiTypes.INT, required=True),
            OpenApiParameter("to", OpenApiTypes.INT, required=True),
        ],
    )
    @action(detail=True, methods=["get"])
    def diff(self, request, pk=None):
        numbers = {}
        for name in ("from", "to"):
            value = request.query_params.get(name, "")
            if not value.isdigit() or len(value) > 9:
                raise exceptions.ValidationError(
                    {name: ["Give a version number, e.g. ?from=1&to=3."]}
                )
            numbers[name] = int(value)

        wanted = self.history_or_404().filter(version__in=numbers.values())
        entries = {entry.version: entry for entry in wanted}
        missing = [number for number in numbers.values() if number not in entries]
        if missing:
            raise exceptions.NotFound(f"No version {missing[0]} of this integration.")

        old, new = entries[numbers["from"]], entries[numbers["to"]]
        changes = versions.differences(versions.state_of(old), versions.state_of(new))
        return Response(
            {
                "from_version": numbers["from"],
                "to_version": numbers["to"],
                "changes": changes,
            }
        )

    @extend_schema(
        request=RollbackRequestSerializer,
        responses=IntegrationSerializer,
        summary="Make the state of an earlier version current, as a new version",
    )
    @action(detail=True, methods=["post"], permission_classes=[IsAuthenticated])
    @transaction.atomic
    def rollback(self, request, pk=None):
        integration = self.get_object()
        if not request.user.has_perm("integrations.rollback_integration"):
            raise exceptions.PermissionDenied("You may not roll integrations back.")
        body = RollbackRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        target = body.validated_data["version"]

        entry = (
            integration.history.filter(version=target)
            .exclude(change_type="deleted")
            .first()
        )
        if entry is None:
            raise exceptions.NotFound(f"No version {target} of this integration.")
        if (
            not Client.objects.visible_to(request.user)
            .filter(pk=entry.client_id)
            .exists()
        ):
            raise Conflict(
                f"Version {target} belongs to a client that no longer exists."
            )

        try:
            changed = versions.roll_back(
                integration, entry, request.user, change_reason(request)
            )
        except IntegrityError:
            raise Conflict(
                f"Another integration of this client is now named {entry.name!r}; "
                "rename it first."
            ) from None
        data = self.get_serializer(integration).data
        if not changed:
            data["detail"] = (
                f"Already at the state of version {target}; nothing changed."
            )
        return Response(data)

    @extend_schema(
        request=CloneRequestSerializer,
        responses={201: IntegrationSerializer},
        summary="Copy an integration as a draft, into the same or another client",
    )
    @action(detail=True, methods=["post"])
    @transaction.atomic
    def clone(self, request, pk=None):
        original = self.get_object()
        body = CloneRequestSerializer(
            data=request.data, context={"request": request, "original": original}
        )
        body.is_valid(raise_exception=True)
        client = body.validated_data.get("client") or original.client

        try:
            copy = versions.clone(
                original,
                body.validated_data["name"],
                client,
                request.user,
                change_reason(request),
            )
        except IntegrityError:
            raise serializers.ValidationError(
                {"name": ["This client already has an integration with this name."]}
            ) from None
        self.loaded_object = copy
        return Response(self.get_serializer(copy).data, status=201)

    @extend_schema(
        request=None,
        responses=TestResultSerializer,
        summary="Test the connection with the stored config and secrets",
    )
    @action(detail=True, url_path="test", **TEST_ACTION)
    def test_connection(self, request, pk=None):
        integration = self.get_object()
        return Response(connection_tests.test_integration(integration, request.user))

    @extend_schema(
        responses=StoredTestSerializer(many=True),
        summary="Past connection tests, newest first",
    )
    @action(detail=True, methods=["get"], url_path="tests")
    def past_tests(self, request, pk=None):
        integration = self.get_object()
        results = integration.connection_tests.select_related("user")
        page = self.paginate_queryset(results)
        return self.get_paginated_response(StoredTestSerializer(page, many=True).data)

    @extend_schema(
        request=BulkTestRequestSerializer,
        responses=BulkTestResultSerializer(many=True),
        summary="Test many integrations at once (by ids, or by the list's filters)",
    )
    @action(detail=False, url_path="test", **TEST_ACTION)
    def test_many(self, request):
        if not isinstance(request.data, dict):
            raise exceptions.ValidationError(
                {"non_field_errors": ['Send an object such as {"ids": [1, 2]}, or {}.']}
            )
        body = BulkTestRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        chosen = self.filter_queryset(self.get_queryset())
        if "ids" in body.validated_data:
            ids = body.validated_data["ids"]
            chosen = chosen.filter(pk__in=ids)
            missing = sorted(set(ids) - set(chosen.values_list("pk", flat=True)))
            if missing:
                raise exceptions.ValidationError(
                    {"ids": [f"No integration with id {missing[0]} that you may see."]}
                )
        limit = getattr(settings, "CONNECTION_TEST_BULK_LIMIT", 1000)
        count = chosen.count()
        if count == 0:
            self.refuse_unknown_client()
        if count > limit:
            raise exceptions.ValidationError(
                {
                    "ids": [
                        f"At most {limit} integrations per request; narrow the filters."
                    ]
                }
            )
        return Response(connection_tests.test_many(chosen, request.user))

    @extend_schema(
        request=None,
        responses=DiscoveryResultSerializer,
        summary="Look for the system's OpenAPI description and read its operations",
    )
    @action(detail=True, url_path="discover", **TEST_ACTION)
    def discover(self, request, pk=None):
        integration = self.get_object()
        result = discovery_search.discover(integration.config)
        ApiDiscovery.record(integration, request.user, result)
        return Response(result)

    @extend_schema(
        responses=StoredDiscoverySerializer, summary="The latest discovery result"
    )
    @action(detail=True, methods=["get"], url_path="discovery")
    def latest_discovery(self, request, pk=None):
        found = self.get_object().discoveries.first()
        if found is None:
            raise exceptions.NotFound(
                "Nothing discovered yet: POST to /discover first."
            )
        return Response(StoredDiscoverySerializer(found).data)

    def history_or_404(self):
        if not self.kwargs["pk"].isdigit():
            raise Http404
        entries = versions.history_for(self.request.user, int(self.kwargs["pk"]))
        if entries is None:
            raise Http404
        return entries


class IntegrationTypeViewSet(viewsets.ViewSet):
    """The integration templates: which systems can be connected, and their config."""

    lookup_field = "slug"
    lookup_value_regex = "[a-z0-9_]+"

    @extend_schema(responses=IntegrationTypeSerializer(many=True))
    def list(self, request):
        templates = list(providers.TEMPLATES.values())
        return Response(IntegrationTypeSerializer(templates, many=True).data)

    @extend_schema(responses=IntegrationTypeDetailSerializer)
    def retrieve(self, request, slug=None):
        return Response(IntegrationTypeDetailSerializer(template_or_404(slug)).data)

    @extend_schema(
        request=DraftTestRequestSerializer,
        responses=TestResultSerializer,
        summary="Test an unsaved draft config before saving it",
    )
    @action(detail=True, url_path="test", **TEST_ACTION)
    def test_draft(self, request, slug=None):
        template = template_or_404(slug)
        body = DraftTestRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        based_on = None
        if "integration" in body.validated_data:
            based_on = (
                Integration.objects.visible_to(request.user)
                .filter(pk=body.validated_data["integration"])
                .first()
            )
            if based_on is None:
                raise exceptions.ValidationError(
                    {"integration": ["No integration with this id that you may see."]}
                )
        result = connection_tests.test_draft(
            template.slug, body.validated_data["config"], request.user, based_on
        )
        return Response(result)

    @extend_schema(
        request=DraftTestRequestSerializer,
        responses=DiscoveryResultSerializer,
        summary="Look for the API description of an unsaved draft config",
    )
    @action(detail=True, url_path="discover", **TEST_ACTION)
    def discover_draft(self, request, slug=None):
        template = template_or_404(slug)
        body = DraftTestRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        plain, _secrets = secrets.split_secrets(
            template.slug, body.validated_data["config"]
        )
        return Response(discovery_search.discover(plain))


def template_or_404(slug: str):
    template = providers.get_template(slug)
    if template is None:
        raise exceptions.NotFound(
            f"No integration type {slug!r}; known types: {', '.join(providers.TEMPLATES)}."
        )
    return template
