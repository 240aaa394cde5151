from __future__ import annotations

from django.contrib.auth.models import Group
from rest_framework import serializers

from clients.models import Client
from taxpoynt.api import ChangeLoggedSerializer


class ClientSerializer(ChangeLoggedSerializer):
    team = serializers.PrimaryKeyRelatedField(
        queryset=Group.objects.all(), allow_null=True, required=False
    )
    integration_count = serializers.SerializerMethodField()

    class Meta:
        model = Client
        fields = [
            "id",
            "name",
            "tin",
            "contact_email",
            "phone",
            "address",
            "team",
            "is_active",
            "integration_count",
            "created_at",
            "updated_at",
            "reason",
        ]
        extra_kwargs = {"tin": {"allow_blank": True}}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request and not request.user.is_staff:
            self.fields["team"].queryset = request.user.groups.all()

    def get_integration_count(self, client) -> int:
        annotated = getattr(client, "integration_total", None)
        return annotated if annotated is not None else client.integrations.count()

    def validate_name(self, name: str) -> str:
        name = name.strip()
        if not name:
            raise serializers.ValidationError("Must not be empty.")
        taken = Client.objects.filter(name__iexact=name)
        if self.instance is not None:
            taken = taken.exclude(pk=self.instance.pk)
        if taken.exists():
            raise serializers.ValidationError(
                "A client with this name already exists (names are compared ignoring case)."
            )
        return name

    def validate_tin(self, tin: str | None) -> str | None:
        return (tin or "").strip() or None

    def validate(self, attrs):
        attrs = super().validate(attrs)
        request = self.context.get("request")
        creating = self.instance is None
        outside_staff = request is not None and not request.user.is_staff
        if outside_staff and "team" in attrs and attrs["team"] is None:
            # It would vanish from the user's view, and only staff could bring it back.
            raise serializers.ValidationError(
                {"team": ["Keep the client in one of your teams."]}
            )
        if creating and request and not request.user.is_staff and not attrs.get("team"):
            # A client without one of the user's teams would vanish from their view.
            teams = list(request.user.groups.all()[:2])
            if len(teams) != 1:
                raise serializers.ValidationError(
                    {"team": ["Choose one of your teams for the new client."]}
                )
            attrs["team"] = teams[0]
        return attrs
