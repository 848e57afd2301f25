from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from accounts.api import views as accounts
from composition.api import views as composition
from portable.api import views as portable
from prompts.api import grants
from prompts.api import views as prompts
from reviews.api import views as reviews
from serving.api import views as serving
from webhooks.api import views as webhooks

P = "prompts/<str:team>/<str:slug>"
W = "teams/<str:team>/webhooks"

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view serves its start script as a file (?script), as the CSP requires.
    path(
        "docs/",
        SpectacularSwaggerSplitView.as_view(
            url_name="api-schema", template_name="api/swagger_ui.html"
        ),
        name="api-docs",
    ),
    path("v1/teams", accounts.TeamList.as_view()),
    path("v1/teams/<str:team>/members", accounts.MemberList.as_view()),
    # Usernames made in a shell may hold "/": path, not str.
    path("v1/teams/<str:team>/members/<path:username>", accounts.MemberDetail.as_view()),
    path("v1/teams/<str:team>/environments", accounts.EnvironmentList.as_view()),
    path(
        "v1/teams/<str:team>/environments/<str:environment>", accounts.EnvironmentDetail.as_view()
    ),
    path("v1/teams/<str:team>/export", portable.TeamExport.as_view()),
    path("v1/teams/<str:team>/import", portable.TeamImport.as_view()),
    path("v1/whoami", accounts.WhoAmI.as_view()),
    path("v1/tokens", accounts.TokenList.as_view()),
    path("v1/tokens/<int:token_id>", accounts.TokenDetail.as_view()),
    path("v1/prompts", prompts.PromptList.as_view()),
    path(f"v1/{P}", prompts.PromptDetail.as_view()),
    path(f"v1/{P}/restore", prompts.PromptRestore.as_view()),
    path(f"v1/{P}/versions", prompts.VersionList.as_view()),
    path(f"v1/{P}/versions/<int:number>", prompts.VersionDetail.as_view()),
    path(f"v1/{P}/versions/<int:number>/comments", reviews.CommentList.as_view()),
    path(
        f"v1/{P}/versions/<int:number>/comments/<int:comment_id>", reviews.CommentDetail.as_view()
    ),
    path(
        f"v1/{P}/versions/<int:number>/comments/<int:comment_id>/resolve",
        reviews.CommentResolve.as_view(),
    ),
    path(f"v1/{P}/versions/<int:number>/review", reviews.VersionReview.as_view()),
    path(f"v1/{P}/versions/<int:number>/deprecate", reviews.VersionDeprecate.as_view()),
    path("v1/reviews", reviews.MyReviews.as_view()),
    path(f"v1/{P}/resolve", serving.resolve),
    path(f"v1/{P}/render", serving.render),
    path(f"v1/{P}/deployments", prompts.DeploymentList.as_view()),
    path(f"v1/{P}/deployments/rollback", prompts.Rollback.as_view()),
    path(f"v1/{P}/deployments/<int:deployment_id>/cancel", prompts.DeploymentCancel.as_view()),
    path(f"v1/{P}/compare", prompts.Compare.as_view()),
    path(f"v1/{P}/dependents", composition.Dependents.as_view()),
    path(f"v1/{P}/usage", prompts.UsageReport.as_view()),
    path(f"v1/{P}/grants", grants.GrantList.as_view()),
    path(f"v1/{P}/grants/<path:username>", grants.GrantDetail.as_view()),
    path(f"v1/{W}", webhooks.WebhookList.as_view()),
    path(f"v1/{W}/<int:webhook_id>", webhooks.WebhookDetail.as_view()),
    path(f"v1/{W}/<int:webhook_id>/rotate-secret", webhooks.RotateSecret.as_view()),
    path(f"v1/{W}/<int:webhook_id>/ping", webhooks.Ping.as_view()),
    path(f"v1/{W}/<int:webhook_id>/deliveries", webhooks.DeliveryList.as_view()),
    path(
        f"v1/{W}/<int:webhook_id>/deliveries/<int:delivery_id>/redeliver",
        webhooks.Redeliver.as_view(),
    ),
    path("", include("runs.api.urls")),
    path("", include("evaluations.api.urls")),
]
