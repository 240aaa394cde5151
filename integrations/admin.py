from __future__ import annotations

from django.contrib import admin

from integrations import secrets
from integrations.forms import IntegrationAdminForm, form_with_secret_fields
from integrations.models import Integration
from taxpoynt.admin import ChangeLoggedAdmin


@admin.register(Integration)
class IntegrationAdmin(ChangeLoggedAdmin):
    form = IntegrationAdminForm
    list_display = [
        "name",
        "client",
        "integration_type",
        "status",
        "version",
        "health",
        "last_test_status",
        "last_tested_at",
        "updated_at",
    ]
    list_filter = ["status", "health", "integration_type", "client"]
    list_select_related = ["client"]
    search_fields = ["name", "client__name", "description"]
    readonly_fields = [
        "version",
        "health",
        "last_test_status",
        "last_tested_at",
        "next_due_at",
    ]
    history_list_display = ["version", "change_type", "changed_fields", "request_id"]
    autocomplete_fields = ["client"]

    def get_form(self, request, obj=None, change=False, **kwargs):
        # Secrets are set on the change page, once the type (and so its secrets) is known.
        names = secrets.secret_names(obj.integration_type) if obj else ()
        kwargs["form"] = form_with_secret_fields(names)
        return super().get_form(request, obj, change, **kwargs)
