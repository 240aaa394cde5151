from __future__ import annotations

from integrations.api.views import IntegrationTypeViewSet, IntegrationViewSet

routes = [
    ("integrations", IntegrationViewSet, "integration"),
    ("integration-types", IntegrationTypeViewSet, "integration-type"),
]
