from django.contrib import admin
from django.urls import path
from django.views.generic import RedirectView

from taxpoynt.health import healthz

admin.site.site_header = "TaxPoynt integrations"
admin.site.site_title = "TaxPoynt integrations admin"

urlpatterns = [
    path("", RedirectView.as_view(url="/admin/", permanent=False)),
    path("healthz", healthz, name="healthz"),
    path("admin/", admin.site.urls),
]
