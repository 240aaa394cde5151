from __future__ import annotations

from clients.api.views import ClientViewSet

routes = [("clients", ClientViewSet, "client")]
