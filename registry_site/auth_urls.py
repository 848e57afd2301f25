"""Sign-in, sign-out and password pages; password reset only where mail can be sent.

Without mail, a reset could reach nobody, and each request for a known address would
fail while sending (a traceback in the log, and a timing that tells known addresses
from unknown ones). Checked per request, so the setting alone decides.
"""

from functools import wraps

from django.conf import settings
from django.contrib.auth import urls as auth_urls
from django.contrib.auth import views as auth_views
from django.http import Http404
from django.urls import URLPattern, path


def mail_configured() -> bool:
    return bool(settings.EMAIL_HOST)


def _when_mail_configured(pattern: URLPattern) -> URLPattern:
    view = pattern.callback

    @wraps(view)
    def guarded(request, *args, **kwargs):
        if not mail_configured():
            raise Http404("Password reset needs mail, which is not configured.")
        return view(request, *args, **kwargs)

    return URLPattern(pattern.pattern, guarded, pattern.default_args, pattern.name)


class LoginView(auth_views.LoginView):
    def get_context_data(self, **kwargs):
        return {**super().get_context_data(**kwargs), "password_reset": mail_configured()}


urlpatterns = [path("login/", LoginView.as_view(), name="login")]
for _pattern in auth_urls.urlpatterns:
    if _pattern.name == "login":
        continue
    if _pattern.name.startswith("password_reset"):
        _pattern = _when_mail_configured(_pattern)
    urlpatterns.append(_pattern)
