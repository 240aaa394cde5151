from __future__ import annotations

from django.contrib import admin
from django.db.models import Count
from django.urls import reverse
from django.utils.html import format_html

from clients.forms import ClientAdminForm
from clients.models import Client
from integrations.models import Integration
from taxpoynt.admin import ChangeLoggedAdmin


class IntegrationInline(admin.TabularInline):
    """Integrations listed on their client's page; they are edited on their own page."""

    model = Integration
    fields = ["link", "integration_type", "status", "version", "last_test_status"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request, obj=None):
        return False

    @admin.display(description="Integration")
    def link(self, integration):
        url = reverse("admin:integrations_integration_change", args=[integration.pk])
        return format_html('<a href="{}">{}</a>', url, integration.name)


@admin.register(Client)
class ClientAdmin(ChangeLoggedAdmin):
    form = ClientAdminForm
    list_display = [
        "name",
        "tin",
        "contact_email",
        "team",
        "is_active",
        "integration_count",
        "updated_at",
    ]
    list_filter = ["is_active", "team"]
    search_fields = ["name", "tin", "contact_email"]
    inlines = [IntegrationInline]
    history_list_display = ["change_type", "changed_fields", "request_id"]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(integration_total=Count("integrations"))
        )

    @admin.display(description="Integrations", ordering="integration_total")
    def integration_count(self, client):
        return client.integration_total
