"""Team pages: members and roles, environments, tokens."""

urlpatterns: list = []
