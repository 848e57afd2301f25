"""The page a locked-out sign-in gets (django-axes calls ``locked_out``)."""

from axes.helpers import get_client_username, get_cool_off
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def locked_out(
    request: HttpRequest, original_response: HttpResponse | None = None, credentials=None
) -> HttpResponse:
    cool_off = get_cool_off(request)
    context = {
        "username": get_client_username(request, credentials) or "",
        "minutes": max(1, round(cool_off.total_seconds() / 60)) if cool_off else None,
    }
    # 429, not 403: the refusal is about the rate of tries, and it ends by itself.
    return render(request, "registration/locked_out.html", context, status=429)
