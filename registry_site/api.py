"""What every API view shares: the error body, pagination and input guards."""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.http import Http404
from drf_spectacular.utils import OpenApiResponse, inline_serializer
from rest_framework import exceptions
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework.views import exception_handler as drf_exception_handler

from registry_site.errors import DomainError
from registry_site.throttling import WriteThrottle

log = logging.getLogger(__name__)

_CODES = {
    400: "invalid",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    429: "throttled",
}


def error(
    status_code: int,
    code: str,
    message: str,
    details: dict | None = None,
    headers: dict | None = None,
) -> Response:
    body = {"error": {"code": code, "message": message, "details": details or {}}}
    return Response(body, status=status_code, headers=headers)


def _message(detail: Any) -> str:
    if isinstance(detail, dict):
        field, value = next(iter(detail.items()), ("", ""))
        return f"{field}: {_message(value)}" if field else "Invalid input."
    if isinstance(detail, list):
        return _message(detail[0]) if detail else "Invalid input."
    return str(detail)


def exception_handler(exc: Exception, context: dict) -> Response | None:
    """Every error, whatever raised it, in the contract's body."""
    if isinstance(exc, DomainError):
        return error(exc.status, exc.code, exc.message, exc.details)
    if isinstance(exc, RequestDataTooBig):
        return error(413, "too_large", "The request body is too large.")
    if isinstance(exc, Http404):
        return error(404, "not_found", "Not found.")
    if isinstance(exc, PermissionDenied):
        return error(403, "forbidden", "You may not do this.", {"reason": "role"})
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    fallback = "server_error" if response.status_code >= 500 else "invalid"
    code = _CODES.get(response.status_code, fallback)
    detail = exc.detail if isinstance(exc, exceptions.APIException) else str(exc)
    details: dict = {}
    if isinstance(exc, exceptions.ValidationError):
        details = {"fields": detail} if isinstance(detail, dict) else {"errors": detail}
        message = _message(detail)
    else:
        message = _message(detail)
    if isinstance(exc, exceptions.Throttled) and exc.wait is not None:
        details["retry_after"] = int(exc.wait) + 1
    headers = {k: v for k, v in response.items()}
    return error(response.status_code, code, message, details, headers)


class Pages(PageNumberPagination):
    page_size = 50
    max_page_size = 200
    page_size_query_param = "page_size"

    def get_page_number(self, request, paginator):
        raw = request.query_params.get(self.page_query_param, 1)
        try:
            number = int(raw)
        except (TypeError, ValueError):
            raise exceptions.ValidationError(
                {"page": ["A page number is a positive integer."]}
            ) from None
        if number < 1 or number > 1_000_000:
            raise exceptions.ValidationError({"page": ["A page number is a positive integer."]})
        return number


ERRORS = {
    code: OpenApiResponse(description=text)
    for code, text in [
        (400, "invalid input"),
        (401, "no or bad credentials"),
        (403, "not allowed"),
        (404, "not found or not visible"),
        (409, "conflict"),
        (429, "throttled"),
    ]
}


def checked(serializer_class: type, data: Any) -> dict:
    """The serializer's validated data, or a 400 in the error body."""
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


class RegistryView(APIView):
    throttle_classes = [WriteThrottle]


def paginated(item: type) -> Any:
    """The schema of a page of ``item``s: {count, next, previous, results}."""
    from rest_framework import serializers

    return inline_serializer(
        name=f"Paginated{item.__name__.removesuffix('Out')}List",
        fields={
            "count": serializers.IntegerField(),
            "next": serializers.URLField(allow_null=True),
            "previous": serializers.URLField(allow_null=True),
            "results": item(many=True),
        },
    )
