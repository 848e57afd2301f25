"""The API's JSON parser: plain JSON only, and nothing that cannot be stored."""

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

from registry_site.middleware import json_is_storable


class StorableJSONParser(JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        data = super().parse(stream, media_type, parser_context)
        if not json_is_storable(data):
            raise ParseError(
                "The body holds characters that cannot be stored (NUL or lone surrogates)."
            )
        return data
