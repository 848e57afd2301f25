"""The registry's pages, one module per concern; each module carries its own urlpatterns."""
