"""The admin base shared by the apps: every admin change is recorded with who and why."""

from __future__ import annotations

from django import forms
from simple_history.admin import SimpleHistoryAdmin


class ChangeReasonForm(forms.ModelForm):
    change_reason = forms.CharField(
        required=False,
        max_length=500,
        help_text="Why you make this change. It is kept in the history.",
    )


class ChangeLoggedAdmin(SimpleHistoryAdmin):
    """Records the staff user and the reason they gave on every save and delete."""

    form = ChangeReasonForm

    def save_model(self, request, obj, form, change):
        reason = form.cleaned_data.get("change_reason", "")
        obj.record_change(request.user, reason)
        obj.save()

    def delete_model(self, request, obj):
        obj.record_change(request.user, "Deleted in the admin")
        obj.delete()

    def delete_queryset(self, request, queryset):
        # One delete per object, so each gets its own history row and version check.
        for obj in queryset:
            self.delete_model(request, obj)
