"""The honest baseline: a one-view Django project, no middleware, no DRF, no apps.

``bench/resolve.py`` starts it with the same gunicorn settings as the registry and
measures it in the same run: it answers the path of ``resolve`` with the very bytes the
registry's resolve answered (read once from ``ONEVIEW_BODY``), with the same
``Content-Type`` and ``ETag``. Nothing any Django project serves can cost less, so the
ratio of resolve's rate to this one's says what the registry adds to Django itself.

    gunicorn --chdir bench oneview:application    # with ONEVIEW_BODY=answer.json

With ``ONEVIEW_REDIS_URL`` it also makes, on every request, the one round trip a warm
resolve makes to the shared cache (an MGET of three keys, through the same redis-py
client and parser): the floor that any answer never stale across processes pays.
"""

import os
from pathlib import Path

from django.conf import settings
from django.core.wsgi import get_wsgi_application
from django.http import HttpRequest, HttpResponse
from django.urls import path

settings.configure(
    DEBUG=False,
    SECRET_KEY="one-view-baseline-" + "x" * 40,
    ALLOWED_HOSTS=["127.0.0.1"],
    ROOT_URLCONF=__name__,
    MIDDLEWARE=[],
    INSTALLED_APPS=[],
    DATABASES={},
    USE_TZ=True,
    LOGGING_CONFIG=None,
)

BODY = Path(os.environ["ONEVIEW_BODY"]).read_bytes()
ETAG = os.environ.get("ONEVIEW_ETAG", '"baseline"')


READ = None
if os.environ.get("ONEVIEW_REDIS_URL"):
    import redis

    _client = redis.Redis.from_url(os.environ["ONEVIEW_REDIS_URL"])
    _keys = [f"oneview:{name}" for name in ("token", "generation", "rights")]

    def READ() -> None:  # noqa: N802 - a constant unless the round trip is asked for
        _client.mget(_keys)


def resolve(request: HttpRequest, team: str, slug: str) -> HttpResponse:
    if READ is not None:
        READ()
    return HttpResponse(
        BODY,
        content_type="application/json",
        headers={"ETag": ETAG, "Cache-Control": "private, no-cache"},
    )


urlpatterns = [path("api/v1/prompts/<str:team>/<str:slug>/resolve", resolve)]

application = get_wsgi_application()
