from django.contrib import admin
from django.urls import include, path

from registry_site import errors_views, health

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("admin/", admin.site.urls),
    path("accounts/", include("registry_site.auth_urls")),
    path("api/", include("registry_site.api_urls")),
    path("teams/", include("accounts.views")),
    path("teams/", include("webhooks.views")),
    path("teams/", include("runs.views.connections")),
    path("", include("prompts.views.browse")),
    path("", include("prompts.views.editor")),
    path("", include("prompts.views.preview")),
    path("", include("prompts.views.settings")),
    path("", include("prompts.views.samples")),
    path("", include("reviews.views.inspect")),
    path("", include("audit.views")),
    path("", include("reviews.views.review")),
    path("", include("releases.views.release")),
    path("", include("releases.views.environments")),
    path("", include("runs.views.playground")),
    path("", include("runs.views.side_by_side")),
    path("", include("evaluations.views.datasets")),
    path("", include("evaluations.views.results")),
    path("", include("prompts.views.grants")),
]

handler404 = errors_views.not_found
handler500 = errors_views.server_error
handler403 = errors_views.forbidden
handler400 = errors_views.bad_request
