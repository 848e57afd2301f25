"""Refuse input no handler could store, before any view sees it."""

from django.http import JsonResponse


def _bad(text: str) -> bool:
    if "\x00" in text:
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate
        return True
    return False


def holds_unstorable(request) -> bool:
    """Whether the path or the query string holds NUL or a lone surrogate."""
    parts = [request.path] + [v for values in request.GET.lists() for v in values[1]]
    parts += list(request.GET.keys())
    return any(_bad(p) for p in parts)


class RejectUnstorableInput:
    """NUL bytes (PostgreSQL refuses them) and lone surrogates in the path or query
    string are a 400 in the API's error body, not a database error later."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if holds_unstorable(request):
            body = {
                "error": {
                    "code": "invalid",
                    "message": "The request holds characters "
                    "that cannot be stored (NUL or lone surrogates).",
                    "details": {},
                }
            }
            return JsonResponse(body, status=400)
        return self.get_response(request)


# Deeper than any prompt config, variable or sample needs, and shallow enough that
# whatever walks a value afterwards (serializers, json.dumps with indent, templates)
# stays far from the interpreter's recursion limit.
MAX_JSON_DEPTH = 100


def json_too_deep(value, limit: int = MAX_JSON_DEPTH) -> bool:
    """True when lists and objects in a parsed JSON value nest more than ``limit`` deep."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


def json_is_storable(value) -> bool:
    """True when no string anywhere in a parsed JSON value holds NUL or a surrogate."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if _bad(item):
                return False
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return True
