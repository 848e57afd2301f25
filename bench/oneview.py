"""The honest baseline: a one-view Django project, no middleware, no DRF, no apps.

``bench/resolve.py`` starts it with the same gunicorn settings as the registry and
measures it in the same run: it answers the path of ``resolve`` with the very bytes the
registry's resolve answered (read once from ``ONEVIEW_BODY``), with the same
``Content-Type`` and ``ETag``. Nothing any Django project serves can cost less, so the
ratio of resolve's rate to this one's says what the registry adds to Django itself.

    gunicorn --chdir bench oneview:application    # with ONEVIEW_BODY=answer.json

With ``ONEVIEW_CACHE`` (a JSON cache setting: the registry's backend, Redis or the
file cache) it also reads, on every request, what a warm resolve reads from the shared
cache (three entries in one ``get_many``, through the same backend class): the floor
that any answer never stale across processes pays.
"""

import json
import os
import sys
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
    CACHES={"default": json.loads(os.environ.get("ONEVIEW_CACHE") or "{}")}
    if os.environ.get("ONEVIEW_CACHE")
    else {},
)

BODY = Path(os.environ["ONEVIEW_BODY"]).read_bytes()
ETAG = os.environ.get("ONEVIEW_ETAG", '"baseline"')


READ = None
if os.environ.get("ONEVIEW_CACHE"):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the registry's backends
    from django.core.cache import cache

    _keys = [f"oneview:{name}" for name in ("token", "generation", "rights")]
    for _key in _keys:  # entries of the sizes resolve reads, present as resolve finds them
        cache.add(_key, {"value": "x" * 40, "id": 1}, None)

    def READ() -> None:  # noqa: N802 - a constant unless the reads are asked for
        cache.get_many(_keys)


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
