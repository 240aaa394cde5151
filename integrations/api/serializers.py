from __future__ import annotations

from typing import Any

from django.utils import timezone
from rest_framework import serializers

from clients.models import Client
from integrations import connection_tests, providers, schedules, secrets
from integrations.models import (
    ApiDiscovery,
    ConnectionTest,
    Integration,
    config_problem,
    load_secret_dates,
)
from taxpoynt.api import LARGEST_ID, ChangeLoggedSerializer, Conflict, StrictTypes
from taxpoynt.validation import validate_single_line

# Versions are stored as 32-bit positive integers.
LARGEST_VERSION = 2**31 - 1


def merge_patch(target: Any, patch: Any) -> Any:
    """Apply a JSON Merge Patch (RFC 7386): given keys replace, null removes."""
    if not isinstance(patch, dict):
        return patch
    merged = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = merge_patch(merged.get(key), value)
    return merged


def as_datetime(value, zone=None):
    """A datetime as DRF writes it (ISO 8601 in the current time zone), or None.

    Looking the current zone up costs more than the formatting, so a caller writing
    many dates passes it in.
    """
    if value is None:
        return None
    text = value.astimezone(zone or timezone.get_current_timezone()).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def client_name_of(integration: Integration) -> str:
    """The client's name, from the client object when one is loaded.

    Lists read only the name, as an annotation (see IntegrationViewSet.get_queryset).
    After a write moved the integration, the new client object is the one loaded.
    """
    annotated = getattr(integration, "client_name", None)
    if annotated is None or Integration.client.is_cached(integration):
        return integration.client.name
    return annotated


class IntegrationListSerializer(serializers.ListSerializer):
    def to_representation(self, data):
        # One query for the secrets of the whole page, rather than one per row.
        integrations = list(data.all() if hasattr(data, "all") else data)
        load_secret_dates(integrations)
        return super().to_representation(integrations)


class VisibleClientField(serializers.PrimaryKeyRelatedField):
    """The id of a client that the requesting user may see."""

    def get_queryset(self):
        request = self.context.get("request")
        if request is None:
            return Client.objects.none()
        return Client.objects.visible_to(request.user)


