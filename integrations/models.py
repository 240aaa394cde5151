"""Integrations: one client's connection to one accounting or ERP system."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.validators import validate_slug
from django.db import models
from django.db.models.functions import Lower
from simple_history.models import HistoricalRecords

from clients.models import Client
from taxpoynt.changelog import BOOKKEEPING_FIELDS, ChangeLogged, HistoryEntry
from taxpoynt.validation import attach_constraint_errors, find_nul_character


def config_problem(value) -> tuple[str, str] | None:
    """The JSON path and description of what is wrong with a config, if anything.

    Config must be a JSON object whose strings PostgreSQL can store.
    """
    if not isinstance(value, dict):
        kind = "null" if value is None else type(value).__name__
        return (
            "config",
            f'Must be a JSON object such as {{"api_url": "..."}}, not {kind}.',
        )
    path = find_nul_character(value, "config")
    if path:
        return path, "Contains a NUL character (\\u0000); remove it."
    return None


class IntegrationQuerySet(models.QuerySet):
    def visible_to(self, user) -> IntegrationQuerySet:
        """Integrations of the clients the user may see."""
        if user.is_staff:
            return self.all()
        return self.filter(client__team__in=user.groups.all())


class Integration(ChangeLogged):
    class Status(models.TextChoices):
        DRAFT = "draft"
        ACTIVE = "active"
        PAUSED = "paused"

    client = models.ForeignKey(
        Client,
        on_delete=models.PROTECT,
        related_name="integrations",
        help_text="A client cannot be deleted while it still has integrations.",
    )
    name = models.CharField(max_length=200)
    integration_type = models.CharField(
        max_length=50,
        validators=[validate_slug],
        help_text='The system connected to, as a short slug such as "odoo".',
    )
    description = models.TextField(blank=True)
    config = models.JSONField(default=dict, blank=True)
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.DRAFT
    )
    version = models.PositiveIntegerField(default=1, editable=False)
    last_test_status = models.CharField(max_length=20, blank=True, editable=False)
    last_tested_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = IntegrationQuerySet.as_manager()

    # The outcome of the last connection test is a reading, not a change of the
    # integration: recording it adds no version and no history row.
    untracked_fields = BOOKKEEPING_FIELDS | {"last_test_status", "last_tested_at"}
    history = HistoricalRecords(
        bases=[HistoryEntry],
        history_change_reason_field=models.TextField(null=True),
        excluded_fields=["updated_at", "last_test_status", "last_tested_at"],
    )

    class Meta:
        ordering = ["client__name", "name"]
        permissions = [
            ("test_integration", "Can test the connection of an integration"),
            (
                "rollback_integration",
                "Can roll an integration back to an earlier version",
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                "client",
                Lower("name"),
                name="integration_name_unique_per_client_ignoring_case",
                violation_error_code="duplicate_name",
                violation_error_message="This client already has an integration with "
                "this name (names are compared ignoring case).",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.client} / {self.name}"

    def clean(self) -> None:
        self.name = (self.name or "").strip()
        # Checked here, not as a field validator: Django skips validators for "empty"
        # values, and [] or null are exactly the values to refuse.
        problem = config_problem(self.config)
        if problem:
            path, message = problem
            raise ValidationError({"config": f"{path}: {message}"})

    def validate_constraints(self, exclude=None) -> None:
        try:
            super().validate_constraints(exclude=exclude)
        except ValidationError as error:
            raise attach_constraint_errors(error, {"duplicate_name": "name"}) from None
