"""API routes of connections and runs, included under /api/ by registry_site.api_urls."""

from django.urls import path

from runs.api import views

P = "prompts/<str:team>/<str:slug>"

urlpatterns = [
    path("v1/teams/<str:team>/connections", views.ConnectionList.as_view()),
    path("v1/teams/<str:team>/connections/<str:name>", views.ConnectionDetail.as_view()),
    path(f"v1/{P}/run", views.RunPrompt.as_view()),
    path(f"v1/{P}/runs", views.RunList.as_view()),
]
