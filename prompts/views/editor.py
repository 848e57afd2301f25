"""Pages: editor."""

urlpatterns: list = []