class IntegrationSerializer(ChangeLoggedSerializer):
    client = VisibleClientField()
    client_name = serializers.CharField(source="client.name", read_only=True)
    next_runs = serializers.SerializerMethodField(
        help_text="The next 5 runs of the schedule, ISO 8601 in its own time zone."
    )
    secrets = serializers.SerializerMethodField(
        help_text="For each secret of the type: whether it is set and when it changed. "
        "Secrets are written as fields of config and never read back."
    )
    config = serializers.JSONField(required=False)
    version = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=LARGEST_VERSION,
        help_text="On writes: the version you started from. A stale one answers 409.",
    )

    class Meta:
        model = Integration
        fields = [
            "id",
            "client",
            "client_name",
            "name",
            "integration_type",
            "description",
            "config",
            "secrets",
            "next_runs",
            "status",
            "version",
            "last_test_status",
            "last_tested_at",
            "health",
            "created_at",
            "updated_at",
            "reason",
        ]
        read_only_fields = ["last_test_status", "last_tested_at", "health"]
        list_serializer_class = IntegrationListSerializer

    def validate_name(self, name: str) -> str:
        name = name.strip()
        if not name:
            raise serializers.ValidationError("Must not be empty.")
        return name

    def to_representation(self, integration) -> dict[str, Any]:
        """The same output as DRF's field-by-field walk, built directly.

        Lists serialise up to 500 integrations, and the generic walk costs more than the
        database work; test_api checks that both give the same result.
        """
        zone = timezone.get_current_timezone()
        return {
            "id": integration.pk,
            "client": integration.client_id,
            "client_name": client_name_of(integration),
            "name": integration.name,
            "integration_type": integration.integration_type,
            "description": integration.description,
            "config": integration.config,
            "secrets": self.get_secrets(integration, zone),
            "next_runs": self.get_next_runs(integration),
            "status": integration.status,
            "version": integration.version,
            "last_test_status": integration.last_test_status,
            "last_tested_at": as_datetime(integration.last_tested_at, zone),
            "health": integration.health,
            "created_at": as_datetime(integration.created_at, zone),
            "updated_at": as_datetime(integration.updated_at, zone),
        }

    def get_secrets(self, integration, zone=None) -> dict[str, dict]:
        status = integration.secret_status()
        for state in status.values():
            state["changed_at"] = as_datetime(state["changed_at"], zone)
        return status

    def get_next_runs(self, integration) -> list[str]:
        schedule, zone = schedules.schedule_of(integration.config)
        try:
            runs = schedules.upcoming_runs(schedule, zone, timezone.now())
        except schedules.ScheduleError:
            return []  # a legacy row with a schedule from before validation
        return [run.isoformat() for run in runs]

    def validate(self, attrs):
        attrs = super().validate(attrs)
        self.check_body_version(attrs.pop("version", None))
        if "config" in attrs or "integration_type" in attrs or self.instance is None:
            attrs.update(self.validated_config(attrs))
        self.check_name_is_free(attrs)
        return attrs

    def validated_config(self, attrs) -> dict:
        """The plain config to store and the secret writes, or a 400 naming JSON paths.

        PATCH merges config as a JSON Merge Patch; secrets are taken out first, so that
        a null secret means "clear it" rather than "remove the key".
        """
        stored = self.instance
        kind = attrs.get("integration_type", getattr(stored, "integration_type", ""))
        incoming = attrs.get("config", stored.config if stored else {})
        problem = config_problem(incoming)
        if problem:
            path, message = problem
            raise serializers.ValidationError({path: [message]})

        plain, writes = secrets.split_secrets(kind, schedules.tidied(incoming))
        if stored is not None and self.partial and "config" in attrs:
            plain = merge_patch(stored.config, plain)
        errors = secrets.write_errors(
            kind,
            plain,
            writes,
            stored.config if stored else None,
            stored.secret_names_set() if stored else set(),
        )
        if errors:
            raise serializers.ValidationError(errors)
        return {"config": plain, "secret_writes": writes}

    def check_body_version(self, version: int | None) -> None:
        if version is None or self.instance is None:
            return
        if version != self.instance.version:
            raise Conflict(
                f"You started from version {version}, but the integration is "
                f"now at version {self.instance.version}.",
                current_version=self.instance.version,
            )

    def check_name_is_free(self, attrs) -> None:
        client = attrs.get("client", getattr(self.instance, "client", None))
        name = attrs.get("name", getattr(self.instance, "name", None))
        if client is None or name is None:
            return
        taken = Integration.objects.filter(client=client, name__iexact=name)
        if self.instance is not None:
            taken = taken.exclude(pk=self.instance.pk)
        if taken.exists():
            raise serializers.ValidationError(
                {
                    "name": [
                        "This client already has an integration with this name "
                        "(names are compared ignoring case)."
                    ]
                }
            )


class HistoryEntrySerializer(serializers.Serializer):
    version = serializers.IntegerField()
    changed_at = serializers.DateTimeField(source="history_date")
    user = serializers.CharField(source="history_username", allow_null=True)
    change_type = serializers.CharField()
    reason = serializers.CharField(source="history_change_reason", allow_null=True)
    request_id = serializers.CharField()
    changed_fields = serializers.ListField(child=serializers.CharField())


class VersionStateSerializer(HistoryEntrySerializer):
    id = serializers.IntegerField()
    client = serializers.IntegerField(source="client_id")
    name = serializers.CharField()
    integration_type = serializers.CharField()
    description = serializers.CharField()
    config = serializers.JSONField()
    status = serializers.CharField()


class ChangeSerializer(serializers.Serializer):
    field = serializers.CharField(
        help_text="A field name or a JSON path: config.schedule"
    )
    old = serializers.JSONField(
        allow_null=True, help_text="null when the key was absent"
    )
    new = serializers.JSONField(
        allow_null=True, help_text="null when the key is absent"
    )


class DiffSerializer(serializers.Serializer):
    from_version = serializers.IntegerField()
    to_version = serializers.IntegerField()
    changes = ChangeSerializer(many=True)


class RollbackRequestSerializer(StrictTypes, serializers.Serializer):
    version = serializers.IntegerField(
        min_value=1, max_value=LARGEST_VERSION, help_text="The version to restore."
    )
    reason = serializers.CharField(required=False, allow_blank=True, max_length=500)


class CloneRequestSerializer(StrictTypes, serializers.Serializer):
    name = serializers.CharField(max_length=200, validators=[validate_single_line])
    client = VisibleClientField(
        required=False,
        help_text="The client to copy into; the same client when left out.",
    )
    reason = serializers.CharField(required=False, allow_blank=True, max_length=500)

    def validate(self, attrs):
        original = self.context["original"]
        client = attrs.get("client") or original.client
        name = attrs["name"].strip()
        if not name:
            raise serializers.ValidationError({"name": ["Must not be empty."]})
        if Integration.objects.filter(client=client, name__iexact=name).exists():
            raise serializers.ValidationError(
                {"name": [f"{client.name} already has an integration named {name!r}."]}
            )
        attrs["name"] = name
        return attrs


