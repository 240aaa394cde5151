from __future__ import annotations

from integrations.api.views import IntegrationViewSet

routes = [("integrations", IntegrationViewSet, "integration")]
