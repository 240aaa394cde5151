"""Page routes of this app (none yet: the admin and the API serve it)."""

urlpatterns: list = []