class IntegrationTypeSerializer(serializers.Serializer):
    slug = serializers.CharField()
    name = serializers.CharField()
    description = serializers.CharField()


class IntegrationTypeDetailSerializer(IntegrationTypeSerializer):
    schema = serializers.SerializerMethodField(
        help_text="JSON Schema of the config; secret fields are marked writeOnly."
    )
    example = serializers.JSONField(help_text="A complete example config.")
    secret_fields = serializers.ListField(child=serializers.CharField())
    endpoints = serializers.ListField(
        child=serializers.CharField(),
        help_text="The endpoints of the system this type uses, known without discovery.",
    )

    def get_schema(self, template) -> dict:
        return providers.public_schema(template)


class StageSerializer(serializers.Serializer):
    name = serializers.ChoiceField(choices=connection_tests.STAGE_ORDER)
    ok = serializers.BooleanField()
    duration_ms = serializers.FloatField()
    detail = serializers.CharField(allow_blank=True)


class TestResultSerializer(serializers.Serializer):
    """The outcome of a connection test (documentation of the response shape)."""

    ok = serializers.BooleanField()
    status = serializers.ChoiceField(choices=connection_tests.STATUSES)
    message = serializers.CharField()
    hint = serializers.CharField(allow_null=True)
    stages = StageSerializer(many=True)
    target = serializers.DictField(help_text="scheme, host and port only")
    http_status = serializers.IntegerField(allow_null=True)
    latency_ms = serializers.FloatField(allow_null=True)
    tested_at = serializers.DateTimeField()
    details = serializers.DictField(
        help_text="What the system answered: company, version"
    )


class BulkTestResultSerializer(TestResultSerializer):
    integration = serializers.IntegerField()
    name = serializers.CharField()


class StoredTestSerializer(serializers.ModelSerializer):
    ok = serializers.BooleanField(read_only=True)
    user = serializers.CharField(source="user.username", default=None, read_only=True)

    class Meta:
        model = ConnectionTest
        fields = [
            "id",
            "ok",
            "status",
            "message",
            "hint",
            "stages",
            "target",
            "http_status",
            "latency_ms",
            "tested_at",
            "details",
            "user",
        ]


class DraftTestRequestSerializer(StrictTypes, serializers.Serializer):
    config = serializers.JSONField(help_text="The draft config, secrets included.")
    integration = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=LARGEST_ID,
        help_text="An integration whose stored secrets fill in the ones left out, "
        "while the target host is unchanged.",
    )

    def validate_config(self, config):
        problem = config_problem(config)
        if problem:
            raise serializers.ValidationError(problem[1])
        return config


class BulkTestRequestSerializer(StrictTypes, serializers.Serializer):
    ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=LARGEST_ID),
        required=False,
        max_length=1000,
        help_text="Integrations to test; without ids, the list's filters choose them.",
    )


class OperationSerializer(serializers.Serializer):
    method = serializers.CharField()
    path = serializers.CharField()
    operation_id = serializers.CharField()
    summary = serializers.CharField()
    tags = serializers.ListField(child=serializers.CharField())
    parameters = serializers.ListField(child=serializers.DictField())
    request_media_types = serializers.ListField(child=serializers.CharField())
    needs_auth = serializers.BooleanField()
    relevant = serializers.BooleanField(
        help_text="About invoices, customers, items, tax..."
    )


class DiscoveryAttemptSerializer(serializers.Serializer):
    url = serializers.CharField()
    method = serializers.CharField(required=False)
    http_status = serializers.IntegerField(required=False)
    outcome = serializers.CharField()


class DiscoveryResultSerializer(serializers.Serializer):
    ok = serializers.BooleanField()
    error = serializers.CharField(allow_null=True)
    source_url = serializers.CharField(allow_null=True)
    title = serializers.CharField(required=False)
    api_version = serializers.CharField(required=False)
    spec_version = serializers.CharField(required=False)
    suggested_health_path = serializers.CharField(required=False, allow_null=True)
    operations = OperationSerializer(many=True)
    attempts = DiscoveryAttemptSerializer(many=True)


class StoredDiscoverySerializer(serializers.ModelSerializer):
    class Meta:
        model = ApiDiscovery
        fields = [
            "id",
            "discovered_at",
            "ok",
            "error",
            "source_url",
            "title",
            "api_version",
            "spec_version",
            "operation_count",
            "suggested_health_path",
            "operations",
            "attempts",
        ]
