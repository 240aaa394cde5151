from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path, re_path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter

from clients.api.urls import routes as client_routes
from integrations.api.schedule_views import SchedulePreviewView
from integrations.api.urls import routes as integration_routes
from integrations.views import log_out
from taxpoynt.api import api_not_found
from taxpoynt.health import healthz

admin.site.site_header = "TaxPoynt integrations"
admin.site.site_title = "TaxPoynt integrations admin"

router = DefaultRouter()
# Both /api/clients and /api/clients/ answer, so that writes are never redirected.
router.trailing_slash = "/?"
for prefix, viewset, basename in [*client_routes, *integration_routes]:
    router.register(prefix, viewset, basename=basename)

urlpatterns = [
    path("", RedirectView.as_view(url="/integrations", permanent=False)),
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(redirect_authenticated_user=True),
        name="login",
    ),
    path("accounts/logout/", log_out, name="logout"),
    path("healthz", healthz, name="healthz"),
    path("admin/", admin.site.urls),
    re_path(r"^api/schema/?$", SpectacularAPIView.as_view(), name="api-schema"),
    re_path(
        r"^api/docs/?$",
        SpectacularSwaggerView.as_view(url_name="api-schema"),
        name="api-docs",
    ),
    re_path(
        r"^api/schedule-preview/?$",
        SchedulePreviewView.as_view(),
        name="schedule-preview",
    ),
    path("api/", include(router.urls)),
    re_path(r"^api/", api_not_found),
    path("", include("integrations.urls")),
    path("", include("clients.urls")),
]
