from __future__ import annotations

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
