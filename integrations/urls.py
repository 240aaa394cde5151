"""Page routes of the integrator pages for integrations."""

from __future__ import annotations

from django.urls import path

from integrations import views

urlpatterns = [
    path("integrations", views.integration_list, name="integration-list"),
    path("integrations/new", views.integration_new, name="integration-new"),
    path("integrations/<int:pk>", views.integration_detail, name="integration-detail"),
    path("integrations/<int:pk>/edit", views.integration_edit, name="integration-edit"),
    path(
        "integrations/<int:pk>/clone", views.integration_clone, name="integration-clone"
    ),
    path(
        "integrations/<int:pk>/delete",
        views.integration_delete,
        name="integration-delete",
    ),
    path(
        "integrations/<int:pk>/history",
        views.integration_history,
        name="integration-history",
    ),
    path(
        "integrations/<int:pk>/discovery",
        views.integration_discovery,
        name="integration-discovery",
    ),
    path(
        "integrations/<int:pk>/restore",
        views.integration_restore,
        name="integration-restore",
    ),
]
