"""resolve as every request reached it before the fast path: the DRF view behind the
whole middleware stack (bench/layers.py measures it beside the fast path)."""

from django.urls import include, path

from serving.api import views

urlpatterns = [
    path("api/v1/prompts/<str:team>/<str:slug>/resolve", views.Resolve.as_view()),
    path("", include("registry_site.urls")),
]
