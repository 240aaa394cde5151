from __future__ import annotations

from django import forms
from django.contrib.auth.models import Group

from clients.models import Client
from taxpoynt.admin import ChangeReasonForm


class ClientAdminForm(ChangeReasonForm):
    class Meta:
        model = Client
        fields = [
            "name",
            "tin",
            "contact_email",
            "phone",
            "address",
            "team",
            "is_active",
        ]


class ClientPageForm(forms.ModelForm):
    """Create or edit a client on the integrator pages, with a reason for the history.

    Staff may give a client to any team or none; others only to one of their own
    teams, so that they can still see the client they made.
    """

    reason = forms.CharField(
        label="Reason for this change",
        required=False,
        max_length=500,
        help_text="Kept in the history with your name.",
    )

    class Meta:
        model = Client
        fields = ["name", "tin", "contact_email", "phone", "address", "team"]
        widgets = {"address": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args, user, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["is_active"] = forms.BooleanField(
                label="Active", required=False, initial=self.instance.is_active
            )
        if not user.is_staff:
            self.fields["team"].queryset = Group.objects.filter(
                pk__in=user.groups.values("pk")
            )
            self.fields["team"].required = True
            self.fields["team"].empty_label = None
            first_team = self.fields["team"].queryset.first()
            if first_team is not None and not self.instance.pk:
                self.initial.setdefault("team", first_team.pk)

    def save(self, commit: bool = True) -> Client:
        if "is_active" in self.fields:
            self.instance.is_active = self.cleaned_data["is_active"]
        return super().save(commit=commit)
