from __future__ import annotations

from django.db.models import Count
from django_filters import rest_framework as filters
from rest_framework.filters import OrderingFilter, SearchFilter

from clients.api.serializers import ClientSerializer
from clients.models import Client
from taxpoynt.api import ChangeLoggedViewSet, Conflict


def true_or_false(value: str) -> bool:
    return value == "true"


class ClientFilters(filters.FilterSet):
    # A choice, not a boolean filter: "?is_active=maybe" should be an error, not ignored.
    is_active = filters.TypedChoiceFilter(
        choices=[("true", "true"), ("false", "false")], coerce=true_or_false
    )

    class Meta:
        model = Client
        fields = ["is_active", "team"]


class ClientViewSet(ChangeLoggedViewSet):
    """Clients: the businesses whose accounting systems are connected."""

    queryset = Client.objects.all()
    serializer_class = ClientSerializer
    lookup_value_regex = "[0-9]{1,18}"
    filter_backends = [filters.DjangoFilterBackend, SearchFilter, OrderingFilter]
    filterset_class = ClientFilters
    search_fields = ["name", "tin"]
    ordering_fields = ["name", "created_at", "updated_at"]
    ordering = ["name"]

    def get_queryset(self):
        return (
            super()
            .get_queryset()
            .annotate(integration_total=Count("integrations"))
            .order_by("name")
        )

    def perform_destroy(self, client):
        remaining = client.integrations.count()
        if remaining:
            raise Conflict(
                f"This client still has {remaining} integration(s); "
                "delete them or move them to another client first."
            )
        super().perform_destroy(client)
