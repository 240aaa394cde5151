"""Integrations: one client's connection to one accounting or ERP system."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_slug
from django.db import models, transaction
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.views.decorators.debug import sensitive_variables
from simple_history.models import HistoricalRecords

from clients.models import Client
from integrations import schedules, secret_box, secrets
from taxpoynt.changelog import BOOKKEEPING_FIELDS, ChangeLogged, HistoryEntry
from taxpoynt.validation import (
    attach_constraint_errors,
    find_control_characters,
    find_unstorable_text,
    nesting_depth,
    validate_plain_text,
    validate_single_line,
    without_nul_characters,
)

# Configs are a few levels deep at most; a limit keeps recursive checks safe.
MAX_CONFIG_DEPTH = 20


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
    if nesting_depth(value) > MAX_CONFIG_DEPTH:
        return "config", f"Nests more than {MAX_CONFIG_DEPTH} levels deep; flatten it."
    path = find_unstorable_text(value, "config")
    if path:
        return (
            path,
            "Contains a NUL character (\\u0000) or half a surrogate pair; remove it.",
        )
    path = find_control_characters(value, "config")
    if path:
        return path, "Contains control characters (other than tabs and line breaks)."
    return None


class IntegrationQuerySet(models.QuerySet):
    def matching(self, text: str) -> IntegrationQuerySet:
        """Integrations whose name, or whose client's name, contains the text.

        The client side is a subquery rather than an OR across the join, so that the
        database can still walk the list in index order.
        """
        clients = Client.objects.filter(name__icontains=text).values("pk")
        return self.filter(
            models.Q(name__icontains=text) | models.Q(client__in=clients)
        )

    def visible_to(self, user) -> IntegrationQuerySet:
        """Integrations of the clients the user may see."""
        if user.is_staff:
            return self.all()
        return self.filter(client__team__in=user.groups.all())


class Health(models.TextChoices):
    """What the connection tests say lately: one failure degrades, three in a row fail."""

    HEALTHY = "healthy"
    DEGRADED = "degraded"
    FAILING = "failing"
    UNKNOWN = "unknown"


FAILURES_BEFORE_FAILING = 3


def health_after(consecutive_failures: int) -> str:
    if consecutive_failures == 0:
        return Health.HEALTHY
    if consecutive_failures < FAILURES_BEFORE_FAILING:
        return Health.DEGRADED
    return Health.FAILING


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
    name = models.CharField(max_length=200, validators=[validate_single_line])
    integration_type = models.CharField(
        max_length=50,
        validators=[validate_slug],
        help_text='The system connected to, as a short slug such as "odoo".',
    )
    description = models.TextField(blank=True, validators=[validate_plain_text])
    config = models.JSONField(default=dict, blank=True)
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.DRAFT
    )
    version = models.PositiveIntegerField(default=1, editable=False)
    last_test_status = models.CharField(max_length=20, blank=True, editable=False)
    last_tested_at = models.DateTimeField(null=True, blank=True, editable=False)
    health = models.CharField(
        max_length=10, choices=Health.choices, default=Health.UNKNOWN, editable=False
    )
    consecutive_failures = models.PositiveIntegerField(default=0, editable=False)
    # When the monitor tests it next; null means at once (if active and scheduled).
    next_due_at = models.DateTimeField(
        null=True, blank=True, editable=False, db_index=True
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = IntegrationQuerySet.as_manager()

    # When each secret changed, by name, as load_secret_dates() read it for a list.
    loaded_secret_dates: dict[str, datetime] | None = None

    # The outcome of the last connection test is a reading, not a change of the
    # integration: recording it adds no version and no history row.
    readings = ["last_test_status", "last_tested_at", "health", "consecutive_failures"]
    untracked_fields = BOOKKEEPING_FIELDS | {*readings, "next_due_at"}
    history = HistoricalRecords(
        bases=[HistoryEntry],
        history_change_reason_field=models.TextField(null=True),
        excluded_fields=["updated_at", *readings, "next_due_at"],
    )

    class Meta:
        ordering = ["client__name", "name"]
        indexes = [models.Index(fields=["client", "name"])]
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
        """Check the config against its type's template, secrets included.

        Done here, not with field validators: Django skips validators for "empty"
        values, and [] or null are exactly the values to refuse.
        """
        self.name = (self.name or "").strip()
        problem = config_problem(self.config)
        if problem:
            path, message = problem
            raise ValidationError({"config": f"{path}: {message}"})

        self.prepare_config()
        stored = None if self._state.adding else self.stored_state()
        errors = secrets.write_errors(
            self.integration_type,
            self.config,
            self.secret_writes,
            stored.config if stored else None,
            stored.secret_names_set() if stored else set(),
        )
        if errors:
            field = "integration_type" if "integration_type" in errors else "config"
            raise ValidationError(
                {
                    field: [
                        f"{path}: {'; '.join(messages)}"
                        for path, messages in errors.items()
                    ]
                }
            )

    def save(self, *args, **kwargs) -> None:
        with transaction.atomic(using=kwargs.get("using")):
            self.prepare_config()
            super().save(*args, **kwargs)
            if not self.nothing_changed:
                self.store_secret_writes()
            self.secret_writes.clear()

    def stored_state(self) -> Integration | None:
        return type(self)._base_manager.filter(pk=self.pk).first()

    # Secrets. Writes are staged on the instance and stored by save(), in the same
    # transaction as the version they belong to.

    @property
    def secret_writes(self) -> dict[str, str | None]:
        if not hasattr(self, "_secret_writes"):
            self._secret_writes = {}
        return self._secret_writes

    @secret_writes.setter
    def secret_writes(self, writes: dict[str, str | None]) -> None:
        self._secret_writes = dict(writes)

    def write_secrets(self, writes: dict[str, str | None]) -> None:
        """Stage secret values (None clears one) for the next save()."""
        self.secret_writes.update(writes)

    def prepare_config(self) -> None:
        """Tidy the schedule, and move any secret into the staged writes.

        Config never stores a secret, whichever path wrote it.
        """
        if isinstance(self.config, dict):
            config = schedules.tidied(self.config)
            self.config, writes = secrets.split_secrets(self.integration_type, config)
            self.write_secrets(writes)

    def secret_names_set(self) -> set[str]:
        return {secret.name for secret in self.secrets.all()}

    def secret_status(self) -> dict[str, dict]:
        """Whether each secret of the type is set, and when it last changed."""
        changed = self.loaded_secret_dates
        if changed is None:
            changed = dict(self.secrets.values_list("name", "changed_at"))
        return {
            name: {"set": name in changed, "changed_at": changed.get(name)}
            for name in secrets.secret_names(self.integration_type)
        }

    @method_decorator(sensitive_variables())
    def secret_values(self) -> dict[str, str]:
        """The decrypted secrets, for the connection test only. Never log them."""
        return {secret.name: secret.value() for secret in self.secrets.all()}

    @method_decorator(sensitive_variables())
    def store_rotated_secret(self, name: str, value: str) -> None:
        """Keep a secret the system itself replaced (a rotated OAuth refresh token).

        Not a change of the integration: no version, no history, like a test result.
        """
        self.secrets.update_or_create(
            name=name,
            defaults={
                "ciphertext": secret_box.encrypt(value),
                "changed_at": timezone.now(),
            },
        )

    @method_decorator(sensitive_variables())
    def changes_beside_fields(self) -> list[str]:
        stored = {} if self.pk is None else {s.name: s for s in self.secrets.all()}
        changed = []
        for name, value in sorted(self.secret_writes.items()):
            current = stored.get(name)
            if value is None and current is None:
                continue
            if value is not None and current is not None and current.value() == value:
                continue
            changed.append(f"secrets.{name}")
        return changed

    @method_decorator(sensitive_variables())
    def store_secret_writes(self) -> None:
        now = timezone.now()
        for name, value in self.secret_writes.items():
            if value is None:
                self.secrets.filter(name=name).delete()
                continue
            current = self.secrets.filter(name=name).first()
            if current is not None and current.value() == value:
                continue
            self.secrets.update_or_create(
                name=name,
                defaults={"ciphertext": secret_box.encrypt(value), "changed_at": now},
            )
        # What a list read loaded is stale now.
        self.loaded_secret_dates = None

    def validate_constraints(self, exclude=None) -> None:
        try:
            super().validate_constraints(exclude=exclude)
        except ValidationError as error:
            raise attach_constraint_errors(error, {"duplicate_name": "name"}) from None


def load_secret_dates(integrations: list[Integration]) -> None:
    """Read when each secret of many integrations changed, in one query.

    A list shows whether each secret is set; reading bare (id, name, date) rows is
    several times cheaper than building a secret object per row.
    """
    dates: dict[int, dict] = {integration.pk: {} for integration in integrations}
    rows = IntegrationSecret.objects.filter(integration_id__in=list(dates))
    for integration_id, name, changed_at in rows.values_list(
        "integration_id", "name", "changed_at"
    ):
        dates[integration_id][name] = changed_at
    for integration in integrations:
        integration.loaded_secret_dates = dates[integration.pk]


@sensitive_variables()
def secret_values_of(integrations: list[Integration]) -> dict[int, dict[str, str]]:
    """secret_values() of many integrations, read in one query. Never log them."""
    values: dict[int, dict] = {integration.pk: {} for integration in integrations}
    rows = IntegrationSecret.objects.filter(integration_id__in=list(values))
    for secret in rows:
        values[secret.integration_id][secret.name] = secret.value()
    return values


class IntegrationSecret(models.Model):
    """One secret of an integration, encrypted. It has no history, by design."""

    integration = models.ForeignKey(
        Integration, on_delete=models.CASCADE, related_name="secrets"
    )
    name = models.CharField(max_length=100)
    ciphertext = models.TextField()
    changed_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["integration", "name"], name="one_secret_per_name"
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} (secret of integration {self.integration_id})"

    def __repr__(self) -> str:
        return f"<IntegrationSecret {self.name} of {self.integration_id}>"

    @method_decorator(sensitive_variables())
    def value(self) -> str:
        return secret_box.decrypt(self.ciphertext)


class ConnectionTest(models.Model):
    """The result of one connection test. Results are readings, not changes."""

    integration = models.ForeignKey(
        Integration, on_delete=models.CASCADE, related_name="connection_tests"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True
    )
    tested_at = models.DateTimeField()
    status = models.CharField(max_length=30)
    message = models.TextField()
    hint = models.TextField(blank=True)
    stages = models.JSONField(default=list)
    target = models.JSONField(default=dict)
    http_status = models.PositiveSmallIntegerField(null=True, blank=True)
    latency_ms = models.FloatField(null=True, blank=True)
    details = models.JSONField(default=dict)

    class Meta:
        ordering = ["-tested_at", "-id"]
        indexes = [models.Index(fields=["integration", "-tested_at"])]

    def __str__(self) -> str:
        return f"{self.status} at {self.tested_at:%Y-%m-%d %H:%M}"

    @property
    def ok(self) -> bool:
        return self.status == "ok"


class ApiDiscovery(models.Model):
    """What endpoint discovery found for an integration, kept for its discovery page."""

    integration = models.ForeignKey(
        Integration, on_delete=models.CASCADE, related_name="discoveries"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True
    )
    discovered_at = models.DateTimeField(auto_now_add=True)
    ok = models.BooleanField()
    error = models.TextField(blank=True)
    source_url = models.TextField(blank=True)
    title = models.CharField(max_length=300, blank=True)
    api_version = models.CharField(max_length=100, blank=True)
    spec_version = models.CharField(max_length=20, blank=True)
    operation_count = models.PositiveIntegerField(default=0)
    operations = models.JSONField(default=list)
    suggested_health_path = models.TextField(blank=True)
    attempts = models.JSONField(default=list)

    class Meta:
        ordering = ["-discovered_at", "-id"]
        indexes = [models.Index(fields=["integration", "-discovered_at"])]

    def __str__(self) -> str:
        return f"{self.title or 'nothing found'} at {self.discovered_at:%Y-%m-%d %H:%M}"

    @classmethod
    def record(cls, integration, user, result: dict) -> ApiDiscovery:
        result = without_nul_characters(result)
        return cls.objects.create(
            integration=integration,
            user=user if getattr(user, "is_authenticated", False) else None,
            ok=result["ok"],
            error=result.get("error") or "",
            source_url=result.get("source_url") or "",
            title=(result.get("title") or "")[:300],
            api_version=(result.get("api_version") or "")[:100],
            spec_version=(result.get("spec_version") or "")[:20],
            operation_count=len(result.get("operations", [])),
            operations=result.get("operations", []),
            suggested_health_path=result.get("suggested_health_path") or "",
            attempts=result.get("attempts", []),
        )
