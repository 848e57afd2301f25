"""Pages: browse."""

urlpatterns: list = []
