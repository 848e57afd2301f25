"""API routes of datasets and evaluations, included under /api/ by registry_site.api_urls."""

from django.urls import path

from evaluations.api import views

P = "prompts/<str:team>/<str:slug>"

urlpatterns = [
    path(f"v1/{P}/datasets", views.DatasetList.as_view()),
    path(f"v1/{P}/datasets/<str:name>", views.DatasetDetail.as_view()),
    path(f"v1/{P}/evaluations", views.EvaluationList.as_view()),
    path(f"v1/{P}/evaluations/<int:evaluation_id>", views.EvaluationDetail.as_view()),
    path(f"v1/{P}/evaluations/<int:evaluation_id>/cancel", views.EvaluationCancel.as_view()),
]
