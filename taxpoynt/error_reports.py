"""Error reports (the DEBUG page, admin e-mails) that never show a secret.

Django hides settings whose names look secret, but shows the local variables of every
frame as they are. Integration configs travel through many frames as plain dicts, so
this filter hides secret-looking keys inside every local variable too.
"""

from __future__ import annotations

from django.views.debug import SafeExceptionReporterFilter


class SecretHidingFilter(SafeExceptionReporterFilter):
    def get_traceback_frame_variables(self, request, tb_frame):
        variables = super().get_traceback_frame_variables(request, tb_frame)
        return [(name, self.cleanse_setting(name, value)) for name, value in variables]
