"""Clients: the businesses whose accounting systems an integrator connects."""

from __future__ import annotations

from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.db.models.functions import Lower
from simple_history.models import HistoricalRecords

from taxpoynt.changelog import ChangeLogged, HistoryEntry
from taxpoynt.validation import (
    attach_constraint_errors,
    validate_plain_text,
    validate_single_line,
)

# FIRS issues TINs as eight digits, a hyphen and four digits (12345678-0001); the Joint Tax
# Board's newer TINs are ten digits. Both are in use on invoices today.
validate_tin = RegexValidator(
    r"^([0-9]{8}-[0-9]{4}|[0-9]{10})$",
    "Enter a Nigerian TIN: eight digits, a hyphen and four digits (12345678-0001), "
    "or ten digits (1234567890).",
)


class ClientQuerySet(models.QuerySet):
    def visible_to(self, user) -> ClientQuerySet:
        """Staff see every client; others only clients of a team (group) they are in."""
        if user.is_staff:
            return self.all()
        return self.filter(team__in=user.groups.all())


class Client(ChangeLogged):
    name = models.CharField(max_length=200, validators=[validate_single_line])
    tin = models.CharField(
        "TIN",
        max_length=13,
        blank=True,
        null=True,
        unique=True,
        validators=[validate_tin],
        help_text="Tax Identification Number, e.g. 12345678-0001.",
    )
    contact_email = models.EmailField(blank=True)
    phone = models.CharField(
        max_length=40, blank=True, validators=[validate_single_line]
    )
    address = models.TextField(blank=True, validators=[validate_plain_text])
    team = models.ForeignKey(
        Group,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="clients",
        help_text="Members of this group may see and manage the client.",
    )
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ClientQuerySet.as_manager()
    history = HistoricalRecords(
        bases=[HistoryEntry], history_change_reason_field=models.TextField(null=True)
    )

    class Meta:
        ordering = ["name"]
        # Lists sort by client name; the unique index is on Lower(name), not name.
        indexes = [models.Index(fields=["name"])]
        constraints = [
            models.UniqueConstraint(
                Lower("name"),
                name="client_name_unique_ignoring_case",
                violation_error_code="duplicate_name",
                violation_error_message="A client with this name already exists "
                "(names are compared ignoring case).",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        # An empty TIN is "no TIN": store NULL so that many clients can lack one.
        self.tin = (self.tin or "").strip() or None
        self.name = (self.name or "").strip()

    def validate_constraints(self, exclude=None) -> None:
        try:
            super().validate_constraints(exclude=exclude)
        except ValidationError as error:
            raise attach_constraint_errors(error, {"duplicate_name": "name"}) from None
