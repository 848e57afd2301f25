"""Pages: inspect."""

urlpatterns: list = []
