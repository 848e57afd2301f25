from django.contrib import admin
from django.urls import include, path

from registry_site import errors_views

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/", include("django.contrib.auth.urls")),
    path("api/", include("registry_site.api_urls")),
    path("teams/", include("accounts.views")),
    path("teams/", include("webhooks.views")),
    path("", include("prompts.views.browse")),
    path("", include("prompts.views.editor")),
    path("", include("prompts.views.inspect")),
    path("", include("prompts.views.review")),
    path("", include("prompts.views.release")),
    path("", include("prompts.views.environments")),
    path("", include("prompts.views.grants")),
]

handler404 = errors_views.not_found
handler500 = errors_views.server_error
handler403 = errors_views.forbidden
handler400 = errors_views.bad_request
