"""The API's JSON parser: plain JSON only, and nothing that cannot be stored."""

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

from registry_site.middleware import MAX_JSON_DEPTH, json_is_storable, json_too_deep

_TOO_DEEP = f"The body is nested too deeply (more than {MAX_JSON_DEPTH} levels)."


class StorableJSONParser(JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError(_TOO_DEEP) from None
        if json_too_deep(data):
            raise ParseError(_TOO_DEEP)
        if not json_is_storable(data):
            raise ParseError(
                "The body holds characters that cannot be stored (NUL or lone surrogates)."
            )
        return data
