"""Error pages: the API's JSON body under /api/, friendly pages elsewhere."""

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import defaults


def _api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def _json(status: int, code: str, message: str) -> JsonResponse:
    return JsonResponse({"error": {"code": code, "message": message, "details": {}}}, status=status)


def not_found(request: HttpRequest, exception=None) -> HttpResponse:
    if _api(request):
        return _json(404, "not_found", "Not found.")
    return defaults.page_not_found(request, exception)


def forbidden(request: HttpRequest, exception=None) -> HttpResponse:
    if _api(request):
        return _json(403, "forbidden", "You may not do this.")
    return defaults.permission_denied(request, exception)


def bad_request(request: HttpRequest, exception=None) -> HttpResponse:
    if _api(request):
        return _json(400, "invalid", "Bad request.")
    return defaults.bad_request(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    if _api(request):
        return _json(500, "server_error", "Something went wrong on our side.")
    return defaults.server_error(request)
